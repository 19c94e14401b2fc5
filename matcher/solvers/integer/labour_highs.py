"""The labour model as a MIP for HiGHS: the same rules as
:mod:`~matcher.solvers.integer.labour_cpsat`, with exact scores.

Its columns are the hours ``x`` per useful arc, then an open flag ``y`` per demand with a
minimum, then a serves flag ``z`` per (cadre, community) pair of the cadres that could
exceed their community limit. Its rows: supply and demand hours, ``min_hours`` (two rows
per demand), the community limit (a link per arc, a count per cadre), coverage floors.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from matcher.model.arcs import Problem
from matcher.model.rules import ActiveRules, coverage_targets
from matcher.model.suppliers import CADRE
from matcher.params import PlanParams
from matcher.progress import Reporter
from matcher.solvers.integer.highs import (
    Seen,
    highs_in_time,
    highs_mip,
    integer_lp,
    run_until,
    set_start,
)
from matcher.solvers.integer.labour import (
    LabourArcs,
    LabourSolution,
    LabourStart,
    keep_start,
    labour_arcs,
    labour_start,
)
from matcher.solvers.integer.labour_search import LabourSearch
from matcher.solvers.outcomes import Part

__all__ = ["solve_labour_highs"]

_I = npt.NDArray[np.int64]
_F = npt.NDArray[np.float64]


def solve_labour_highs(
    problem: Problem,
    rules: ActiveRules,
    params: PlanParams,
    deadline: float,
    report: Reporter | None = None,
) -> LabourSolution | None:
    """The same labour model as :func:`~matcher.solvers.integer.labour_cpsat.solve_labour`,
    as a MIP for HiGHS.

    Scores stay exact (no integer scaling). The neighbourhood search
    (:class:`~matcher.solvers.integer.labour_search.LabourSearch`) improves the repaired
    flow for :data:`SEARCH_SHARE` of the time, and proves it optimal when it can; HiGHS
    then runs on the whole model (from the repaired start: what it proves optimal is the
    same every run), and its dual bound is the bound reported; the better of the two
    plans is kept. Returns ``None`` when HiGHS finds the floors infeasible, so that CP-SAT
    can name the communities at fault. When HiGHS could not set its model up in the
    time left, or overruns it, the search's best plan is the plan, the flow optimum its
    bound. ``report`` is told of the repaired start, of the search's improvements and,
    a few times a second, of HiGHS's search (:mod:`matcher.progress`).
    """
    began = time.perf_counter()
    useful = labour_arcs(problem, rules)
    start = labour_start(problem, rules, deadline, report)
    if not highs_in_time(2 * len(useful.idx), deadline - time.perf_counter()):
        return _keep(rules, start, start.flow, began)  # not even supply and demand would fit
    seen: Seen = {}
    better = _reporter(seen, start, report)
    search = LabourSearch(problem, rules, useful, params, start.flow, better, start.relaxed.flow)
    targets = rule_targets(problem, rules)
    if meets_floors(problem, targets, start.flow):
        # The search needs a plan within the rules to start from; a start below some
        # floor is left to HiGHS alone.
        search.run(began + SEARCH_SHARE * (deadline - began))
        if search.proven:
            state = "optimal" if params.gap_limit == 0 else "feasible"
            part = Part(
                state,
                search.best_objective,
                search.best_objective,
                time.perf_counter() - began,
                engine="highs",
            )
            return search.best, part, start.objective
    model = labour_lp(problem, useful, rules.min_hours, rule_limits(problem, rules), targets)
    left = deadline - time.perf_counter()
    if not highs_in_time(model.nonzeros, left):
        # Too little time left for HiGHS even to set up a model this size (it does not
        # check its limit while it does).
        return _keep(rules, start, search.best, began)
    h = highs_mip(model.lp, model.nonzeros, params, left, seen if report is not None else None)
    # From the repaired start, not the search's best, which depends on how far the search
    # got: a plan HiGHS proves optimal is then the same on every run.
    set_start(h, start_values(problem, useful, model.cols, start.flow))
    # While HiGHS searches, report a few times a second (with the search's best score).
    watch = None if better is None else lambda: better(search.best_objective)
    if not run_until(h, deadline, watch):
        # HiGHS overran the limit in a phase that does not check it.
        return _keep(rules, start, search.best, began)
    return _read_back(h, problem, useful, model.cols, start, search.best, params, began)


SEARCH_SHARE = 0.8
"""Share of the labour model's time the neighbourhood search takes (unless it proves the
plan optimal first); HiGHS then runs on the whole model, for the bound. On a city's
model HiGHS's own search rarely improves the repaired start, and run beside the
neighbourhood search it slows it more than it helps (measured in the performance
log)."""


def meets_floors(problem: Problem, targets: _I | None, flow: npt.NDArray[np.int64]) -> bool:
    """Whether ``flow`` gives every community its coverage floor ``targets`` (true
    without floors)."""
    if targets is None:
        return True
    got = np.bincount(
        problem.demand_community[problem.arcs.demand], weights=flow, minlength=len(targets)
    )
    return bool((got >= targets).all())


def rule_limits(problem: Problem, rules: ActiveRules) -> _I | None:
    """Each supplier's community limit under ``max_communities_per_cadre`` (``None``
    without the rule; only cadres' limits are ever read)."""
    if rules.max_communities_per_cadre is None:
        return None
    return np.full(len(problem.suppliers.hours), rules.max_communities_per_cadre, dtype=np.int64)


def rule_targets(problem: Problem, rules: ActiveRules) -> _I | None:
    """Each community's coverage floor in hours (``None`` without the rule)."""
    if rules.coverage_floor is None:
        return None
    return coverage_targets(problem, rules.coverage_floor)


@dataclass(frozen=True)
class LabourLP:
    """The labour MIP for HiGHS, with its columns (:class:`_Columns`) and size."""

    lp: Any
    cols: _Columns
    nonzeros: int


def labour_lp(
    problem: Problem,
    useful: LabourArcs,
    min_hours: _I,
    limits: _I | None,
    targets: _I | None,
) -> LabourLP:
    """The labour model on the arcs ``useful.idx`` (each at most ``useful.cap``): supply
    (``problem.suppliers.hours``) and demand hours, ``min_hours`` per demand, at most
    ``limits[s]`` communities per cadre ``s`` (``None``: no limit), at least
    ``targets[c]`` hours per community ``c`` (``None``: no floor). The neighbourhood
    search (:mod:`.labour_search`) builds its small models with it too."""
    cols = _variables(problem, min_hours, useful, limits)
    rows = _constraints(problem, useful, cols, min_hours, limits, targets)
    mat = rows.matrix(cols.n)
    cost, upper = _objective(problem, useful, cols)
    lower, higher = rows.bounds()
    return LabourLP(integer_lp(mat, cost, upper, lower, higher, maximize=True), cols, mat.nnz)


def _reporter(
    seen: Seen, start: LabourStart, report: Reporter | None
) -> Callable[[float], None] | None:
    """What reports the labour search's progress, given the best score known outside
    HiGHS (the neighbourhood search's): HiGHS's incumbent when better, and its bound
    never above the relaxed flow's (throttled). An exception the report raises stops
    HiGHS too, and propagates."""
    if report is None or not report.active:
        return None

    def better(objective: float) -> None:
        bound = min(float(seen.get("bound", math.inf)), start.relaxed.bound)
        incumbent = max(float(seen.get("incumbent", -math.inf)), objective)
        try:
            report.throttled("solve", incumbent=incumbent, bound=bound, part="labour")
        except BaseException:
            seen["stop"] = True
            raise

    return better


def _keep(
    rules: ActiveRules, start: LabourStart, flow: npt.NDArray[np.int64], began: float
) -> LabourSolution | None:
    """``flow`` (the repaired start, or what the search made of it) as the plan; with
    floors (which the start may miss) none: they are left to CP-SAT, which also names
    what fails."""
    if rules.coverage_floor is not None:
        return None
    return keep_start(start, began, "highs", flow)


@dataclass(frozen=True)
class _Columns:
    """The MIP's columns: ``x`` per useful arc, then ``y`` per demand in ``ydem``, then
    ``z`` per pair in ``pair_key``; with what the rows need to know of each ``x``."""

    sup: _I
    dem: _I
    comm: _I
    cadre: npt.NDArray[np.bool_]
    ydem: _I
    """Demands with a minimum that have an arc (sorted, distinct)."""
    n_c: int
    pair_key: _I
    """``cadre * n_c + community`` of the pairs of cadres that can exceed the limit (sorted)."""

    @property
    def n_x(self) -> int:
        return len(self.sup)

    @property
    def n(self) -> int:
        return self.n_x + len(self.ydem) + len(self.pair_key)


def _variables(problem: Problem, min_hours: _I, useful: LabourArcs, limits: _I | None) -> _Columns:
    """Which columns the model has (see :class:`_Columns`); ``limits``: each supplier's
    community limit (``None``: no limit)."""
    arcs = problem.arcs
    sup, dem = arcs.supplier[useful.idx], arcs.demand[useful.idx]
    comm = problem.demand_community[dem]
    ydem = np.intersect1d(np.flatnonzero(min_hours > 0), dem).astype(np.int64)
    cadre = problem.suppliers.kind[sup] == CADRE
    if limits is not None:
        n_c = len(problem.community_ids)
        pair_key = np.unique(sup[cadre] * n_c + comm[cadre])
        counts = np.bincount(pair_key // n_c, minlength=len(problem.suppliers.hours))
        owner = pair_key // n_c
        pair_key = pair_key[counts[owner] > limits[owner]]  # only cadres that can exceed
    else:
        n_c, pair_key = 1, np.zeros(0, dtype=np.int64)
    return _Columns(sup, dem, comm, cadre, ydem, n_c, pair_key)


@dataclass
class _Rows:
    """The constraint matrix, built a block of rows at a time (as coordinates)."""

    rows: list[_I] = field(default_factory=list)
    cols: list[_I] = field(default_factory=list)
    vals: list[_F] = field(default_factory=list)
    lo: list[_F] = field(default_factory=list)
    hi: list[_F] = field(default_factory=list)
    n_rows: int = 0

    def block(self, r: _I, c: _I, v: _F, low: _F, high: _F) -> None:
        """Add ``len(low)`` rows ``low <= sum v x <= high``; ``r`` counts from the first."""
        self.rows.append(r + self.n_rows)
        self.cols.append(c)
        self.vals.append(v)
        self.lo.append(low)
        self.hi.append(high)
        self.n_rows += len(low)

    def matrix(self, n: int) -> Any:
        """The rows so far as a CSC matrix of ``n`` columns."""
        coords = (np.concatenate(self.rows), np.concatenate(self.cols))
        return sp.csc_matrix((np.concatenate(self.vals), coords), shape=(self.n_rows, n))

    def bounds(self) -> tuple[_F, _F]:
        """The rows' lower and upper bounds."""
        return np.concatenate(self.lo), np.concatenate(self.hi)


def _constraints(
    problem: Problem,
    useful: LabourArcs,
    cols: _Columns,
    min_hours: _I,
    limits: _I | None,
    targets: _I | None,
) -> _Rows:
    """Every row of the model, rule by rule: ``limits`` per supplier and ``targets`` per
    community as for :func:`labour_lp`."""
    out = _Rows()
    j = np.arange(cols.n_x)
    us, sup_row = np.unique(cols.sup, return_inverse=True)
    hours_s = problem.suppliers.hours
    out.block(sup_row, j, np.ones(cols.n_x), np.full(len(us), -np.inf), hours_s[us].astype(float))
    ud, dem_row = np.unique(cols.dem, return_inverse=True)
    hours_d = problem.demand_hours
    out.block(dem_row, j, np.ones(cols.n_x), np.full(len(ud), -np.inf), hours_d[ud].astype(float))
    if len(cols.ydem):
        _min_hours_rows(out, min_hours, hours_d, cols)
    if len(cols.pair_key) and limits is not None:
        _limit_rows(out, useful.cap[useful.idx], limits, cols)
    if targets is not None:
        cs = np.flatnonzero(targets > 0)
        cpos = np.full(len(problem.community_ids), -1)
        cpos[cs] = np.arange(len(cs))
        on = cpos[cols.comm] >= 0
        out.block(
            cpos[cols.comm[on]],
            j[on],
            np.ones(on.sum()),
            targets[cs].astype(float),
            np.full(len(cs), np.inf),
        )
    return out


def _min_hours_rows(out: _Rows, mins: _I, hours_d: _I, cols: _Columns) -> None:
    """Rule ``min_hours``: ``x(d) - min * y >= 0`` and ``x(d) - hours * y <= 0``."""
    on = np.isin(cols.dem, cols.ydem)
    r = np.searchsorted(cols.ydem, cols.dem[on]).astype(np.int64)  # ydem: sorted, distinct
    k = len(cols.ydem)
    j = np.arange(cols.n_x)[on]
    yc = cols.n_x + np.arange(k)
    out.block(
        np.concatenate((r, np.arange(k))),
        np.concatenate((j, yc)),
        np.concatenate((np.ones(on.sum()), -mins[cols.ydem].astype(float))),
        np.zeros(k),
        np.full(k, np.inf),
    )
    out.block(
        np.concatenate((r, np.arange(k))),
        np.concatenate((j, yc)),
        np.concatenate((np.ones(on.sum()), -hours_d[cols.ydem].astype(float))),
        np.full(k, -np.inf),
        np.zeros(k),
    )


def _limit_rows(out: _Rows, cap: _I, limits: _I, cols: _Columns) -> None:
    """Rule ``max_communities_per_cadre``: ``x <= cap * z`` per arc of a limited pair, and
    at most ``limits[cadre]`` pairs ``z`` per cadre. ``cap`` is per useful arc."""
    z0 = cols.n_x + len(cols.ydem)
    key = cols.sup * cols.n_c + cols.comm
    zpos = np.searchsorted(cols.pair_key, key)
    zpos[zpos >= len(cols.pair_key)] = 0
    linked = cols.cadre & (cols.pair_key[zpos] == key)
    m = int(linked.sum())
    out.block(
        np.concatenate((np.arange(m), np.arange(m))),
        np.concatenate((np.arange(cols.n_x)[linked], z0 + zpos[linked])),
        np.concatenate((np.ones(m), -cap[linked].astype(float))),
        np.full(m, -np.inf),
        np.zeros(m),
    )
    zs, z_row = np.unique(cols.pair_key // cols.n_c, return_inverse=True)
    out.block(
        z_row,
        z0 + np.arange(len(cols.pair_key)),
        np.ones(len(cols.pair_key)),
        np.full(len(zs), -np.inf),
        limits[zs].astype(float),
    )


def _objective(problem: Problem, useful: LabourArcs, cols: _Columns) -> tuple[_F, _F]:
    """Each column's score (the arc's weight; 0 for the flags) and its upper bound."""
    extra = cols.n - cols.n_x
    cost = np.concatenate((problem.arcs.weight[useful.idx], np.zeros(extra)))
    upper = np.concatenate((useful.cap[useful.idx].astype(float), np.ones(extra)))
    return cost, upper


def start_values(
    problem: Problem, useful: LabourArcs, cols: _Columns, flow: npt.NDArray[np.int64]
) -> _F:
    """A feasible flow (hours per arc of ``problem.arcs``) as a value per column: its
    hours, the demands it opens and the pairs it serves."""
    hint = np.zeros(cols.n)
    hint[: cols.n_x] = flow[useful.idx]
    got = np.bincount(problem.arcs.demand, weights=flow, minlength=len(problem.demand_hours))
    hint[cols.n_x : cols.n_x + len(cols.ydem)] = got[cols.ydem] > 0
    if len(cols.pair_key):
        on = (flow[useful.idx] > 0) & cols.cadre
        served = np.unique((cols.sup * cols.n_c + cols.comm)[on])
        hint[cols.n_x + len(cols.ydem) :] = np.isin(cols.pair_key, served)
    return hint


def _read_back(
    h: Any,
    problem: Problem,
    useful: LabourArcs,
    cols: _Columns,
    start: LabourStart,
    searched: npt.NDArray[np.int64],
    params: PlanParams,
    began: float,
) -> LabourSolution | None:
    """The better of HiGHS's hours per arc and the search's ``searched`` (HiGHS's when it
    proved them optimal, so that a proven plan is the same on every run), HiGHS's bound
    and status; ``None`` when HiGHS proved the model infeasible."""
    import highspy

    model_status = h.getModelStatus()
    if model_status == highspy.HighsModelStatus.kInfeasible:
        return None
    info = h.getInfo()
    values = np.asarray(h.getSolution().col_value)
    flow = np.zeros(len(start.flow), dtype=np.int64)
    found = len(values) == cols.n and info.primal_solution_status == highspy.kSolutionStatusFeasible
    if cols.n > 0 and found:
        flow[useful.idx] = np.rint(values[: cols.n_x]).astype(np.int64)
    else:
        flow = searched
    optimal = model_status in (
        highspy.HighsModelStatus.kOptimal,
        highspy.HighsModelStatus.kModelEmpty,
    )
    weight = problem.arcs.weight
    if not optimal and float(np.dot(searched, weight)) > float(np.dot(flow, weight)):
        flow = searched
    objective = float(np.dot(flow, weight))
    bound = float(info.mip_dual_bound)
    if not math.isfinite(bound) or cols.n == 0:
        bound = start.relaxed.bound
    bound = max(min(bound, start.relaxed.bound), objective)
    state = "optimal" if optimal and params.gap_limit == 0 else "feasible"
    part = Part(state, objective, bound, time.perf_counter() - began, engine="highs")
    return flow, part, start.objective
