"""Lead units as a generalized assignment problem (GAP): HiGHS plus a subset search.

Each listed demand (a *job*) goes to exactly one of its lead options (an *agent*: a
unit, with an effort and a cost); each unit's summed effort stays within its capacity;
the total cost is minimised. HiGHS alone proves small instances optimal in well under a
second, but on tight instances (Martello-Toth type D) its incumbent stalls far above its
bound. :func:`solve_gap` therefore runs, on two workers, side by side:

- HiGHS on the whole model, for the whole time: often a proof; otherwise an incumbent
  and the lower bound;
- a short HiGHS run (a tenth of the time) for a first assignment, then
  :func:`subset_search`, a large-neighbourhood search: take the demands of a few units
  and re-solve exactly how they share those units (a small GAP, which CP-SAT proves in
  milliseconds); keep the result when it is cheaper. Subsets already proven locally
  optimal are not solved again until one of their units changes.

The cheaper of the two assignments is the answer. On one worker the short run, the
search and a last HiGHS run started from the search's best follow each other.
The bound reported is the best of the two HiGHS runs' dual bounds, so it is a true lower
bound; the gap is measured against it.
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

from matcher.progress import Reporter
from matcher.solvers.integer.highs import integer_lp, quiet_highs, set_start, stop_at

__all__ = ["SUB_LIMIT_S", "TARGET_JOBS", "Gap", "GapSolution", "solve_gap", "subset_search"]

_I = npt.NDArray[np.int64]
_F = npt.NDArray[np.float64]

TARGET_JOBS = 30
"""Demands freed per neighbourhood at first: HiGHS solves such a GAP in milliseconds."""

SUB_LIMIT_S = 1.0
"""Wall-second limit of one neighbourhood's sub-MIP."""


@dataclass(frozen=True)
class Gap:
    """A generalized assignment instance in option form (one row per allowed pair).

    Attributes
    ----------
    agent, job
        The unit and the demand of each option (codes ``0..n_agents-1``, ``0..n_jobs-1``).
    weight, cost
        The option's effort and cost.
    capacity
        Each unit's capacity (``inf`` for none).
    n_jobs
        Number of demands; each must get exactly one option.
    """

    agent: _I
    job: _I
    weight: _F
    cost: _F
    capacity: _F
    n_jobs: int

    @property
    def n_agents(self) -> int:
        """Number of units."""
        return len(self.capacity)

    def options_of_jobs(self) -> list[_I]:
        """For each demand, the rows of its options."""
        order = np.argsort(self.job, kind="stable")
        cuts = np.searchsorted(self.job[order], np.arange(self.n_jobs + 1))
        return [order[cuts[j] : cuts[j + 1]] for j in range(self.n_jobs)]

    def loads(self, assign: _I) -> _F:
        """Each unit's summed effort under ``assign`` (the option chosen per demand)."""
        loads = np.bincount(self.agent[assign], self.weight[assign], minlength=self.n_agents)
        return np.asarray(loads, dtype=np.float64)  # already float64: the stubs say int

    def feasible(self, assign: _I) -> bool:
        """Whether ``assign`` gives every demand one of its own options within capacity."""
        if len(assign) != self.n_jobs or not np.array_equal(
            self.job[assign], np.arange(self.n_jobs)
        ):
            return False
        return bool(np.all(self.loads(assign) <= self.capacity + 1e-9))


@dataclass(frozen=True)
class GapSolution:
    """The best assignment found, its cost, the proven lower bound and how it was found."""

    assign: _I
    cost: float
    bound: float
    optimal: bool
    seconds: float
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float:
        """Relative gap between cost and bound."""
        return abs(self.cost - self.bound) / max(abs(self.cost), 1.0)


def _model(gap: Gap, rows: _I, jobs: _I, capacity: _F) -> Any:
    """The GAP restricted to options ``rows`` (which all belong to ``jobs``)."""
    pos = np.full(gap.n_jobs, -1)
    pos[jobs] = np.arange(len(jobs))
    n = len(rows)
    limited = np.flatnonzero(np.isfinite(capacity))
    apos = np.full(gap.n_agents, -1)
    apos[limited] = np.arange(len(limited))
    a = apos[gap.agent[rows]]
    on = a >= 0
    mat = sp.csc_matrix(
        (
            np.concatenate((np.ones(n), gap.weight[rows][on])),
            (
                np.concatenate((pos[gap.job[rows]], len(jobs) + a[on])),
                np.concatenate((np.arange(n), np.flatnonzero(on))),
            ),
        ),
        shape=(len(jobs) + len(limited), n),
    )
    lp = integer_lp(
        mat,
        gap.cost[rows],
        np.ones(n),
        np.concatenate((np.ones(len(jobs)), np.full(len(limited), -np.inf))),
        np.concatenate((np.ones(len(jobs)), capacity[limited])),
    )
    return lp


def _run(h: Any, lp: Any, limit: float, seed: int, start: npt.NDArray[np.bool_] | None) -> Any:
    h.clearModel()
    h.setOptionValue("time_limit", max(limit, 0.05))
    h.setOptionValue("random_seed", seed)
    h.passModel(lp)
    if start is not None:
        set_start(h, start)
    h.run()
    return h.getInfo()


def _solution(h: Any, info: Any) -> npt.NDArray[np.bool_] | None:
    import highspy

    if info.primal_solution_status != highspy.kSolutionStatusFeasible:
        return None
    return np.asarray(h.getSolution().col_value) > 0.5


def subset_search(
    gap: Gap,
    assign: _I,
    deadline: float,
    *,
    seed: int = 0,
    target_jobs: int = TARGET_JOBS,
    sub_limit: float = SUB_LIMIT_S,
    stop: Callable[[], bool] | None = None,
    on_better: Callable[[float], None] | None = None,
) -> tuple[_I, dict[str, int]]:
    """Improve a feasible assignment by re-solving the demands of a few units at a time.

    A neighbourhood is a set of units chosen at random (seeded), enough to hold about
    ``target_jobs`` demands; its demands are re-assigned among those units by an exact
    sub-MIP, started from the current assignment, so the cost never rises. When many
    neighbourhoods in a row prove the assignment locally optimal, the sets grow by one
    unit; when a sub-MIP stops at its time limit, they shrink.

    Parameters
    ----------
    gap
        The instance.
    assign
        A feasible assignment: the option row of each demand.
    deadline
        ``time.perf_counter()`` value at which to stop.
    seed
        Seed of the neighbourhood choice.
    on_better
        Called with the new cost after each improvement (to report progress).

    Returns
    -------
    tuple
        The improved assignment and counters (``neighbourhoods``, ``improvements``,
        ``skipped``, ``units_per_set``).

    Examples
    --------
    >>> g = Gap(np.array([0, 1, 0, 1]), np.array([0, 0, 1, 1]), np.ones(4),
    ...         np.array([1.0, 2.0, 2.0, 1.0]), np.array([1.0, 1.0]), 2)
    >>> best, _ = subset_search(g, np.array([1, 2]), time.perf_counter() + 5)
    >>> best.tolist(), float(g.cost[best].sum())
    ([0, 3], 2.0)
    """
    assign = assign.copy()
    m = gap.n_agents
    if m < 2:
        return assign, {"neighbourhoods": 0, "improvements": 0, "skipped": 0, "units_per_set": m}
    rng = np.random.default_rng(seed)
    sub = _SubSolver(gap, seed, sub_limit)
    size = _SetSize(m, int(min(m, max(2, round(target_jobs / max(gap.n_jobs / m, 1e-9))))))
    version = np.zeros(m, dtype=np.int64)
    proven: dict[tuple[int, ...], tuple[int, ...]] = {}
    counts = {"neighbourhoods": 0, "improvements": 0, "skipped": 0}
    while time.perf_counter() < deadline and not (stop is not None and stop()):
        units = np.sort(rng.choice(m, size=size.k, replace=False))
        key = tuple(int(u) for u in units)
        if proven.get(key) == tuple(int(v) for v in version[units]):
            counts["skipped"] += 1
            size.stall += 1
            size.grow()
            continue
        counts["neighbourhoods"] += 1
        jobs, chosen, proven_here = sub.solve(units, assign, deadline)
        improved = False
        if chosen is not None and _cheaper(gap, chosen, assign[jobs]):
            assign[gap.job[chosen]] = chosen
            version[units] += 1
            counts["improvements"] += 1
            size.stall = 0
            improved = True
            if on_better is not None:
                on_better(float(gap.cost[assign].sum()))
        if chosen is not None and proven_here:
            proven[key] = tuple(int(v) for v in version[units])
            if size.k == m:
                break  # the whole instance was just solved exactly
            size.proved(improved)
        elif time.perf_counter() < deadline:
            size.unproved()
        size.grow()
    return assign, {**counts, "units_per_set": size.k}


@dataclass
class _SetSize:
    """How many of the ``m`` units a neighbourhood takes (``k``), and what changes it:
    sets grow by one unit when more than ``2 m`` in a row prove nothing new, and shrink
    by one when two sub-MIPs in a row end unproven (too hard to prove in time)."""

    m: int
    k: int
    stall: int = 0
    unproven: int = 0

    def proved(self, improved: bool) -> None:
        """A sub-MIP was proven optimal."""
        self.unproven = 0
        if not improved:
            self.stall += 1

    def unproved(self) -> None:
        """A sub-MIP stopped at its time limit."""
        self.unproven += 1
        if self.unproven >= 2:  # sub-models too hard to prove in time: smaller sets
            self.k, self.stall, self.unproven = max(2, self.k - 1), 0, 0

    def grow(self) -> None:
        """After each neighbourhood: grow the sets when the search has stalled."""
        if self.stall > 2 * self.m and self.k < self.m:
            self.k += 1
            self.stall = 0


class _SubSolver:
    """Re-solves how a set of units shares its demands, exactly: CP-SAT (faster on small
    tight sub-GAPs) when efforts are whole numbers, which it needs; else HiGHS."""

    def __init__(self, gap: Gap, seed: int, sub_limit: float) -> None:
        self.gap, self.seed, self.sub_limit = gap, seed, sub_limit
        self.cpsat = _integral(gap.weight)
        self.h = _whole(gap, 0.0)
        self.in_set = np.zeros(gap.n_agents, dtype=bool)

    def solve(self, units: _I, assign: _I, deadline: float) -> tuple[_I, _I | None, bool]:
        """The demands of ``units`` under ``assign``, the option rows the sub-MIP chose
        for them (``None`` if it found none), and whether it proved them optimal."""
        gap, in_set = self.gap, self.in_set
        in_set[:] = False
        in_set[units] = True
        jobs = np.flatnonzero(in_set[gap.agent[assign]])
        rows = np.flatnonzero(in_set[gap.agent] & np.isin(gap.job, jobs))
        limit = min(self.sub_limit, deadline - time.perf_counter())
        if self.cpsat:
            x, proven = _cpsat_sub(gap, rows, jobs, units, assign, limit, self.seed)
        else:
            lp = _model(gap, rows, jobs, np.where(in_set, gap.capacity, np.inf))
            info = _run(self.h, lp, limit, self.seed, np.isin(rows, assign[jobs]))
            x = _solution(self.h, info)
            proven = _proven(self.h)
        return jobs, None if x is None else rows[x], proven


def _cheaper(gap: Gap, rows: _I, than: _I) -> bool:
    """Whether options ``rows`` cost less than options ``than`` (beyond rounding)."""
    return bool(gap.cost[rows].sum() < gap.cost[than].sum() - 1e-9)


def solve_gap(
    gap: Gap,
    deadline: float,
    *,
    seed: int = 0,
    gap_limit: float = 0.0,
    workers: int = 2,
    first_share: float = 0.1,
    report: Reporter | None = None,
) -> GapSolution | None:
    """The cheapest assignment HiGHS and :func:`subset_search` find by ``deadline``.

    Returns ``None`` when no feasible assignment was found (HiGHS proved there is none,
    or ran out of time first).

    Parameters
    ----------
    gap
        The instance.
    deadline
        ``time.perf_counter()`` value by which to return.
    seed
        Seed of HiGHS and of the neighbourhood choice.
    gap_limit
        Relative gap at which a proof counts as done.
    workers
        With two or more, HiGHS searches the whole model for the whole time in a thread
        of its own (it releases the interpreter while it solves), while a short HiGHS
        run and then the subset search work beside it; with one, the short run, the
        subset search and a last HiGHS run from the best assignment follow each other.
    first_share
        Share of the time given to the short HiGHS run that starts the subset search.
    report
        Told of the first assignment and of the search's improvements (throttled), with
        the short run's bound (:mod:`matcher.progress`).
    """
    start = time.perf_counter()
    total = max(deadline - start, 0.1)
    rows = np.arange(len(gap.job))
    lp = _model(gap, rows, np.arange(gap.n_jobs), gap.capacity)
    stats: dict[str, Any] = {}
    whole = _whole(gap, gap_limit)
    whole.setOptionValue("random_seed", seed)
    # HiGHS's cancelSolve needs its own interrupt handler; this one also stops the
    # search at the deadline where HiGHS's time limit is checked too seldom.
    done = {"whole": False}
    stop_at(whole, deadline, len(rows) * 2, lambda: done["whole"])
    thread = None
    if workers >= 2:
        # HiGHS keeps its whole search (tree, cuts, bound) for the whole time on one core;
        # a short run of its own gives the subset search its start on the other.
        whole.setOptionValue("time_limit", max(0.97 * total, 0.05))
        whole.passModel(lp)
        thread = whole.startSolve()
    quick = _whole(gap, gap_limit)
    info = _run(quick, lp, first_share * total, seed + 1, None)
    assign = _assignment(gap, _solution(quick, info))
    if assign is not None:
        stats["first_cost"] = float(gap.cost[assign].sum())
    bound, optimal = _bound(info), _proven(quick)
    if thread is not None and (optimal or _infeasible(quick)):
        done["whole"] = True  # the quick run settled it: stop the whole one
    if assign is not None and not optimal:
        # Beside the whole run, until it ends; alone, leaving it the last part of the time.
        end, stop = (
            (deadline, _ended(thread)) if thread is not None else (start + 0.85 * total, None)
        )
        assign, stats["search"] = subset_search(
            gap, assign, end, seed=seed, stop=stop, on_better=_on_better(report, bound, assign, gap)
        )
        stats["search_cost"] = float(gap.cost[assign].sum())
    if thread is not None:
        whole.joinSolve(thread)
    elif not optimal:
        whole.setOptionValue("time_limit", max(0.97 * (deadline - time.perf_counter()), 0.05))
        whole.passModel(lp)
        if assign is not None:
            set_start(whole, np.isin(rows, assign))
        whole.run()
    if not optimal:
        assign, bound, optimal = _with_whole(gap, whole, assign, bound)
    if assign is None:
        return None
    return _answer(gap, assign, bound, optimal and gap_limit == 0, start, stats)


def _on_better(
    report: Reporter | None, bound: float, assign: _I, gap: Gap
) -> Callable[[float], None] | None:
    """Report the first assignment now, and the subset search's improvements throttled,
    with the short run's lower bound (:mod:`matcher.progress`)."""
    if report is None or not report.active:
        return None
    known = bound if math.isfinite(bound) else None
    report("solve", incumbent=float(gap.cost[assign].sum()), bound=known, part="leads")
    return lambda cost: report.throttled("solve", incumbent=cost, bound=known, part="leads")


def _assignment(gap: Gap, x: npt.NDArray[np.bool_] | None) -> _I | None:
    """The option row of each demand, from HiGHS's 0/1 value per option."""
    if x is None:
        return None
    assign = np.empty(gap.n_jobs, dtype=np.int64)
    assign[gap.job[x]] = np.flatnonzero(x)
    return assign


def _ended(thread: Any) -> Callable[[], bool]:
    """Whether HiGHS's solve in ``thread`` has ended."""
    return lambda: not thread.is_alive()


def _with_whole(
    gap: Gap, whole: Any, assign: _I | None, bound: float
) -> tuple[_I | None, float, bool]:
    """The whole run's assignment where cheaper, the better bound, and whether proven."""
    info = whole.getInfo()
    x = _solution(whole, info)
    if x is not None and (assign is None or _cheaper(gap, np.flatnonzero(x), assign)):
        assign = _assignment(gap, x)
    return assign, max(bound, _bound(info)), _proven(whole)


def _answer(
    gap: Gap, assign: _I, bound: float, optimal: bool, start: float, stats: dict[str, Any]
) -> GapSolution:
    """The solution, its bound rounded up to a whole number when costs are whole."""
    cost = float(gap.cost[assign].sum())
    if _integral(gap.cost) and math.isfinite(bound):
        bound = math.ceil(bound - 1e-6)  # integer costs: the optimum is a whole number too
    bound = cost if optimal else min(bound, cost)
    return GapSolution(assign, cost, bound, optimal, time.perf_counter() - start, stats)


def _infeasible(h: Any) -> bool:
    import highspy

    return bool(h.getModelStatus() == highspy.HighsModelStatus.kInfeasible)


def _bound(info: Any) -> float:
    value = float(info.mip_dual_bound)
    return value if math.isfinite(value) else -math.inf


def _whole(gap: Gap, gap_limit: float) -> Any:
    h = quiet_highs()
    h.setOptionValue("mip_rel_gap", gap_limit)
    h.setOptionValue("mip_abs_gap", _abs_gap(gap))
    return h


def _cpsat_sub(
    gap: Gap,
    rows: _I,
    jobs: _I,
    units: _I,
    assign: _I,
    limit: float,
    seed: int,
) -> tuple[npt.NDArray[np.bool_] | None, bool]:
    from ortools.sat.python import cp_model

    model = cp_model.CpModel()
    xs = [model.new_bool_var("") for _ in range(len(rows))]
    pos = np.full(gap.n_jobs, -1)
    pos[jobs] = np.arange(len(jobs))
    by_job: list[list[Any]] = [[] for _ in jobs]
    by_unit: dict[int, list[tuple[int, Any]]] = {int(u): [] for u in units}
    current = np.zeros(len(gap.job), dtype=bool)
    current[assign] = True
    for v, r in zip(xs, rows, strict=True):
        by_job[pos[gap.job[r]]].append(v)
        by_unit[int(gap.agent[r])].append((int(gap.weight[r]), v))
        model.add_hint(v, bool(current[r]))
    for lits in by_job:
        model.add_exactly_one(lits)
    for u, terms in by_unit.items():
        if math.isfinite(gap.capacity[u]):
            model.add(sum(w * v for w, v in terms) <= int(gap.capacity[u]))
    # Costs with fractions are scaled to whole numbers; the caller compares true costs.
    scale = 1.0 if _integral(gap.cost[rows]) else 1e4
    coef = np.round(gap.cost[rows] * scale).astype(np.int64)
    model.minimize(sum(int(c) * v for c, v in zip(coef, xs, strict=True)))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = seed
    solver.parameters.max_time_in_seconds = max(limit, 0.05)
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None, False
    x = np.array([solver.boolean_value(v) for v in xs])
    return x, status == cp_model.OPTIMAL


def _integral(values: _F) -> bool:
    return bool(np.all(values == np.round(values)))


def _abs_gap(gap: Gap) -> float:
    # With whole-number costs, an incumbent less than 1 above the bound is optimal: HiGHS
    # may stop there instead of closing the last fraction (seconds on tight instances).
    return 1.0 - 1e-6 if _integral(gap.cost) else 1e-6


def _proven(h: Any) -> bool:
    import highspy

    return bool(h.getModelStatus() == highspy.HighsModelStatus.kOptimal)
