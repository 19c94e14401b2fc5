"""The planner's entry point: ``plan(dataset, params) -> Plan``, and the plan's tables.

A ``Plan`` carries the spec's tables (``assignments``, ``demand_status``) as pandas
frames, the KPIs, the solver's status, bound and gap, and can write itself to a folder.
"""

from __future__ import annotations

import json
import math
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matcher.errors import ParameterError
from matcher.i18n import N_, SOURCE_LANG, Text, translator
from matcher.inputs.dataset import Dataset, load_dataset
from matcher.inputs.io import write_frame_csv
from matcher.model.eligibility import SUPPLIER_KINDS, TIES, Problem, build_problem, index_dataset
from matcher.model.rules import ActiveRules, active_rules
from matcher.params import AUTO_COLUMNS_SUPPLIERS, PlanParams
from matcher.plans.reasons import REASON_TEXTS, decide_reasons
from matcher.solvers.flow import FlowResult
from matcher.solvers.outcomes import ColumnResult, Duals, IntegerResult, NotApplicable, part_kpis
from matcher.solvers.parts import solve_flow_parts

__all__ = [
    "ASSIGNMENT_COLUMNS",
    "DEMAND_STATUS_COLUMNS",
    "FUNDING_COLUMNS",
    "LEAD_COLUMNS",
    "REASONS",
    "TIMING_KEYS",
    "Plan",
    "build_plan",
    "compute_kpis",
    "coverage_by",
    "demand_reasons",
    "format_summary",
    "plan",
    "ratio",
]

ASSIGNMENT_COLUMNS = (
    "supplier_kind",
    "supplier_id",
    "unit_id",
    "demand_id",
    "community_id",
    "category",
    "hours",
    "km",
    "tie",
)
DEMAND_STATUS_COLUMNS = (
    "demand_id",
    "community_id",
    "district",
    "category",
    "priority",
    "hours",
    "covered_hours",
    "funds",
    "funded",
    "status",
    "reason",
)
REASONS = tuple(REASON_TEXTS)
"""Reason codes for a demand not fully met, in the order the spec checks them (the keys of
:data:`matcher.plans.reasons.REASON_TEXTS`, which say what each means)."""

FUNDING_COLUMNS = ("resource_id", "unit_id", "demand_id", "community_id", "amount")
LEAD_COLUMNS = ("demand_id", "unit_id", "effort", "cost")

TIMING_KEYS = ("solve_seconds", "seconds")
"""KPI keys that measure time and so differ between otherwise identical runs."""

_DIGITS = 6


@dataclass(frozen=True)
class Plan:
    """An optimal plan and everything needed to read, check and present it.

    Attributes
    ----------
    assignments
        Who gives how many hours to which demand, through which tie (spec columns).
    demand_status
        Every demand with its covered hours, status (met, partial, unmet) and reason.
    kpis
        The spec's KPIs plus utilization and zero-coverage communities (JSON-ready).
    params
        The parameters the plan was made with.
    solver
        The solver's result: status, objective, bound, gap, wall seconds.
    timings
        Wall seconds of each stage (``build``, ``solve``, ``tables``).
    dataset_source, dataset_hash
        Where the dataset came from and its content hash.
    funding
        Which funder gives how many yuan to which demand (empty without the funds rule).
    leads
        The lead unit of each demand in ``lead_options.csv`` (empty without it).
    """

    assignments: pd.DataFrame
    demand_status: pd.DataFrame
    kpis: dict[str, Any]
    params: PlanParams
    solver: FlowResult = field(repr=False)
    timings: dict[str, float] = field(default_factory=dict)
    dataset_source: str = ""
    dataset_hash: str = ""
    funding: pd.DataFrame = field(default_factory=lambda: _empty(FUNDING_COLUMNS))
    leads: pd.DataFrame = field(default_factory=lambda: _empty(LEAD_COLUMNS))

    @property
    def objective(self) -> float:
        """The plan's objective value."""
        return self.solver.objective

    @property
    def duals(self) -> Duals | None:
        """The LP duals of the plan's suppliers and demands (what an hour more of each
        adds at the margin), when the column solver made it (``None`` otherwise):
        ``plan(..., warm_start=this)`` starts from them."""
        return self.solver.duals if isinstance(self.solver, ColumnResult) else None

    @property
    def status(self) -> str:
        """The solver's status (``"optimal"`` when proven)."""
        return self.solver.status

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write the plan's tables, ``kpis.json`` and ``run.json`` into a folder.

        Tables: ``assignments.csv``, ``demand_status.csv``, ``funding.csv`` and
        ``leads.csv`` (the last two with only a header when their rule is off).
        ``run.json`` records the parameters, the dataset's hash and stage timings, so a
        plan folder says how it was made.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        tables = {
            "assignments.csv": self.assignments,
            "demand_status.csv": self.demand_status,
            "funding.csv": self.funding,
            "leads.csv": self.leads,
        }
        paths = []
        for name, frame in tables.items():
            write_frame_csv(frame, out / name)
            paths.append(out / name)
        paths.append(out / "kpis.json")
        paths[-1].write_text(_json(self.kpis), encoding="utf-8")
        run = {
            "dataset": self.dataset_source,
            "dataset_hash": self.dataset_hash,
            "params": self.params.to_dict(),
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
        }
        run_path = out / "run.json"
        run_path.write_text(_json(run), encoding="utf-8")
        return [*paths, run_path]

    def summary(self, lang: str = SOURCE_LANG) -> str:
        """A few lines for people, in ``lang``: status, coverage, objective, reasons,
        districts."""
        return format_summary(self, lang)


def _empty(columns: tuple[str, ...]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})


def _json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def _r(x: float) -> float:
    return round(float(x), _DIGITS)


def ratio(num: float, den: float) -> float | None:
    """``num / den`` rounded as ``kpis.json`` rounds ratios; ``None`` when ``den`` is 0."""
    return _r(num / den) if den > 0 else None


def demand_reasons(
    problem: Problem,
    flow: np.ndarray,
    min_hours: np.ndarray | None = None,
    asks_funds: np.ndarray | None = None,
    funded: np.ndarray | None = None,
) -> np.ndarray:
    """Why each demand is not fully met, per the spec's rules, checked in order.

    ``no_eligible_supplier``: no supplier with the skill has a tie to the community.
    ``too_far``: a tied supplier still has hours, but an hour from it scores <= 0.
    ``capacity_taken``: every tied supplier's hours are used, some on other demands
    (which, the plan being optimal, score at least as high).
    ``supply_short``: every tied supplier's hours went to this demand, and fell short.
    ``below_min_hours``: it could not reach its ``min_hours``.
    ``not_funded``: its hours are met but its funds were not granted.

    Under integer rules a demand can fall short with none of the first four true: with
    a minimum it is ``below_min_hours``; otherwise the rule that held suppliers back
    (a cadre's community limit, another community's floor) took them: ``capacity_taken``.

    Parameters
    ----------
    problem
        The indexed problem.
    flow
        Hours on each of ``problem.arcs``.
    min_hours
        Per demand, its minimum when the rule applies (else ``None``).
    asks_funds, funded
        Per demand, whether it asks for funds and whether they were granted, when the
        funds rule applies (else ``None``).

    Returns
    -------
    ndarray of str
        One reason per demand; ``""`` for a met demand.
    """
    arcs = problem.arcs
    n_d = len(problem.demand_ids)
    covered = np.bincount(arcs.demand, weights=flow, minlength=n_d).astype(np.int64)
    used = np.bincount(arcs.supplier, weights=flow, minlength=len(problem.suppliers))
    left = problem.suppliers.hours - used.astype(np.int64)
    has_arc = np.bincount(arcs.demand, minlength=n_d) > 0
    far = (arcs.weight <= 0) & (left[arcs.supplier] > 0)
    too_far = np.bincount(arcs.demand[far], minlength=n_d) > 0
    elsewhere = used[arcs.supplier] - flow > 0
    taken = np.bincount(arcs.demand[elsewhere], minlength=n_d) > 0
    spare = np.bincount(arcs.demand[left[arcs.supplier] > 0], minlength=n_d) > 0
    return decide_reasons(
        covered < problem.demand_hours,
        has_arc,
        too_far,
        taken,
        spare,
        min_hours,
        asks_funds,
        funded,
    )


def _assignments(problem: Problem, dataset: Dataset, flow: np.ndarray) -> pd.DataFrame:
    arcs = problem.arcs
    on = np.flatnonzero(flow > 0)
    sup = arcs.supplier[on]
    dem = arcs.demand[on]
    s = problem.suppliers
    # Demands in file order; for each, cadres before services, each in file order.
    order = np.lexsort((s.row[sup], s.kind[sup], dem))
    on, sup, dem = on[order], sup[order], dem[order]
    return pd.DataFrame(
        {
            "supplier_kind": np.asarray(SUPPLIER_KINDS, dtype=object)[s.kind[sup]],
            "supplier_id": s.ids[sup],
            "unit_id": problem.unit_ids[s.unit[sup]],
            "demand_id": problem.demand_ids[dem],
            "community_id": problem.community_ids[problem.demand_community[dem]],
            "category": np.asarray(problem.categories, dtype=object)[problem.demand_category[dem]],
            "hours": flow[on].astype(np.int64),
            "km": np.round(arcs.km[on], 4),
            "tie": np.asarray(TIES, dtype=object)[arcs.tie[on]],
        },
        columns=list(ASSIGNMENT_COLUMNS),
    )


def _demand_status(
    problem: Problem,
    dataset: Dataset,
    flow: np.ndarray,
    rules: ActiveRules,
    funded: np.ndarray | None,
    reasons: np.ndarray | None = None,
) -> pd.DataFrame:
    demands = dataset.demands
    n_d = len(demands)
    covered = np.bincount(problem.arcs.demand, weights=flow, minlength=n_d).astype(np.int64)
    hours = problem.demand_hours
    funds = demands["funds"].to_numpy(float)
    asks = np.nan_to_num(funds) > 0 if rules.funds else np.zeros(n_d, dtype=bool)
    granted = funded if funded is not None else np.zeros(n_d, dtype=bool)
    full = (covered >= hours) & (~asks | granted)
    nothing = (covered == 0) & (~asks | ~granted) & ((hours > 0) | asks)
    status = np.where(full, "met", np.where(nothing, "unmet", "partial"))
    # "funded" is only claimed where the funds rule decided it.
    funded_text = np.where(asks, np.where(granted, "true", "false"), "").astype(object)
    return pd.DataFrame(
        {
            "demand_id": demands["demand_id"].to_numpy(object),
            "community_id": demands["community_id"].to_numpy(object),
            "district": problem.community_district[problem.demand_community],
            "category": demands["category"].to_numpy(object),
            "priority": problem.demand_priority,
            "hours": hours,
            "covered_hours": covered,
            "funds": funds,
            "funded": funded_text,
            "status": status.astype(object),
            "reason": reasons
            if reasons is not None
            else demand_reasons(
                problem,
                flow,
                rules.min_hours if (rules.min_hours > 0).any() else None,
                asks if rules.funds else None,
                granted if rules.funds else None,
            ),
        },
        columns=list(DEMAND_STATUS_COLUMNS),
    )


def coverage_by(status: pd.DataFrame, key: str) -> dict[str, dict[str, Any]]:
    """Hours demanded and covered and their ratio per value of ``key`` of a
    ``demand_status`` table (``kpis.json``'s ``coverage_by_district``/``_category``)."""
    grouped = status.groupby(key, sort=True)[["hours", "covered_hours"]].sum()
    return {
        str(name): {
            "hours_demanded": int(row.hours),
            "hours_covered": int(row.covered_hours),
            "coverage": ratio(row.covered_hours, row.hours),
        }
        for name, row in grouped.iterrows()
    }


def compute_kpis(
    problem: Problem, status: pd.DataFrame, flow: np.ndarray, result: FlowResult
) -> dict[str, Any]:
    """The plan's KPIs: every key the spec names, plus utilization and zero coverage."""
    arcs = problem.arcs
    hours_demanded = int(problem.demand_hours.sum())
    hours_covered = int(flow.sum())
    s = problem.suppliers
    used = np.bincount(arcs.supplier, weights=flow, minlength=len(s)).astype(np.int64)
    utilization: dict[str, Any] = {
        "hours_available": int(s.hours.sum()),
        "hours_used": int(used.sum()),
        "utilization": ratio(used.sum(), s.hours.sum()),
        "suppliers": len(s),
        "suppliers_used": int((used > 0).sum()),
    }
    for code, kind in enumerate(SUPPLIER_KINDS):
        mask = s.kind == code
        utilization[f"{kind}_hours_available"] = int(s.hours[mask].sum())
        utilization[f"{kind}_hours_used"] = int(used[mask].sum())
        utilization[f"{kind}_utilization"] = ratio(used[mask].sum(), s.hours[mask].sum())
    per_comm = status.groupby("community_id", sort=False)[["hours", "covered_hours"]].sum()
    zero = per_comm[(per_comm["hours"] > 0) & (per_comm["covered_hours"] == 0)]
    counts = status["status"].value_counts()
    reasons = status.loc[status["reason"] != "", "reason"].value_counts()
    return {
        "objective": _r(result.objective),
        "weighted_hours": _r(np.dot(flow, problem.demand_priority[arcs.demand])),
        # From the km written in assignments.csv (4 decimals), so the tables add up.
        "travel_hour_km": _r(np.dot(flow, np.round(arcs.km, 4))),
        "hours_demanded": hours_demanded,
        "hours_covered": hours_covered,
        "coverage": ratio(hours_covered, hours_demanded),
        "demands": len(status),
        "demands_met": int(counts.get("met", 0)),
        "demands_partial": int(counts.get("partial", 0)),
        "demands_unmet": int(counts.get("unmet", 0)),
        "reasons": {r: int(reasons.get(r, 0)) for r in REASONS if reasons.get(r, 0)},
        "coverage_by_district": coverage_by(status, "district"),
        "coverage_by_category": coverage_by(status, "category"),
        "supplier_utilization": utilization,
        "communities_zero_coverage": sorted(str(c) for c in zero.index),
        "communities_zero_coverage_count": len(zero),
        "solver": result.solver,
        "solver_status": result.status,
        "proven_optimal": result.proven_optimal,
        "bound": _r(result.bound),
        "gap": float(f"{result.gap:.3g}") if math.isfinite(result.gap) else None,
        "candidate_arcs": len(arcs),
        "solve_seconds": round(result.wall_seconds, 4),
    }


def plan(
    dataset: Dataset | str | Path,
    params: PlanParams | None = None,
    *,
    engine: str = "local",
    ray_address: str | None = None,
    jobs: int = 2,
    warm_start: Plan | Duals | None = None,
) -> Plan:
    """Make the optimal plan for a dataset, under the integer rules it asks for.

    Without integer rules this is the exact min-cost flow; with any (``min_hours`` or
    ``funds`` in the data, ``lead_options.csv``, ``max_communities_per_cadre`` or
    ``coverage_floor`` in the parameters) it is OR-Tools CP-SAT, with its bound and gap.

    Parameters
    ----------
    dataset
        A validated :class:`~matcher.inputs.dataset.Dataset`, or a folder to load one from.
    params
        Run parameters; the spec's defaults if ``None``.
    engine
        Where the labour flow's independent parts (several cities in one dataset, say;
        see :func:`matcher.solvers.parts.solve_flow_parts`) are solved: ``"local"`` (in
        this process) or ``"ray"`` (as Ray tasks). Each part is solved exactly and
        alone, so both engines give the same plan, and a city planned alone gets the
        same assignments as within a larger dataset. Integer rules couple the parts:
        with any, the plan is made in this process whatever the engine; so is
        ``flow_solver="columns"`` with the ``"local"`` engine.
    ray_address
        With ``engine="ray"``: a running Ray cluster (default ``RAY_ADDRESS``, else a
        local Ray of ``jobs`` CPUs, or the Ray already initialised in this process).
    jobs
        With ``engine="ray"``: CPUs of a local Ray instance.
    warm_start
        A plan of a similar dataset (a scenario's base, say), or its :attr:`Plan.duals`:
        the column solver then starts from its LP duals (see
        :mod:`matcher.solvers.columns`, "Warm start"), which at city scale takes well
        under half the time for a scenario that changes a district or a tenth of the
        cadres. The plan is optimal either way and the same for the same start; where
        the optimum is not unique it may be another optimal one. Other solvers ignore it.

    Returns
    -------
    Plan
        The plan's tables, KPIs and the solver's proof (bound and gap).

    Raises
    ------
    DatasetError
        If ``dataset`` is a folder whose tables do not validate.
    ParameterError
        If ``engine`` is neither ``"local"`` nor ``"ray"``.
    InfeasibleError
        If the integer rules contradict each other or the data; it names the demands,
        communities or units at fault.

    Examples
    --------
    >>> p = plan("tests/data/example/dataset")
    >>> p.status, p.kpis["objective"], p.kpis["hours_covered"]
    ('optimal', 139.696068, 40)
    """
    if engine not in ("local", "ray"):
        raise ParameterError("engine", engine, Text(N_("local or ray")))
    if not isinstance(dataset, Dataset):
        dataset = load_dataset(dataset)
    params = params or PlanParams()
    t0 = time.perf_counter()
    rules = active_rules(dataset, params)
    if not rules.any and engine == "local" and _use_columns(dataset, params):
        # Imported here (before the clock of the solve starts): the column generation
        # loads numba, which `import matcher` and plans by the plain model do without.
        from matcher.solvers.columns import compact_problem, solve_columns

        ix = index_dataset(dataset, params)
        t1 = time.perf_counter()
        try:
            start = warm_start.duals if isinstance(warm_start, Plan) else warm_start
            columns = solve_columns(ix, warm_start=start)
        except NotApplicable:
            pass  # a case the grid does not cover: the plain model below decides it
        else:
            timings = {
                "build": t1 - t0,
                "solve": time.perf_counter() - t1,
                "solve_simplex": columns.simplex_seconds,
                "solve_pricing": columns.pricing_seconds,
            }
            return build_plan(dataset, compact_problem(ix, columns), rules, columns, timings)
    problem = build_problem(dataset, params)
    t1 = time.perf_counter()
    result: FlowResult
    if rules.any:
        # Imported here: CP-SAT and HiGHS load only for the plans that use them.
        from matcher.solvers.integer import solve_integer

        result = solve_integer(dataset, problem, rules, params, t0 + params.time_limit_s)
    else:
        # Part by part, in this process or on Ray: the same flow either way.
        result = solve_flow_parts(problem, engine=engine, ray_address=ray_address, jobs=jobs)
    t2 = time.perf_counter()
    return build_plan(dataset, problem, rules, result, {"build": t1 - t0, "solve": t2 - t1})


def _use_columns(dataset: Dataset, params: PlanParams) -> bool:
    if params.flow_solver != "auto":
        return params.flow_solver == "columns"
    services = int((dataset.resources["kind"] == "service").sum())
    return len(dataset.cadres) + services >= AUTO_COLUMNS_SUPPLIERS


def build_plan(
    dataset: Dataset,
    problem: Problem,
    rules: ActiveRules,
    result: FlowResult,
    timings: Mapping[str, float],
) -> Plan:
    """A ``Plan`` from a solver's result: its tables and KPIs.

    Parameters
    ----------
    dataset, problem, rules
        What was solved (``problem.params`` are the plan's parameters).
    result
        The flow on ``problem.arcs`` (an ``IntegerResult`` under integer rules).
    timings
        Wall seconds of the stages so far; ``tables`` is added.
    """
    t2 = time.perf_counter()
    funded = result.funded if isinstance(result, IntegerResult) else None
    # Column generation never lists every arc; it decides the reasons over all of them.
    reasons = result.reasons if isinstance(result, ColumnResult) else None
    status = _demand_status(problem, dataset, result.flow, rules, funded, reasons)
    assignments = _assignments(problem, dataset, result.flow)
    kpis = compute_kpis(problem, status, result.flow, result)
    kpis["rules"] = rules.names()
    if isinstance(result, ColumnResult):
        kpis["candidate_arcs"] = result.candidate_arcs
        kpis["column_generation"] = {
            "rounds": result.rounds,
            "columns": result.columns,
            "pivots": result.pivots,
        }
    extra: dict[str, pd.DataFrame] = {}
    if isinstance(result, IntegerResult):
        kpis["start_objective"] = _r(result.start_objective or 0.0)
        for name, part in (("labour", result.labour), ("funds", result.funds)):
            if part is not None:
                kpis[name] = part_kpis(part)
        if result.funding is not None and result.funded is not None:
            kpis["funds_granted"] = _r(result.funding["amount"].sum())
            kpis["demands_funded"] = int(result.funded.sum())
        if result.leads is not None:
            kpis["leads"] = part_kpis(result.leads)
        if result.findings:
            kpis["diagnosis"] = [f.to_dict() for f in result.findings]
        if result.funding is not None:
            extra["funding"] = result.funding
        if result.lead_table is not None:
            extra["leads"] = result.lead_table
    t3 = time.perf_counter()
    return Plan(
        **extra,
        assignments=assignments,
        demand_status=status,
        kpis=kpis,
        params=problem.params,
        solver=result,
        timings={**timings, "tables": t3 - t2},
        dataset_source=dataset.source,
        dataset_hash=dataset.content_hash,
    )


def _pct(x: float | None, lang: str = SOURCE_LANG) -> str:
    _ = translator(lang)
    return _("n/a") if x is None else f"{100 * x:.1f}%"


def _label(label: str, width: int = 16) -> str:
    """``label`` padded to ``width`` columns as a terminal shows them (a Chinese
    character takes two)."""
    shown = sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in label)
    return label + " " * max(width - shown, 0)


def format_summary(p: Plan, lang: str = SOURCE_LANG) -> str:
    """A short human-readable summary of a plan, in ``lang`` (statuses, rules, reasons
    and ids keep their codes, as the plan's tables have them)."""
    _ = translator(lang)
    k = p.kpis
    u = k["supplier_utilization"]

    def line(label: str, text: str) -> str:
        return f"  {_label(label)} {text}"

    lines = [
        _(
            "Plan: {status} (bound {bound}, gap {gap}), solved in {seconds} s over {arcs} "
            "candidate arcs"
        ).format(
            status=k["solver_status"],
            bound=f"{k['bound']:,.4f}",
            gap=f"{k['gap']:.1e}",
            seconds=f"{k['solve_seconds']:.3f}",
            arcs=f"{k['candidate_arcs']:,}",
        ),
        line(
            _("objective"),
            _("{objective}  (weighted hours {weighted}, travel {travel} hour-km)").format(
                objective=f"{k['objective']:,.4f}",
                weighted=f"{k['weighted_hours']:,.1f}",
                travel=f"{k['travel_hour_km']:,.1f}",
            ),
        ),
        line(
            _("hours covered"),
            _("{covered} of {demanded} ({share})").format(
                covered=f"{k['hours_covered']:,}",
                demanded=f"{k['hours_demanded']:,}",
                share=_pct(k["coverage"], lang),
            ),
        ),
        line(
            _("demands"),
            _("{n}: {met} met, {partial} partial, {unmet} unmet").format(
                n=f"{k['demands']:,}",
                met=f"{k['demands_met']:,}",
                partial=f"{k['demands_partial']:,}",
                unmet=f"{k['demands_unmet']:,}",
            ),
        ),
        line(
            _("suppliers used"),
            _("{used} of {suppliers}; {hours_used} of {hours} hours ({share})").format(
                used=f"{u['suppliers_used']:,}",
                suppliers=f"{u['suppliers']:,}",
                hours_used=f"{u['hours_used']:,}",
                hours=f"{u['hours_available']:,}",
                share=_pct(u["utilization"], lang),
            ),
        ),
    ]
    if k.get("rules"):
        lines.append(line(_("integer rules"), ", ".join(k["rules"])))
    if "leads" in k:
        lead = k["leads"]
        lines.append(
            line(
                _("lead units"),
                _("cost {cost} ({status}, bound {bound})").format(
                    cost=f"{lead['objective']:,.2f}",
                    status=lead["status"],
                    bound=f"{lead['bound']:,.2f}",
                ),
            )
        )
    if "demands_funded" in k:
        lines.append(
            line(
                _("funds"),
                _("{n} demands funded, {yuan} yuan").format(
                    n=f"{k['demands_funded']:,}", yuan=f"{k['funds_granted']:,.2f}"
                ),
            )
        )
    for finding in k.get("diagnosis", []):
        message = finding["message"]
        if isinstance(message, Text):
            message = message.render(lang)
        lines.append(line(_("diagnosis"), f"[{finding['rule']}] {message}"))
    if k["reasons"]:
        reasons = ", ".join(f"{r} {n:,}" for r, n in k["reasons"].items())
        lines.append(line(_("not fully met"), reasons))
    districts = ", ".join(
        f"{d} {_pct(v['coverage'], lang)}" for d, v in k["coverage_by_district"].items()
    )
    lines.append(line(_("by district"), districts))
    zero = k["communities_zero_coverage"]
    if zero:
        shown = ", ".join(zero[:5]) + (" ..." if len(zero) > 5 else "")
        lines.append(
            line(_("zero coverage"), _("{n} communities: {ids}").format(n=len(zero), ids=shown))
        )
    return "\n".join(lines)
