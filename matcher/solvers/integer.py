"""The integer rules with OR-Tools CP-SAT: labour with rules, funds, and lead units.

Three independent models (they share no decision):

- **labour** -- the flow's hours ``x`` per candidate arc, plus one constraint family per
  rule: :func:`add_min_hours`, :func:`add_cadre_community_limit`,
  :func:`add_coverage_floor`. It starts from the flow optimum repaired to satisfy the
  rules (:func:`repair_flow`), so a good plan exists at once even when the proof takes
  longer;
- **funds** -- :func:`solve_funds`: all-or-nothing funding of demands by several funders;
- **lead units** -- :func:`solve_leads`: a generalized assignment problem.

Scores are scaled to integers (``cost_scale``) and rounded; as for the flow, the bound
reported adds the largest rounding error times the hours that can move, so it is a true
bound on the unrounded optimum.

The three share the plan's ``time_limit_s`` (:data:`SHARES`). A solver is not started
when setting its model up would not fit in the time left (HiGHS's presolve and CP-SAT's
model building do not check the limit), and a HiGHS run that overruns it is left
behind (:func:`matcher.solvers.highs.run_until`): the repaired start is then the plan,
with the flow optimum as its bound.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from matcher.errors import Finding, InfeasibleError, SolverError
from matcher.i18n import N_, Text
from matcher.inputs.dataset import Dataset
from matcher.model.eligibility import CADRE, Problem
from matcher.model.rules import ActiveRules, coverage_targets, funder_pairs
from matcher.params import PlanParams
from matcher.plans.planner import FUNDING_COLUMNS, LEAD_COLUMNS  # the plan's output columns
from matcher.solvers.flow import FlowResult, solve_flow
from matcher.solvers.gap import Gap, solve_gap
from matcher.solvers.highs import highs_in_time, highs_mip, run_until, set_start
from matcher.solvers.outcomes import IntegerResult, Part

__all__ = [
    "CPSAT_SECONDS_PER_ARC",
    "REPAIR_SHARE",
    "SHARES",
    "add_cadre_community_limit",
    "add_coverage_floor",
    "add_min_hours",
    "lead_gap",
    "repair_flow",
    "solve_funds",
    "solve_integer",
    "solve_labour",
    "solve_labour_highs",
    "solve_leads",
    "solve_leads_highs",
]

_STATUS = {cp_model.OPTIMAL: "optimal", cp_model.FEASIBLE: "feasible"}


def _solver(params: PlanParams, deadline: float | None = None) -> cp_model.CpSolver:
    s = cp_model.CpSolver()
    p = s.parameters
    p.num_workers = params.workers
    p.random_seed = params.seed
    p.relative_gap_limit = params.gap_limit
    left = params.time_limit_s if deadline is None else deadline - time.perf_counter()
    p.max_time_in_seconds = max(left, 0.1)
    # Interleaved workers search in a fixed order: a search that ends by proof (not by
    # the time limit) gives the same plan every run.
    p.interleave_search = params.deterministic and params.workers > 1
    return s


def _scaled(values: np.ndarray, scale: float) -> tuple[np.ndarray, float]:
    """Integer coefficients and the largest rounding error per unit."""
    ints = np.rint(values * scale)
    err = float(np.abs(values - ints / scale).max(initial=0.0))
    return ints.astype(np.int64), err


# --- labour rules -------------------------------------------------------------------


def add_min_hours(
    model: cp_model.CpModel,
    x_of_demand: list[list[cp_model.IntVar]],
    min_hours: np.ndarray,
    hours: np.ndarray,
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
    arc_supplier: np.ndarray,
    arc_community: np.ndarray,
    x: list[cp_model.IntVar],
    cap: np.ndarray,
    is_cadre: np.ndarray,
    limit: int,
    hours_of: np.ndarray,
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
    demand_community: np.ndarray,
    targets: np.ndarray,
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


def _over_limit(problem: Problem, flow: np.ndarray, limit: int) -> np.ndarray:
    """Arcs of cadres over their community limit that lie outside their best communities.

    A cadre over the limit keeps the ``limit`` communities where its hours score most.
    """
    arcs = problem.arcs
    on = np.flatnonzero(flow > 0)
    sup, comm = arcs.supplier[on], problem.demand_community[arcs.demand[on]]
    cadre = problem.suppliers.kind[sup] == CADRE
    on, sup, comm = on[cadre], sup[cadre], comm[cadre]
    frame = pd.DataFrame({"s": sup, "c": comm, "v": flow[on] * arcs.weight[on]})
    per = frame.groupby(["s", "c"], sort=True)["v"].sum().reset_index()
    per = per.sort_values(["s", "v", "c"], ascending=[True, False, True], kind="stable")
    per["rank"] = per.groupby("s").cumcount()
    over = per["s"].isin(per.loc[per["rank"] >= limit, "s"])
    kept = per[over & (per["rank"] < limit)]
    over_s = np.unique(per.loc[over, "s"].to_numpy())
    if len(over_s) == 0:
        return np.zeros(len(arcs), dtype=bool)
    n_c = len(problem.community_ids)
    arc_comm = problem.demand_community[arcs.demand]
    allowed = np.isin(arcs.supplier * n_c + arc_comm, kept["s"].to_numpy() * n_c + kept["c"])
    return np.isin(arcs.supplier, over_s) & ~allowed


def repair_flow(
    problem: Problem,
    flow: np.ndarray,
    rules: ActiveRules,
    rounds: int = 30,
    deadline: float | None = None,
    round_seconds: float = 0.0,
) -> np.ndarray:
    """Turn the flow optimum into a plan that satisfies ``min_hours`` and the community
    limit, re-solving the flow after each repair so that freed hours go where they score.

    Each round, a cadre over its limit is confined to the communities where it scored
    most, and a demand below its minimum is closed; then the flow is solved again on
    what is left. Confinements and closures accumulate, so the rounds end. (The coverage
    floor is left to the search.) No round starts that would end past ``deadline`` (a
    ``time.perf_counter()`` value), judged by the last round's time (the first by
    ``round_seconds``, the time of the flow it repairs): what still breaks a rule is
    then dropped, as after the last round.
    """
    arcs = problem.arcs
    allowed = np.ones(len(arcs), dtype=bool)
    hours = problem.demand_hours.copy()
    mins = rules.min_hours
    limit = rules.max_communities_per_cadre
    f = flow.copy()
    last = round_seconds
    for _ in range(rounds):
        begun = time.perf_counter()
        if deadline is not None and begun + last >= deadline:
            break
        changed = False
        if limit is not None:
            cut = _over_limit(problem, f, limit)
            if cut.any():
                allowed &= ~cut
                changed = True
        if (mins > 0).any():
            got = np.bincount(arcs.demand, weights=f, minlength=len(mins))
            short = (got > 0) & (got < mins)
            if short.any():
                hours[short] = 0
                changed = True
        if not changed:
            return f
        f = _flow_on(problem, allowed, hours)
        last = time.perf_counter() - begun
    # Past the rounds, drop whatever still breaks a rule (a safe, feasible plan).
    if limit is not None:
        f[_over_limit(problem, f, limit)] = 0
    got = np.bincount(arcs.demand, weights=f, minlength=len(mins))
    f[((got > 0) & (got < mins))[arcs.demand]] = 0
    return f


def _flow_on(problem: Problem, allowed: np.ndarray, demand_hours: np.ndarray) -> np.ndarray:
    """The flow optimum using only ``allowed`` arcs and the given demand hours."""
    keep = np.flatnonzero(allowed)
    a = problem.arcs
    sub = dataclasses.replace(
        problem,
        demand_hours=demand_hours,
        arcs=dataclasses.replace(
            a,
            supplier=a.supplier[keep],
            demand=a.demand[keep],
            km=a.km[keep],
            tie=a.tie[keep],
            weight=a.weight[keep],
        ),
    )
    flow = np.zeros(len(a), dtype=np.int64)
    flow[keep] = solve_flow(sub).flow
    return flow


@dataclass
class _LabourModel:
    model: cp_model.CpModel
    x: list[cp_model.IntVar]
    opened: dict[int, cp_model.IntVar]
    floors: dict[int, cp_model.IntVar]


def _labour_model(
    problem: Problem, rules: ActiveRules, idx: np.ndarray, cap: np.ndarray, hard: bool
) -> _LabourModel:
    """The labour model over arcs ``idx``; floors hard, or left to assumptions."""
    arcs = problem.arcs
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
    return _LabourModel(model, x, opened, floors)


def solve_labour(
    problem: Problem, rules: ActiveRules, params: PlanParams, deadline: float | None = None
) -> tuple[np.ndarray, Part, float]:
    """The labour objective under the labour rules.

    Returns the hours per candidate arc, the outcome, and the repaired start's objective.

    Raises
    ------
    InfeasibleError
        When the coverage floors cannot all be met, naming the communities in a minimal
        conflicting set found by the solver.
    """
    start = time.perf_counter()
    arcs = problem.arcs
    hours_s, hours_d = problem.suppliers.hours, problem.demand_hours
    cap = np.minimum(hours_s[arcs.supplier], hours_d[arcs.demand])
    use = cap > 0
    if rules.coverage_floor is None:
        use &= arcs.weight > 0  # an hour that scores <= 0 is never needed then
    idx = np.flatnonzero(use)
    coef, err = _scaled(arcs.weight[idx], params.cost_scale)
    relaxed, flow_start = _repaired_start(problem, rules, deadline)
    start_objective = float(np.dot(flow_start, arcs.weight))
    left = params.time_limit_s if deadline is None else deadline - time.perf_counter()
    if rules.coverage_floor is None and left < CPSAT_SECONDS_PER_ARC * len(idx):
        # Building the model would take longer than is left (it happens in Python, before
        # CP-SAT's limit counts): the repaired start is the plan, the flow's bound its bound.
        part = Part(
            "feasible",
            start_objective,
            max(relaxed.bound, start_objective),
            time.perf_counter() - start,
        )
        return flow_start, part, start_objective

    lm = _labour_model(problem, rules, idx, cap, hard=True)
    model, x = lm.model, lm.x
    model.maximize(sum(int(c) * v for c, v in zip(coef, x, strict=True)))
    for var, a in zip(x, idx, strict=True):
        model.add_hint(var, int(flow_start[a]))
    got = np.bincount(arcs.demand, weights=flow_start, minlength=len(hours_d))
    for d, y in lm.opened.items():
        model.add_hint(y, bool(got[d] > 0))

    solver = _solver(params, deadline)
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE and lm.floors:
        diag = _labour_model(problem, rules, idx, cap, hard=False)
        raise InfeasibleError(_floor_conflict(problem, diag, params))
    flow = np.zeros(len(arcs), dtype=np.int64)
    if status in _STATUS:
        flow[idx] = [solver.value(v) for v in x]
        state = _STATUS[status]
    elif not lm.floors:
        # No solution found in time: the repaired start is feasible (without floors).
        flow = flow_start
        state = "feasible"
    else:
        raise SolverError(
            Text(
                N_(
                    "no plan meeting the coverage floors was found within {seconds} s "
                    "(raise time_limit_s)"
                ),
                seconds=f"{params.time_limit_s:g}",
            )
        )
    objective = float(np.dot(flow, arcs.weight))
    if not lm.floors and objective < start_objective:
        # Stopped before it used its hint (the start meets every rule but the floors).
        flow, objective = flow_start, start_objective
    movable = min(int(hours_s.sum()), int(hours_d.sum()))
    bound = solver.best_objective_bound / params.cost_scale + err * movable
    bound = max(min(bound, relaxed.bound), objective)
    part = Part(state, objective, bound, time.perf_counter() - start)
    return flow, part, start_objective


def solve_labour_highs(
    problem: Problem, rules: ActiveRules, params: PlanParams, deadline: float
) -> tuple[np.ndarray, Part, float] | None:
    """The same labour model as :func:`solve_labour`, as a MIP for HiGHS.

    Scores stay exact (no integer scaling), HiGHS starts from the repaired flow, and its
    dual bound is the bound reported. Returns ``None`` when HiGHS finds the floors
    infeasible, so that CP-SAT can name the communities at fault.
    """
    import highspy
    import scipy.sparse as sp

    start = time.perf_counter()
    arcs = problem.arcs
    hours_s, hours_d = problem.suppliers.hours, problem.demand_hours
    cap = np.minimum(hours_s[arcs.supplier], hours_d[arcs.demand])
    use = cap > 0
    if rules.coverage_floor is None:
        use &= arcs.weight > 0
    idx = np.flatnonzero(use)
    relaxed, flow_start = _repaired_start(problem, rules, deadline)

    def keep_start() -> tuple[np.ndarray, Part, float] | None:
        """The repaired start as the plan, the relaxed flow's optimum its bound (floors,
        which it may miss, are left to CP-SAT, which also names what fails)."""
        if rules.coverage_floor is not None:
            return None
        objective = float(np.dot(flow_start, arcs.weight))
        bound = max(relaxed.bound, objective)
        part = Part("feasible", objective, bound, time.perf_counter() - start, engine="highs")
        return flow_start, part, objective

    n_x = len(idx)
    if not highs_in_time(2 * n_x, deadline - time.perf_counter()):
        return keep_start()  # not even the rows of supply and demand would fit: no model
    sup, dem = arcs.supplier[idx], arcs.demand[idx]
    comm = problem.demand_community[dem]
    mins = rules.min_hours
    ydem = np.intersect1d(np.flatnonzero(mins > 0), dem).astype(np.int64)
    limit = rules.max_communities_per_cadre
    cadre = problem.suppliers.kind[sup] == CADRE
    if limit is not None:
        n_c = len(problem.community_ids)
        pair_key = np.unique(sup[cadre] * n_c + comm[cadre])
        counts = np.bincount(pair_key // n_c, minlength=len(hours_s))
        pair_key = pair_key[counts[pair_key // n_c] > limit]  # only cadres that can exceed
    else:
        n_c, pair_key = 1, np.zeros(0, dtype=np.int64)
    n = n_x + len(ydem) + len(pair_key)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    n_rows = 0

    def block(
        r: np.ndarray, c: np.ndarray, v: np.ndarray, low: np.ndarray, high: np.ndarray
    ) -> None:
        nonlocal n_rows
        rows.append(r + n_rows)
        cols.append(c)
        vals.append(v)
        lo.append(low)
        hi.append(high)
        n_rows += len(low)

    j = np.arange(n_x)
    us, sup_row = np.unique(sup, return_inverse=True)
    block(sup_row, j, np.ones(n_x), np.full(len(us), -np.inf), hours_s[us].astype(float))
    ud, dem_row = np.unique(dem, return_inverse=True)
    block(dem_row, j, np.ones(n_x), np.full(len(ud), -np.inf), hours_d[ud].astype(float))
    if len(ydem):
        on = np.isin(dem, ydem)
        r = np.searchsorted(ydem, dem[on]).astype(np.int64)  # ydem is sorted and distinct
        k = len(ydem)
        yc = n_x + np.arange(k)
        # x(d) - min * y >= 0 and x(d) - hours * y <= 0
        block(
            np.concatenate((r, np.arange(k))),
            np.concatenate((j[on], yc)),
            np.concatenate((np.ones(on.sum()), -mins[ydem].astype(float))),
            np.zeros(k),
            np.full(k, np.inf),
        )
        block(
            np.concatenate((r, np.arange(k))),
            np.concatenate((j[on], yc)),
            np.concatenate((np.ones(on.sum()), -hours_d[ydem].astype(float))),
            np.full(k, -np.inf),
            np.zeros(k),
        )
    if len(pair_key):
        key = sup * n_c + comm
        zpos = np.searchsorted(pair_key, key)
        zpos[zpos >= len(pair_key)] = 0
        linked = cadre & (pair_key[zpos] == key) if len(pair_key) else np.zeros(n_x, bool)
        zc = n_x + len(ydem) + zpos[linked]
        m = int(linked.sum())
        block(
            np.concatenate((np.arange(m), np.arange(m))),
            np.concatenate((j[linked], zc)),
            np.concatenate((np.ones(m), -cap[idx][linked].astype(float))),
            np.full(m, -np.inf),
            np.zeros(m),
        )
        zs, z_row = np.unique(pair_key // n_c, return_inverse=True)
        block(
            z_row,
            n_x + len(ydem) + np.arange(len(pair_key)),
            np.ones(len(pair_key)),
            np.full(len(zs), -np.inf),
            np.full(len(zs), float(limit or 0)),
        )
    if rules.coverage_floor is not None:
        targets = coverage_targets(problem, rules.coverage_floor)
        cs = np.flatnonzero(targets > 0)
        cpos = np.full(len(problem.community_ids), -1)
        cpos[cs] = np.arange(len(cs))
        on = cpos[comm] >= 0
        block(
            cpos[comm[on]],
            j[on],
            np.ones(on.sum()),
            targets[cs].astype(float),
            np.full(len(cs), np.inf),
        )
    mat = sp.csc_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_rows, n)
    )

    left = deadline - time.perf_counter()
    if not highs_in_time(mat.nnz, left):
        # Too little time left for HiGHS even to set up a model this size (it does not
        # check its limit while it does).
        return keep_start()
    h = highs_mip(
        mat,
        np.concatenate((arcs.weight[idx], np.zeros(n - n_x))),
        np.concatenate((cap[idx].astype(float), np.ones(n - n_x))),
        np.concatenate(lo),
        np.concatenate(hi),
        params,
        left,
        maximize=True,
    )
    hint = np.zeros(n)
    hint[:n_x] = flow_start[idx]
    got = np.bincount(arcs.demand, weights=flow_start, minlength=len(hours_d))
    hint[n_x : n_x + len(ydem)] = got[ydem] > 0
    if len(pair_key):
        served = np.unique((sup * n_c + comm)[(flow_start[idx] > 0) & cadre])
        hint[n_x + len(ydem) :] = np.isin(pair_key, served)
    set_start(h, hint)
    if not run_until(h, deadline):
        return keep_start()  # HiGHS overran the limit in a phase that does not check it
    model_status = h.getModelStatus()
    if model_status == highspy.HighsModelStatus.kInfeasible:
        return None
    info = h.getInfo()
    values = np.asarray(h.getSolution().col_value)
    flow = np.zeros(len(arcs), dtype=np.int64)
    if n == 0:
        flow = flow_start
    elif len(values) == n and info.primal_solution_status == highspy.kSolutionStatusFeasible:
        flow[idx] = np.rint(values[:n_x]).astype(np.int64)
    else:
        flow = flow_start
    objective = float(np.dot(flow, arcs.weight))
    optimal = model_status in (
        highspy.HighsModelStatus.kOptimal,
        highspy.HighsModelStatus.kModelEmpty,
    )
    bound = float(info.mip_dual_bound)
    if not math.isfinite(bound) or n == 0:
        bound = relaxed.bound
    bound = max(min(bound, relaxed.bound), objective)
    state = "optimal" if optimal and params.gap_limit == 0 else "feasible"
    start_objective = float(np.dot(flow_start, arcs.weight))
    part = Part(state, objective, bound, time.perf_counter() - start, engine="highs")
    return flow, part, start_objective


def _core(model: cp_model.CpModel, lits: dict[Any, cp_model.IntVar], limit: float) -> list[Any]:
    """Keys of a small set of assumption literals that cannot all hold (all if unknown)."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # cores of assumptions need a single worker
    solver.parameters.max_time_in_seconds = limit
    status = solver.solve(model)
    if status != cp_model.INFEASIBLE:
        return list(lits)
    core = set(solver.sufficient_assumptions_for_infeasibility())
    return [k for k, v in lits.items() if v.index in core] or list(lits)


def _floor_conflict(problem: Problem, diag: _LabourModel, params: PlanParams) -> list[Finding]:
    """Name a small set of communities whose floors cannot be met together."""
    named = _core(diag.model, diag.floors, params.time_limit_s)
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


# --- funds --------------------------------------------------------------------------


def solve_funds(
    dataset: Dataset, problem: Problem, params: PlanParams, deadline: float | None = None
) -> tuple[Part, np.ndarray, pd.DataFrame, list[Finding]]:
    """Rule ``funds``: fund demands in full or not at all, possibly by several funders.

    A funded demand adds ``priority * funds / yuan_per_hour_equivalent`` (times
    ``priority_weight``) to the objective. Amounts are planned in fen (0.01 yuan).

    Returns the outcome, ``funded`` per demand, the funding table, and findings for
    demands that no set of tied funders could ever fund.
    """
    start = time.perf_counter()
    demands, res = dataset.demands, dataset.resources
    need = np.rint(demands["funds"].fillna(0).to_numpy(float) * 100).astype(np.int64)
    have = np.rint(res["amount"].to_numpy(float) * 100).astype(np.int64)
    pairs = funder_pairs(dataset)
    funded = np.zeros(len(demands), dtype=bool)
    asking = np.flatnonzero(need > 0)
    value = (
        params.priority_weight
        * problem.demand_priority
        * demands["funds"].fillna(0).to_numpy(float)
        / params.yuan_per_hour_equivalent
    )
    findings: list[Finding] = []
    demand_ids = demands["demand_id"].astype(str).to_numpy()
    reach = pairs.groupby("demand")["resource"].apply(list).to_dict()
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
    coef, err = _scaled(value[asking], params.cost_scale)
    model.maximize(sum(int(c) * y[int(d)] for c, d in zip(coef, asking, strict=True)))
    solver = _solver(params, deadline)
    status = solver.solve(model)
    rows: list[tuple[int, int, float]] = []
    if status in _STATUS:
        for d in asking:
            funded[d] = bool(solver.value(y[int(d)]))
        for (r, dd), v in f.items():
            amount = solver.value(v)
            if amount > 0:
                rows.append((r, dd, amount / 100))
        bound_scaled, state = solver.best_objective_bound, _STATUS[status]
    else:
        bound_scaled, state = solver.best_objective_bound, "feasible"  # nothing funded
    objective = float(value[funded].sum())
    bound = max(bound_scaled / params.cost_scale + err * len(asking), objective)
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
    table = table.sort_values(["demand_id", "resource_id"], kind="stable").reset_index(drop=True)
    part = Part(state, objective, bound, time.perf_counter() - start)
    return part, funded, table, findings


# --- lead units ---------------------------------------------------------------------


def _integer_scale(values: np.ndarray) -> int:
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
    dataset: Dataset, params: PlanParams, deadline: float | None = None
) -> tuple[Part, pd.DataFrame] | None:
    """Rule ``lead_units`` with HiGHS and a subset search, exact efforts and costs.

    See :func:`matcher.solvers.gap.solve_gap`: HiGHS proves small instances optimal at
    once; on tight ones a large-neighbourhood search improves its incumbent while HiGHS
    raises the bound. Returns ``None`` when no assignment is found, so that
    :func:`solve_leads` can name the demands and units at fault.
    """
    start = time.perf_counter()
    opts = dataset.table("lead_options")
    gap = lead_gap(dataset)
    end = start + params.time_limit_s if deadline is None else deadline
    found = solve_gap(
        gap, end, seed=params.seed, gap_limit=params.gap_limit, workers=params.workers
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
        engine="highs" if "search" not in found.stats else "highs + subset search",
    )
    return part, table


def solve_leads(
    dataset: Dataset, params: PlanParams, deadline: float | None = None
) -> tuple[Part, pd.DataFrame]:
    """Rule ``lead_units``: exactly one lead unit per listed demand, at least total cost.

    Each unit's summed ``effort`` stays within its ``lead_capacity`` (no limit where the
    capacity is empty). This is the generalized assignment problem; the outcome is a
    minimisation (``bound`` is a lower bound on the cost).

    Raises
    ------
    InfeasibleError
        Naming demands no unit can take, or units whose capacities are too small for
        the demands that can only go to them.
    """
    start = time.perf_counter()
    opts = dataset.table("lead_options")
    units = dataset.units.set_index("unit_id")
    cap_of = units["lead_capacity"]
    effort = opts["effort"].to_numpy(float)
    caps = cap_of.dropna().to_numpy(float)
    k = _integer_scale(np.concatenate((effort, caps)))
    eff = np.ceil(effort * k - 1e-9).astype(np.int64)
    cost_coef, err = _scaled(opts["cost"].to_numpy(float), 1.0)
    if err > 1e-9:
        cost_coef, err = _scaled(opts["cost"].to_numpy(float), 1e4)
        cost_scale = 1e4
    else:
        cost_scale = 1.0
    demand_ids = list(dict.fromkeys(opts["demand_id"]))
    opt_unit = opts["unit_id"].astype(str).to_numpy()
    caps_of_unit = {str(u): c for u, c in cap_of.items()}
    findings: list[Finding] = []
    for did in demand_ids:
        rows = np.flatnonzero((opts["demand_id"] == did).to_numpy())
        fits = [
            r
            for r in rows
            if pd.isna(caps_of_unit[opt_unit[r]])
            or eff[r] <= math.floor(float(caps_of_unit[opt_unit[r]]) * k + 1e-9)
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

    def build(hard: bool) -> tuple[cp_model.CpModel, list[cp_model.IntVar], dict[str, Any]]:
        model = cp_model.CpModel()
        x = [model.new_bool_var(f"lead_{r}") for r in range(len(opts))]
        by_demand = opts.groupby("demand_id", sort=False).indices
        for did in demand_ids:
            model.add_exactly_one(x[r] for r in by_demand[did])
        lits: dict[str, Any] = {}
        for uid, rows in opts.groupby("unit_id").indices.items():
            c = cap_of.get(uid)
            if c is None or pd.isna(c):
                continue
            b = model.new_bool_var(f"cap_{uid}")
            load = sum(int(eff[r]) * x[r] for r in rows)
            model.add(load <= math.floor(float(c) * k + 1e-9)).only_enforce_if(b)
            lits[str(uid)] = b
        if hard:
            for b in lits.values():
                model.add(b == 1)
        else:
            model.add_assumptions(list(lits.values()))
        return model, x, lits

    model, x, _ = build(hard=True)
    model.minimize(sum(int(c) * v for c, v in zip(cost_coef, x, strict=True)))
    solver = _solver(params, deadline)
    status = solver.solve(model)
    if status == cp_model.INFEASIBLE:
        diag, _, lits = build(hard=False)
        raise InfeasibleError(_lead_conflict(opts, _core(diag, lits, params.time_limit_s)))
    if status not in _STATUS:
        raise SolverError(
            Text(
                N_("no lead assignment was found within {seconds} s (raise time_limit_s)"),
                seconds=f"{params.time_limit_s:g}",
            )
        )
    chosen = [r for r in range(len(opts)) if solver.value(x[r])]
    table = opts.loc[chosen, list(LEAD_COLUMNS)].reset_index(drop=True)
    cost = float(opts["cost"].to_numpy(float)[chosen].sum())
    bound = min(solver.best_objective_bound / cost_scale - err * len(demand_ids), cost)
    part = Part(_STATUS[status], cost, bound, time.perf_counter() - start)
    return part, table


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


# --- all together -------------------------------------------------------------------

CPSAT_SECONDS_PER_ARC = 1e-4
"""What building the labour model for CP-SAT and handing it over takes per arc, before
CP-SAT's own limit counts: measured 57 microseconds (306,725 arcs of a generated city at
scale 0.05 on this project's 2-core machine, busy), with room to spare. With less time
left than that, the repaired start is kept."""
SHARES = {"labour": 3.0, "funds": 1.0, "leads": 2.0}
"""How the time left is split between the models that search, in the order they run:
each ends by its share's point, so time one leaves unused passes to the next, and the
last ends by the plan's deadline. (Funds usually prove at once; lead units are a
search that uses its time.)"""
REPAIR_SHARE = 0.3
"""Share of the labour model's time the repaired start may take before the search."""


def _shares(start: float, deadline: float, rules: ActiveRules) -> dict[str, float]:
    """The ``time.perf_counter()`` value by which each model must be done."""
    on = {"labour": rules.labour, "funds": rules.funds, "leads": rules.leads}
    total = sum(w for k, w in SHARES.items() if on[k]) or 1.0
    ends: dict[str, float] = {}
    done = 0.0
    for k, w in SHARES.items():
        done += w if on[k] else 0.0
        ends[k] = start + (deadline - start) * done / total
    ends["leads"] = deadline  # the last model has all that is left (no rounding short)
    return ends


def _repaired_start(
    problem: Problem, rules: ActiveRules, deadline: float | None
) -> tuple[FlowResult, np.ndarray]:
    """The flow optimum without the rules, and that flow repaired to satisfy them (in
    the repair's share of the time left). The rules only take plans away, so the flow
    optimum's bound also bounds the plan under them."""
    relaxed = solve_flow(problem)
    start = repair_flow(
        problem,
        relaxed.flow,
        rules,
        deadline=_repair_end(deadline),
        round_seconds=relaxed.wall_seconds,
    )
    return relaxed, start


def _repair_end(deadline: float | None) -> float | None:
    """By when the repaired start must be ready: its share of the time left."""
    if deadline is None:
        return None
    now = time.perf_counter()
    return now + REPAIR_SHARE * max(deadline - now, 0.0)


def solve_integer(
    dataset: Dataset,
    problem: Problem,
    rules: ActiveRules,
    params: PlanParams,
    deadline: float | None = None,
) -> IntegerResult:
    """Solve a run with integer rules: labour (flow, HiGHS or CP-SAT), funds, lead units.

    The objective, bound and gap are labour plus funds; lead units, a cost to minimise,
    are reported beside them. ``deadline`` (a ``time.perf_counter()`` value, by default
    ``time_limit_s`` from now) ends them all: the time is shared by :data:`SHARES`.
    """
    start = time.perf_counter()
    if deadline is None:
        deadline = start + params.time_limit_s
    ends = _shares(start, deadline, rules)
    findings: list[Finding] = []
    if rules.labour:
        solved = None
        if params.integer_solver == "highs":
            solved = solve_labour_highs(problem, rules, params, ends["labour"])
        # CP-SAT also names the communities at fault when HiGHS finds the floors infeasible.
        if solved is None:
            solved = solve_labour(problem, rules, params, ends["labour"])
        flow, labour, start_objective = solved
    else:
        fr = solve_flow(problem)
        flow, start_objective = fr.flow, fr.objective
        labour = Part(fr.status, fr.objective, fr.bound, fr.wall_seconds, engine=fr.solver)
    funds = funded = funding = None
    if rules.funds:
        funds, funded, funding, notes = solve_funds(dataset, problem, params, ends["funds"])
        findings += notes
    leads = lead_table = None
    if rules.leads:
        found = None
        if params.integer_solver == "highs":
            found = solve_leads_highs(dataset, params, ends["leads"])
        # CP-SAT also names the demands and units at fault when no assignment exists.
        leads, lead_table = (
            found if found is not None else solve_leads(dataset, params, ends["leads"])
        )
    parts = [p for p in (labour, funds) if p is not None]
    objective = sum(p.objective for p in parts)
    bound = sum(p.bound for p in parts)
    every = [p for p in (labour, funds, leads) if p is not None]
    status = "optimal" if all(p.status == "optimal" for p in every) else "feasible"
    gap = abs(bound - objective) / max(abs(bound), 1.0)
    return IntegerResult(
        flow=flow,
        status=status,
        objective=objective,
        bound=bound,
        gap=gap,
        wall_seconds=time.perf_counter() - start,
        solver=" + ".join(dict.fromkeys(p.engine for p in every)),
        labour=labour,
        funds=funds,
        leads=leads,
        start_objective=start_objective + (funds.objective if funds else 0.0),
        funded=funded,
        funding=funding,
        lead_table=lead_table,
        findings=tuple(findings),
    )
