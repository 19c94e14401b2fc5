"""Rule ``lead_units``: exactly one lead unit per listed demand, within each unit's
``lead_capacity``, at least total cost (a generalized assignment problem).

HiGHS with a Lagrangian bound and local searches (:mod:`~matcher.solvers.integer.gap`) by
default, exact efforts and costs; CP-SAT otherwise, which also names the demands and units at fault
when no assignment exists.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from ortools.sat.python import cp_model

from matcher.errors import Finding, InfeasibleError, SolverError
from matcher.i18n import N_, Text
from matcher.inputs.dataset import Dataset
from matcher.params import PlanParams
from matcher.plans.tables import LEAD_COLUMNS  # the plan's output columns
from matcher.progress import Reporter
from matcher.solvers.integer.cpsat import (
    STATUS,
    cpsat_solver,
    infeasible_core,
    scaled,
    solve_reporting,
)
from matcher.solvers.integer.gap import Gap, solve_gap
from matcher.solvers.outcomes import Part

__all__ = ["lead_gap", "solve_leads", "solve_leads_highs"]


def _integer_scale(values: npt.NDArray[np.float64]) -> int:
    """The smallest of 1, 10, 100, 1000 that makes every value whole (else 1000)."""
    for k in (1, 10, 100, 1000):
        if np.allclose(values * k, np.rint(values * k), rtol=0, atol=1e-9):
            return k
    return 1000


def lead_gap(dataset: Dataset) -> Gap:
    """``lead_options.csv`` as a generalized assignment instance (one row per option)."""
    opts = dataset.table("lead_options")
    units = dataset.units
    unit_code = {str(u): i for i, u in enumerate(units["unit_id"].astype(str))}
    demand_code = {d: i for i, d in enumerate(dict.fromkeys(opts["demand_id"].astype(str)))}
    capacity = units["lead_capacity"].to_numpy(float)
    return Gap(
        agent=np.array([unit_code[u] for u in opts["unit_id"].astype(str)], dtype=np.int64),
        job=np.array([demand_code[d] for d in opts["demand_id"].astype(str)], dtype=np.int64),
        weight=opts["effort"].to_numpy(float),
        cost=opts["cost"].to_numpy(float),
        capacity=np.where(np.isnan(capacity), np.inf, capacity),
        n_jobs=len(demand_code),
    )


def solve_leads_highs(
    dataset: Dataset,
    params: PlanParams,
    deadline: float | None = None,
    report: Reporter | None = None,
) -> tuple[Part, pd.DataFrame] | None:
    """Rule ``lead_units`` with HiGHS, a Lagrangian bound and local searches, exact
    efforts and costs.

    See :func:`matcher.solvers.integer.gap.solve_gap`: HiGHS proves small instances optimal at
    once; on tight ones a large-neighbourhood search improves its incumbent while HiGHS
    raises the bound. Returns ``None`` when no assignment is found, so that
    :func:`solve_leads` can name the demands and units at fault. ``report`` is told of
    the search's improvements (:mod:`matcher.progress`).
    """
    start = time.perf_counter()
    opts = dataset.table("lead_options")
    gap = lead_gap(dataset)
    end = start + params.time_limit_s if deadline is None else deadline
    found = solve_gap(
        gap,
        end,
        seed=params.seed,
        gap_limit=params.gap_limit,
        workers=params.workers,
        report=report,
    )
    if found is None:
        return None
    chosen = np.sort(found.assign)
    table = opts.loc[chosen, list(LEAD_COLUMNS)].reset_index(drop=True)
    part = Part(
        "optimal" if found.optimal else "feasible",
        found.cost,
        found.bound,
        time.perf_counter() - start,
        engine=_engine(found.stats),
    )
    return part, table


_ENGINES = (
    ("lagrangian", "lagrangian bound"),
    ("tabu", "tabu search"),
    ("local_branching", "local branching"),
    ("search", "subset search"),
)
"""What :func:`~matcher.solvers.integer.gap.solve_gap` ran (a key of its ``stats``), as
the plan names it."""


def _engine(stats: dict[str, Any]) -> str:
    """The engines the lead units' search ran, HiGHS first (it always runs)."""
    return " + ".join(["highs", *(name for key, name in _ENGINES if key in stats)])


def solve_leads(
    dataset: Dataset,
    params: PlanParams,
    deadline: float | None = None,
    report: Reporter | None = None,
) -> tuple[Part, pd.DataFrame]:
    """Rule ``lead_units``: exactly one lead unit per listed demand, at least total cost.

    Each unit's summed ``effort`` stays within its ``lead_capacity`` (no limit where the
    capacity is empty). This is the generalized assignment problem; the outcome is a
    minimisation (``bound`` is a lower bound on the cost). ``report`` is told of
    CP-SAT's improvements (:mod:`matcher.progress`).

    Raises
    ------
    InfeasibleError
        Naming demands no unit can take, or units whose capacities are too small for
        the demands that can only go to them.
    """
    start = time.perf_counter()
    lo = _lead_options(dataset)
    cost = lo.opts["cost"].to_numpy(float)
    cost_coef, err = scaled(cost, 1.0)
    cost_scale = 1.0
    if err > 1e-9:
        cost_coef, err = scaled(cost, 1e4)
        cost_scale = 1e4
    _check_fits(lo)
    model, x, _ = _lead_model(lo, hard=True)
    model.minimize(sum(int(c) * v for c, v in zip(cost_coef, x, strict=True)))
    solver = cpsat_solver(params, deadline)

    def units(objective: float, bound: float) -> tuple[float, float]:
        return objective / cost_scale, bound / cost_scale - err * len(lo.demand_ids)

    status = solve_reporting(solver, model, report, "leads", units)
    if status == cp_model.INFEASIBLE:
        diag, _, lits = _lead_model(lo, hard=False)
        named = infeasible_core(diag, lits, params.time_limit_s)
        raise InfeasibleError(_lead_conflict(lo.opts, named))
    if status not in STATUS:
        raise SolverError(
            Text(
                N_("no lead assignment was found within {seconds} s (raise time_limit_s)"),
                seconds=f"{params.time_limit_s:g}",
            )
        )
    chosen = [r for r in range(len(lo.opts)) if solver.value(x[r])]
    table = lo.opts.loc[chosen, list(LEAD_COLUMNS)].reset_index(drop=True)
    total = float(cost[chosen].sum())
    bound = min(solver.best_objective_bound / cost_scale - err * len(lo.demand_ids), total)
    part = Part(STATUS[status], total, bound, time.perf_counter() - start)
    return part, table


@dataclass(frozen=True)
class _LeadOptions:
    """``lead_options.csv`` with its efforts and the units' capacities made whole numbers."""

    opts: pd.DataFrame
    cap_of: pd.Series
    """Each unit's ``lead_capacity`` (empty for none), by ``unit_id``."""
    k: int
    """What efforts and capacities are multiplied by to make them whole."""
    eff: npt.NDArray[np.int64]
    """Each option's effort times ``k``, rounded up."""
    demand_ids: list[Any]
    """The demands listed, in file order."""

    def room(self, capacity: float) -> int:
        """A capacity times ``k``, rounded down."""
        return math.floor(float(capacity) * self.k + 1e-9)


def _lead_options(dataset: Dataset) -> _LeadOptions:
    """The lead options, with whole-number efforts and capacities."""
    opts = dataset.table("lead_options")
    cap_of = dataset.units.set_index("unit_id")["lead_capacity"]
    effort = opts["effort"].to_numpy(float)
    k = _integer_scale(np.concatenate((effort, cap_of.dropna().to_numpy(float))))
    eff = np.ceil(effort * k - 1e-9).astype(np.int64)
    return _LeadOptions(opts, cap_of, k, eff, list(dict.fromkeys(opts["demand_id"])))


def _check_fits(lo: _LeadOptions) -> None:
    """Raise :class:`InfeasibleError` naming each demand too big for every unit it may
    go to."""
    opt_unit = lo.opts["unit_id"].astype(str).to_numpy()
    caps_of_unit = {str(u): c for u, c in lo.cap_of.items()}
    findings: list[Finding] = []
    for did in lo.demand_ids:
        rows = np.flatnonzero((lo.opts["demand_id"] == did).to_numpy())
        fits = [
            r
            for r in rows
            if pd.isna(caps_of_unit[opt_unit[r]]) or lo.eff[r] <= lo.room(caps_of_unit[opt_unit[r]])
        ]
        if not fits:
            findings.append(
                Finding(
                    "lead_units",
                    Text(
                        N_("demand {demand} needs more effort than any of its units can lead"),
                        demand=str(did),
                    ),
                    demands=(str(did),),
                    units=tuple(str(opt_unit[r]) for r in rows),
                )
            )
    if findings:
        raise InfeasibleError(findings)


def _lead_model(
    lo: _LeadOptions, hard: bool
) -> tuple[cp_model.CpModel, list[cp_model.IntVar], dict[str, Any]]:
    """One option per demand, each unit within its capacity: the capacities hard, or left
    to assumptions (their literals returned by unit)."""
    model = cp_model.CpModel()
    opts = lo.opts
    x = [model.new_bool_var(f"lead_{r}") for r in range(len(opts))]
    by_demand = opts.groupby("demand_id", sort=False).indices
    for did in lo.demand_ids:
        model.add_exactly_one(x[r] for r in by_demand[did])
    lits: dict[str, Any] = {}
    for uid, rows in opts.groupby("unit_id").indices.items():
        c = lo.cap_of.get(uid)
        if c is None or pd.isna(c):
            continue
        b = model.new_bool_var(f"cap_{uid}")
        load = sum(int(lo.eff[r]) * x[r] for r in rows)
        model.add(load <= lo.room(c)).only_enforce_if(b)
        lits[str(uid)] = b
    if hard:
        for b in lits.values():
            model.add(b == 1)
    else:
        model.add_assumptions(list(lits.values()))
    return model, x, lits


def _lead_conflict(opts: pd.DataFrame, names: list[str]) -> list[Finding]:
    """Name units whose capacities cannot take the demands that must go to them."""
    # Demands whose every option lies with these units: they are what overloads them.
    only = opts.groupby("demand_id")["unit_id"].apply(lambda s: bool(s.isin(names).all()))
    demands = tuple(str(d) for d in only.index[only.to_numpy()])
    return [
        Finding(
            "lead_units",
            Text(
                N_(
                    "these units' lead capacities are too small for the demands that can "
                    "only be led by them"
                )
            ),
            demands=demands,
            units=tuple(sorted(names)),
        )
    ]
