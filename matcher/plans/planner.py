"""The planner's entry point: ``plan(dataset, params) -> Plan``.

The way of a plan: the validated dataset (:mod:`matcher.inputs`), its ties and candidate
arcs (:mod:`matcher.model`), the solve (:mod:`matcher.solvers`), then the tables of
:mod:`matcher.plans.tables` with their reasons and KPIs, gathered in a
:class:`~matcher.plans.result.Plan`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from matcher.errors import ParameterError
from matcher.i18n import N_, Text
from matcher.inputs.dataset import Dataset, load_dataset
from matcher.model.arcs import Problem, build_problem, index_dataset
from matcher.model.rules import ActiveRules, active_rules
from matcher.model.suppliers import SUPPLIER_KINDS
from matcher.model.ties import TIES
from matcher.params import AUTO_COLUMNS_SUPPLIERS, PlanParams
from matcher.plans.kpis import compute_kpis, rounded
from matcher.plans.reasons import decide_reasons
from matcher.plans.result import Plan
from matcher.plans.tables import (
    ASSIGNMENT_COLUMNS,
    DEMAND_STATUS_COLUMNS,
    FUNDING,
    LEADS,
    empty_table,
)
from matcher.progress import ProgressCallback, Reporter, reporter
from matcher.solvers.flow import FlowResult
from matcher.solvers.outcomes import ColumnResult, Duals, IntegerResult, NotApplicable, part_kpis
from matcher.solvers.parts import solve_flow_parts

__all__ = ["assignment_table", "build_plan", "carried_arcs", "demand_reasons", "plan"]


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


def carried_arcs(problem: Problem, flow: np.ndarray) -> npt.NDArray[np.int64]:
    """The arcs that carry hours, in the order of ``assignments.csv``: demands in file
    order; for each, cadres before services, each in file order."""
    on = np.flatnonzero(flow > 0)
    s, arcs = problem.suppliers, problem.arcs
    sup, dem = arcs.supplier[on], arcs.demand[on]
    return on[np.lexsort((s.row[sup], s.kind[sup], dem))]


def assignment_table(problem: Problem, flow: np.ndarray) -> pd.DataFrame:
    """The ``assignments`` table of a flow on ``problem.arcs``
    (:data:`~matcher.plans.tables.ASSIGNMENTS`)."""
    arcs, s = problem.arcs, problem.suppliers
    on = carried_arcs(problem, flow)
    sup, dem = arcs.supplier[on], arcs.demand[on]
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


def plan(
    dataset: Dataset | str | Path,
    params: PlanParams | None = None,
    *,
    engine: str = "local",
    ray_address: str | None = None,
    jobs: int = 2,
    warm_start: Plan | Duals | None = None,
    progress: ProgressCallback | None = None,
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
    progress
        Called with a :class:`~matcher.progress.Progress` at each stage (``load`` only
        when ``dataset`` is a folder), each column generation round, and as the integer
        rules' searches improve (at most a few times a second); the last is the
        ``tables`` stage with the solver's objective, bound and gap. It never changes
        the plan. An exception it raises stops the plan and propagates (a way to
        cancel); see :mod:`matcher.progress`.

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
    >>> stages = []
    >>> p = plan("tests/data/example/dataset", progress=lambda g: stages.append(g.stage))
    >>> stages
    ['load', 'build', 'solve', 'tables']
    """
    if engine not in ("local", "ray"):
        raise ParameterError("engine", engine, Text(N_("local or ray")))
    report = reporter(progress)
    if not isinstance(dataset, Dataset):
        report("load")
        dataset = load_dataset(dataset)
    params = params or PlanParams()
    report("build")
    t0 = time.perf_counter()
    rules = active_rules(dataset, params)
    if not rules.any and engine == "local" and _use_columns(dataset, params):
        # Imported here (before the clock of the solve starts): the column generation
        # loads numba, which `import matcher` and plans by the plain model do without.
        from matcher.solvers.columns import compact_problem, solve_columns

        ix = index_dataset(dataset, params)
        t1 = time.perf_counter()
        report("solve")
        try:
            start = warm_start.duals if isinstance(warm_start, Plan) else warm_start
            columns = solve_columns(ix, warm_start=start, report=report)
        except NotApplicable:
            pass  # a case the grid does not cover: the plain model below decides it
        else:
            timings = {
                "build": t1 - t0,
                "solve": time.perf_counter() - t1,
                "solve_simplex": columns.simplex_seconds,
                "solve_pricing": columns.pricing_seconds,
            }
            _report_tables(report, columns)
            return build_plan(dataset, compact_problem(ix, columns), rules, columns, timings)
    problem = build_problem(dataset, params)
    t1 = time.perf_counter()
    report("solve")
    result: FlowResult
    if rules.any:
        # Imported here: CP-SAT and HiGHS load only for the plans that use them.
        from matcher.solvers.integer import solve_integer

        result = solve_integer(
            dataset, problem, rules, params, t0 + params.time_limit_s, report=report
        )
    else:
        # Part by part, in this process or on Ray: the same flow either way.
        result = solve_flow_parts(problem, engine=engine, ray_address=ray_address, jobs=jobs)
    t2 = time.perf_counter()
    _report_tables(report, result)
    return build_plan(dataset, problem, rules, result, {"build": t1 - t0, "solve": t2 - t1})


def _report_tables(report: Reporter, result: FlowResult) -> None:
    """The ``tables`` stage, with the solve's outcome: what a display shows at the end."""
    report("tables", incumbent=result.objective, bound=result.bound)


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
    assignments = assignment_table(problem, result.flow)
    kpis = compute_kpis(problem, status, result.flow, result)
    kpis["rules"] = rules.names()
    if isinstance(result, ColumnResult):
        kpis["candidate_arcs"] = result.candidate_arcs
        kpis["column_generation"] = {
            "rounds": result.rounds,
            "columns": result.columns,
            "pivots": result.pivots,
        }
    funding, leads = empty_table(FUNDING), empty_table(LEADS)
    if isinstance(result, IntegerResult):
        kpis["start_objective"] = rounded(result.start_objective or 0.0)
        for name, part in (("labour", result.labour), ("funds", result.funds)):
            if part is not None:
                kpis[name] = part_kpis(part)
        if result.funding is not None and result.funded is not None:
            kpis["funds_granted"] = rounded(result.funding["amount"].sum())
            kpis["demands_funded"] = int(result.funded.sum())
        if result.leads is not None:
            kpis["leads"] = part_kpis(result.leads)
        if result.findings:
            kpis["diagnosis"] = [f.to_dict() for f in result.findings]
        if result.funding is not None:
            funding = result.funding
        if result.lead_table is not None:
            leads = result.lead_table
    t3 = time.perf_counter()
    return Plan(
        funding=funding,
        leads=leads,
        assignments=assignments,
        demand_status=status,
        kpis=kpis,
        params=problem.params,
        solver=result,
        timings={**timings, "tables": t3 - t2},
        dataset_source=dataset.source,
        dataset_hash=dataset.content_hash,
    )
