"""The labour model for OR-Tools CP-SAT: the flow's hours per arc, one constraint family
per labour rule, and the communities at fault when the coverage floors cannot be met.

The rules, one function each: :func:`add_min_hours`, :func:`add_cadre_community_limit`,
:func:`add_coverage_floor`. Scores are scaled to integers (``cost_scale``) and rounded;
the bound reported adds the largest rounding error times the hours that can move, so it
is a true bound on the unrounded optimum.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from ortools.sat.python import cp_model

from matcher.errors import Finding, InfeasibleError, SolverError
from matcher.i18n import N_, Text
from matcher.model.arcs import Problem
from matcher.model.rules import ActiveRules, coverage_targets
from matcher.model.suppliers import CADRE
from matcher.params import PlanParams
from matcher.progress import Reporter
from matcher.solvers.integer.cpsat import (
    STATUS,
    cpsat_solver,
    infeasible_core,
    scaled,
    solve_reporting,
)
from matcher.solvers.integer.labour import (
    LabourArcs,
    LabourSolution,
    LabourStart,
    keep_start,
    labour_arcs,
    labour_start,
)
from matcher.solvers.outcomes import Part

__all__ = [
    "CPSAT_SECONDS_PER_ARC",
    "LabourModel",
    "add_cadre_community_limit",
    "add_coverage_floor",
    "add_min_hours",
    "labour_model",
    "solve_labour",
]

CPSAT_SECONDS_PER_ARC = 1e-4
"""What building the labour model for CP-SAT and handing it over takes per arc, before
CP-SAT's own limit counts: measured 57 microseconds (306,725 arcs of a generated city at
scale 0.05 on this project's 2-core machine, busy), with room to spare. With less time
left than that, the repaired start is kept."""

_ENGINE = "ortools.cp_sat"


def add_min_hours(
    model: cp_model.CpModel,
    x_of_demand: list[list[cp_model.IntVar]],
    min_hours: npt.NDArray[np.int64],
    hours: npt.NDArray[np.int64],
) -> dict[int, cp_model.IntVar]:
    """Rule ``min_hours``: a demand gets 0 hours or at least its minimum.

    Returns the open literal of each demand the rule concerns.
    """
    opened: dict[int, cp_model.IntVar] = {}
    for d in np.flatnonzero(min_hours > 0):
        xs = x_of_demand[d]
        if not xs:
            continue
        y = model.new_bool_var(f"open_{d}")
        total = sum(xs)
        model.add(total >= int(min_hours[d])).only_enforce_if(y)
        model.add(total == 0).only_enforce_if(~y)
        opened[int(d)] = y
    return opened


def add_cadre_community_limit(
    model: cp_model.CpModel,
    arc_supplier: npt.NDArray[np.int64],
    arc_community: npt.NDArray[np.int64],
    x: list[cp_model.IntVar],
    cap: npt.NDArray[np.int64],
    is_cadre: npt.NDArray[np.bool_],
    limit: int,
    hours_of: npt.NDArray[np.int64],
) -> dict[tuple[int, int], cp_model.IntVar]:
    """Rule ``max_communities_per_cadre``: a cadre serves at most ``limit`` communities.

    Only cadres tied to more than ``limit`` communities get constraints; service
    resources are not cadres and are not limited.
    """
    serves: dict[tuple[int, int], cp_model.IntVar] = {}
    order = np.lexsort((arc_community, arc_supplier))
    by_sup: dict[int, dict[int, list[int]]] = {}
    for a in order:
        s = int(arc_supplier[a])
        if is_cadre[s]:
            by_sup.setdefault(s, {}).setdefault(int(arc_community[a]), []).append(int(a))
    for s, comms in by_sup.items():
        if len(comms) <= limit:
            continue
        lits = []
        for c, arcs in comms.items():
            z = model.new_bool_var(f"serves_{s}_{c}")
            for a in arcs:
                model.add(x[a] <= int(cap[a]) * z)
            # The summed link is implied but tightens the LP relaxation the search uses.
            if len(arcs) > 1:
                room = min(int(hours_of[s]), sum(int(cap[a]) for a in arcs))
                model.add(sum(x[a] for a in arcs) <= room * z)
            serves[(s, c)] = z
            lits.append(z)
        model.add(sum(lits) <= limit)
    return serves


def add_coverage_floor(
    model: cp_model.CpModel,
    x_of_demand: list[list[cp_model.IntVar]],
    demand_community: npt.NDArray[np.int64],
    targets: npt.NDArray[np.int64],
) -> dict[int, cp_model.IntVar]:
    """Rule ``coverage_floor``: each community gets at least its target hours.

    Each community's constraint is enforced by a literal (returned) so that, when the
    floors cannot all be met, the solver can name the communities at fault.
    """
    by_comm: dict[int, list[cp_model.IntVar]] = {}
    for d, xs in enumerate(x_of_demand):
        by_comm.setdefault(int(demand_community[d]), []).extend(xs)
    enforce: dict[int, cp_model.IntVar] = {}
    for c in np.flatnonzero(targets > 0):
        b = model.new_bool_var(f"floor_{c}")
        model.add(sum(by_comm.get(int(c), [])) >= int(targets[c])).only_enforce_if(b)
        enforce[int(c)] = b
    return enforce


@dataclass
class LabourModel:
    """A CP-SAT labour model: the hours ``x`` per arc of ``LabourArcs.idx``, the open
    literal of each demand with a minimum, and the literal enforcing each floor."""

    model: cp_model.CpModel
    x: list[cp_model.IntVar]
    opened: dict[int, cp_model.IntVar]
    floors: dict[int, cp_model.IntVar]


def labour_model(
    problem: Problem, rules: ActiveRules, useful: LabourArcs, hard: bool
) -> LabourModel:
    """The labour model over arcs ``useful.idx``; floors hard, or left to assumptions."""
    arcs = problem.arcs
    idx, cap = useful.idx, useful.cap
    hours_s, hours_d = problem.suppliers.hours, problem.demand_hours
    model = cp_model.CpModel()
    x = [model.new_int_var(0, int(cap[a]), f"x_{a}") for a in idx]
    x_of_demand: list[list[cp_model.IntVar]] = [[] for _ in range(len(hours_d))]
    x_of_supplier: list[list[cp_model.IntVar]] = [[] for _ in range(len(hours_s))]
    for var, a in zip(x, idx, strict=True):
        x_of_demand[arcs.demand[a]].append(var)
        x_of_supplier[arcs.supplier[a]].append(var)
    # A lone arc is already bounded by its capacity, the smaller of the two hours.
    for s, xs in enumerate(x_of_supplier):
        if len(xs) > 1:
            model.add(sum(xs) <= int(hours_s[s]))
    for d, xs in enumerate(x_of_demand):
        if len(xs) > 1:
            model.add(sum(xs) <= int(hours_d[d]))
    opened = add_min_hours(model, x_of_demand, rules.min_hours, hours_d)
    if rules.max_communities_per_cadre is not None:
        add_cadre_community_limit(
            model,
            arcs.supplier[idx],
            problem.demand_community[arcs.demand[idx]],
            x,
            cap[idx],
            problem.suppliers.kind == CADRE,
            rules.max_communities_per_cadre,
            hours_s,
        )
    floors: dict[int, cp_model.IntVar] = {}
    if rules.coverage_floor is not None:
        targets = coverage_targets(problem, rules.coverage_floor)
        floors = add_coverage_floor(model, x_of_demand, problem.demand_community, targets)
        if hard:
            for b in floors.values():
                model.add(b == 1)
        else:
            model.add_assumptions(list(floors.values()))
    return LabourModel(model, x, opened, floors)


def solve_labour(
    problem: Problem,
    rules: ActiveRules,
    params: PlanParams,
    deadline: float | None = None,
    report: Reporter | None = None,
) -> LabourSolution:
    """The labour objective under the labour rules.

    Returns the hours per candidate arc, the outcome, and the repaired start's objective.
    ``report`` is told of the repaired start and of CP-SAT's improvements
    (:mod:`matcher.progress`).

    Raises
    ------
    InfeasibleError
        When the coverage floors cannot all be met, naming the communities in a minimal
        conflicting set found by the solver.
    """
    began = time.perf_counter()
    useful = labour_arcs(problem, rules)
    coef, err = scaled(problem.arcs.weight[useful.idx], params.cost_scale)
    start = labour_start(problem, rules, deadline, report)
    left = params.time_limit_s if deadline is None else deadline - time.perf_counter()
    if rules.coverage_floor is None and left < CPSAT_SECONDS_PER_ARC * len(useful.idx):
        # Building the model would take longer than is left (it happens in Python, before
        # CP-SAT's limit counts): the repaired start is the plan, the flow's bound its bound.
        return keep_start(start, began, _ENGINE)

    lm = labour_model(problem, rules, useful, hard=True)
    lm.model.maximize(sum(int(c) * v for c, v in zip(coef, lm.x, strict=True)))
    _hint(problem, lm, useful, start)
    solver = cpsat_solver(params, deadline)
    movable = min(int(problem.suppliers.hours.sum()), int(problem.demand_hours.sum()))

    def units(objective: float, bound: float) -> tuple[float, float]:
        # As the outcome's bound below: rounding added, never above the relaxed flow's.
        true_bound = min(bound / params.cost_scale + err * movable, start.relaxed.bound)
        return objective / params.cost_scale, true_bound

    status = solve_reporting(solver, lm.model, report, "labour", units)
    if status == cp_model.INFEASIBLE and lm.floors:
        diag = labour_model(problem, rules, useful, hard=False)
        raise InfeasibleError(_floor_conflict(problem, diag, params))
    flow, state = _read_back(solver, status, lm, useful, start, params)
    objective = float(np.dot(flow, problem.arcs.weight))
    if not lm.floors and objective < start.objective:
        # Stopped before it used its hint (the start meets every rule but the floors).
        flow, objective = start.flow, start.objective
    bound = solver.best_objective_bound / params.cost_scale + err * movable
    bound = max(min(bound, start.relaxed.bound), objective)
    part = Part(state, objective, bound, time.perf_counter() - began)
    return flow, part, start.objective


def _hint(problem: Problem, lm: LabourModel, useful: LabourArcs, start: LabourStart) -> None:
    """Start the search from the repaired flow: its hours, and which demands it opens."""
    for var, a in zip(lm.x, useful.idx, strict=True):
        lm.model.add_hint(var, int(start.flow[a]))
    got = np.bincount(problem.arcs.demand, weights=start.flow, minlength=len(problem.demand_hours))
    for d, y in lm.opened.items():
        lm.model.add_hint(y, bool(got[d] > 0))


def _read_back(
    solver: cp_model.CpSolver,
    status: cp_model.CpSolverStatus,
    lm: LabourModel,
    useful: LabourArcs,
    start: LabourStart,
    params: PlanParams,
) -> tuple[npt.NDArray[np.int64], str]:
    """The hours per arc CP-SAT found and their status; without a solution, the repaired
    start (which meets every rule but the floors: with floors there is no plan)."""
    if status in STATUS:
        flow = np.zeros(len(start.flow), dtype=np.int64)
        flow[useful.idx] = [solver.value(v) for v in lm.x]
        return flow, STATUS[status]
    if not lm.floors:
        return start.flow, "feasible"  # no solution found in time
    raise SolverError(
        Text(
            N_(
                "no plan meeting the coverage floors was found within {seconds} s "
                "(raise time_limit_s)"
            ),
            seconds=f"{params.time_limit_s:g}",
        )
    )


def _floor_conflict(problem: Problem, diag: LabourModel, params: PlanParams) -> list[Finding]:
    """Name a small set of communities whose floors cannot be met together."""
    named = infeasible_core(diag.model, diag.floors, params.time_limit_s)
    ids = tuple(str(problem.community_ids[c]) for c in sorted(named))
    return [
        Finding(
            "coverage_floor",
            Text(
                N_(
                    "the floor of {floor} cannot be met in these communities together: "
                    "their tied suppliers are shared and too few"
                ),
                floor=f"{params.coverage_floor:g}",
            ),
            communities=ids,
        )
    ]
