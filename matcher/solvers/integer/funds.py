"""Rule ``funds`` with CP-SAT: demands funded in full or not at all, possibly by several
funders, each within what it holds. Amounts are planned in fen (0.01 yuan)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd
from ortools.sat.python import cp_model

from matcher.errors import Finding
from matcher.i18n import N_, Text
from matcher.inputs.dataset import Dataset
from matcher.model.arcs import Problem
from matcher.model.rules import funder_pairs
from matcher.params import PlanParams
from matcher.plans.tables import FUNDING_COLUMNS  # the plan's output columns
from matcher.progress import Reporter
from matcher.solvers.integer.cpsat import STATUS, cpsat_solver, scaled, solve_reporting
from matcher.solvers.outcomes import Part

__all__ = ["solve_funds"]

_I = npt.NDArray[np.int64]


def solve_funds(
    dataset: Dataset,
    problem: Problem,
    params: PlanParams,
    deadline: float | None = None,
    report: Reporter | None = None,
) -> tuple[Part, npt.NDArray[np.bool_], pd.DataFrame, list[Finding]]:
    """Rule ``funds``: fund demands in full or not at all, possibly by several funders.

    A funded demand adds ``priority * funds / yuan_per_hour_equivalent`` (times
    ``priority_weight``) to the objective. Amounts are planned in fen (0.01 yuan).

    Returns the outcome, ``funded`` per demand, the funding table, and findings for
    demands that no set of tied funders could ever fund. ``report`` is told of CP-SAT's
    improvements (:mod:`matcher.progress`).
    """
    start = time.perf_counter()
    demands = dataset.demands
    need = np.rint(demands["funds"].fillna(0).to_numpy(float) * 100).astype(np.int64)
    have = np.rint(dataset.resources["amount"].to_numpy(float) * 100).astype(np.int64)
    pairs = funder_pairs(dataset)
    funded = np.zeros(len(demands), dtype=bool)
    asking = np.flatnonzero(need > 0)
    value = (
        params.priority_weight
        * problem.demand_priority
        * demands["funds"].fillna(0).to_numpy(float)
        / params.yuan_per_hour_equivalent
    )
    findings = _unfundable(dataset, pairs, asking, need, have)
    fm = _funds_model(pairs, asking, need, have)
    coef, err = scaled(value[asking], params.cost_scale)
    fm.model.maximize(sum(int(c) * fm.y[int(d)] for c, d in zip(coef, asking, strict=True)))
    solver = cpsat_solver(params, deadline)

    def units(objective: float, bound: float) -> tuple[float, float]:
        return objective / params.cost_scale, bound / params.cost_scale + err * len(asking)

    status = solve_reporting(solver, fm.model, report, "funds", units)
    rows: list[tuple[int, int, float]] = []
    if status in STATUS:
        for d in asking:
            funded[d] = bool(solver.value(fm.y[int(d)]))
        for (r, dd), v in fm.f.items():
            amount = solver.value(v)
            if amount > 0:
                rows.append((r, dd, amount / 100))
        bound_scaled, state = solver.best_objective_bound, STATUS[status]
    else:
        bound_scaled, state = solver.best_objective_bound, "feasible"  # nothing funded
    objective = float(value[funded].sum())
    bound = max(bound_scaled / params.cost_scale + err * len(asking), objective)
    part = Part(state, objective, bound, time.perf_counter() - start)
    return part, funded, _funding_table(dataset, rows), findings


def _unfundable(
    dataset: Dataset, pairs: pd.DataFrame, asking: _I, need: _I, have: _I
) -> list[Finding]:
    """A finding per demand whose tied funders together hold less than it asks for."""
    demand_ids = dataset.demands["demand_id"].astype(str).to_numpy()
    res = dataset.resources
    reach = pairs.groupby("demand")["resource"].apply(list).to_dict()
    findings: list[Finding] = []
    for d in asking:
        funders = reach.get(int(d), [])
        if have[funders].sum() < need[d]:
            findings.append(
                Finding(
                    "funds",
                    Text(
                        N_(
                            "demand {demand} asks for {asked} yuan but its tied funders hold "
                            "{held} together; it cannot be funded"
                        ),
                        demand=str(demand_ids[d]),
                        asked=f"{need[d] / 100:,.2f}",
                        held=f"{have[funders].sum() / 100:,.2f}",
                    ),
                    demands=(str(demand_ids[d]),),
                    units=tuple(sorted({str(res.at[r, "unit_id"]) for r in funders})),
                )
            )
    return findings


@dataclass
class _FundsModel:
    """The funds model: ``y`` (funded or not) per asking demand, ``f`` (fen) per pair."""

    model: cp_model.CpModel
    y: dict[int, cp_model.IntVar]
    f: dict[tuple[int, int], cp_model.IntVar]


def _funds_model(pairs: pd.DataFrame, asking: _I, need: _I, have: _I) -> _FundsModel:
    """A demand gets all it asks for from its funders or nothing; a funder gives at most
    what it holds."""
    model = cp_model.CpModel()
    y = {int(d): model.new_bool_var(f"funded_{d}") for d in asking}
    f: dict[tuple[int, int], cp_model.IntVar] = {}
    for r, d in zip(pairs["resource"], pairs["demand"], strict=True):
        f[(int(r), int(d))] = model.new_int_var(0, int(min(have[r], need[d])), f"f_{r}_{d}")
    for d in asking:
        parts = [v for (r, dd), v in f.items() if dd == d]
        model.add(sum(parts) == int(need[d]) * y[int(d)])
    for r in np.unique(pairs["resource"].to_numpy()):
        model.add(sum(v for (rr, _), v in f.items() if rr == r) <= int(have[r]))
    return _FundsModel(model, y, f)


def _funding_table(dataset: Dataset, rows: list[tuple[int, int, float]]) -> pd.DataFrame:
    """The plan's funding table from (resource, demand, yuan) rows."""
    demands, res = dataset.demands, dataset.resources
    table = pd.DataFrame(
        {
            "resource_id": [res.at[r, "resource_id"] for r, _, _ in rows],
            "unit_id": [res.at[r, "unit_id"] for r, _, _ in rows],
            "demand_id": [demands.at[d, "demand_id"] for _, d, _ in rows],
            "community_id": [demands.at[d, "community_id"] for _, d, _ in rows],
            "amount": [a for _, _, a in rows],
        },
        columns=list(FUNDING_COLUMNS),
    )
    return table.sort_values(["demand_id", "resource_id"], kind="stable").reset_index(drop=True)
