"""Lead units as a generalized assignment problem (GAP): a Lagrangian bound, searches
and HiGHS.

Each listed demand (a *job*) goes to exactly one of its lead options (an *agent*: a
unit, with an effort and a cost); each unit's summed effort stays within its capacity;
the total cost is minimised. HiGHS alone proves small instances optimal in well under a
second, but on tight instances (Martello-Toth types D and E) its incumbent stalls far
above its bound, and its bound below the Lagrangian one. :func:`solve_gap` therefore
combines:

- the Lagrangian bound of :mod:`~matcher.solvers.integer.gap_bound` (relax "one option
  per demand": a knapsack per unit), its assignment, and reduced-cost fixing;
- :class:`TabuSearch`: shifts and swaps on each demand's options of least Lagrangian
  cost, overloads allowed at an adaptive price per unit (numba, without the
  interpreter lock);
- :func:`subset_search`, a large-neighbourhood search: take the demands of a few units
  (drawn where the bound's gap lies) and re-solve exactly how they share those units (a
  small GAP, which CP-SAT proves in milliseconds); keep the result when it is cheaper;
- HiGHS on the whole model, or on what fixing leaves, in a thread of its own: the proof
  on small instances; on large tight ones it gives its thread to a second tabu search.

The bound reported is the best of the Lagrangian and HiGHS bounds (rounded up when costs
are whole numbers), a true lower bound; an assignment is optimal only when its cost
meets it. See :func:`solve_gap` for the order and the shares of time.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numba
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

CORE_OPTIONS = 5.0
"""Options a demand keeps, on average, in the subset search: those of least Lagrangian
rise (small sub-models, solved faster, so more and larger neighbourhoods)."""

TABU_OPTIONS = 3.0
"""Options a demand keeps, on average, in the tabu search (as :data:`CORE_OPTIONS`)."""

HIGHS_KEPT_SHARE = 0.6
"""Above this share of options left by fixing, HiGHS gives way to the searches (on two
workers it stops; on one it only gets the last twentieth of the time), on instances of
at least :data:`HIGHS_YIELD_AGENTS` units."""

HIGHS_YIELD_AGENTS = 20
"""Fewest units for HiGHS to give way (:data:`HIGHS_KEPT_SHARE`): with fewer, HiGHS on
the whole model finds better assignments than the searches, even unproven."""

TABU_WORK = 2_000_000
"""Move evaluations per call of the compiled tabu steps (between deadline checks)."""


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


# Keyword-only options of a public search: more than the usual few.
def subset_search(  # noqa: PLR0913
    gap: Gap,
    assign: _I,
    deadline: float,
    *,
    seed: int = 0,
    target_jobs: int = TARGET_JOBS,
    sub_limit: float = SUB_LIMIT_S,
    stop: Callable[[], bool] | None = None,
    on_better: Callable[[float], None] | None = None,
    exchange: Callable[[_I], _I | None] | None = None,
    unit_weight: Callable[[_I], _F] | None = None,
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
    exchange
        Called before each neighbourhood with the current assignment; may return a
        cheaper one (found by a search beside this one) to go on from.
    unit_weight
        Given the current assignment, a nonnegative weight per unit: half the units of
        a set are drawn in proportion to it, the rest uniformly (default: all uniform).

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
        newer = None if exchange is None else exchange(assign)
        if newer is not None and _cheaper(gap, newer, assign):
            moved = newer != assign
            version[gap.agent[assign[moved]]] += 1  # their sub-GAPs changed
            version[gap.agent[newer[moved]]] += 1
            assign = newer.copy()
        units = np.sort(_draw(rng, m, size.k, None if unit_weight is None else unit_weight(assign)))
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


def _draw(rng: np.random.Generator, m: int, k: int, weight: _F | None) -> _I:
    """``k`` of ``m`` units, half (rounded down) in proportion to ``weight``, the rest
    uniformly among the others."""
    if weight is None or k >= m or not np.all(np.isfinite(weight)) or weight.sum() <= 0:
        return rng.choice(m, size=k, replace=False)
    w = np.maximum(weight, 0.0)
    biased = min(k // 2, int(np.count_nonzero(w)))
    first = rng.choice(m, size=biased, replace=False, p=w / w.sum())
    rest = np.setdiff1d(np.arange(m), first)
    return np.concatenate((first, rng.choice(rest, size=k - biased, replace=False)))


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
    """The cheapest assignment found by ``deadline``, with a true lower bound.

    Returns ``None`` when no feasible assignment was found (HiGHS proved there is none,
    or ran out of time first).

    The steps (shares of the time in brackets; each ends early once the cost meets the
    bound):

    1. The Lagrangian bound (:func:`~matcher.solvers.integer.gap_bound.lagrangian_bound`,
       up to a tenth) and its assignment; when it builds none, a short HiGHS run
       (``first_share``) gives the first one;
    2. the :class:`TabuSearch` (to 0.25), on the options of small Lagrangian cost;
    3. the options that cannot be in a cheaper assignment are dropped
       (:func:`~matcher.solvers.integer.gap_bound.reduced_options`); HiGHS then works on
       what is left, which still holds the incumbent, so its proof there is a proof;
    4. :func:`subset_search` on the options of small Lagrangian cost, from the best.

    With two or more ``workers``, HiGHS runs in a thread of its own (it releases the
    interpreter while it solves), first on the whole model; from step 3 on, on the
    reduced one when fixing dropped much. When it dropped little (more than
    :data:`HIGHS_KEPT_SHARE` left), HiGHS goes on with the whole model on instances of
    fewer than :data:`HIGHS_YIELD_AGENTS` units, and on larger ones stops and hands its
    thread to the tabu search (:class:`_TabuStream`). Steps 1, 2 and 4 run beside it.
    With one, HiGHS runs on the reduced model after step 2 (to 0.4; skipped where it
    would give way) and again after step 4 (from 0.85 on, or 0.95 where it gives way),
    from the best assignment.

    Parameters
    ----------
    gap
        The instance.
    deadline
        ``time.perf_counter()`` value by which to return.
    seed
        Seed of HiGHS, the tabu search and the neighbourhood choice.
    gap_limit
        Relative gap at which a proof counts as done.
    workers
        Threads to use (see above).
    first_share
        Share of the time given to the short HiGHS run when the Lagrangian step finds no
        assignment.
    report
        Told of the first assignment and of the improvements (throttled), with the
        bound known then (:mod:`matcher.progress`).
    """
    start = time.perf_counter()
    total = max(deadline - start, 0.1)

    def at(share: float) -> float:
        return start + share * total

    stats: dict[str, Any] = {}
    state = _State(gap, gap_limit)
    runner = _HighsThread(gap, seed, gap_limit, deadline)
    if workers >= 2:
        runner.start(np.ones(len(gap.job), dtype=bool), None)
    lag = _lagrangian(gap, state, at(0.1), stats)
    if state.assign is None and not state.settled() and not runner.settled():
        _quick_highs(gap, state, seed, gap_limit, first_share * total, stats)
    if state.assign is not None:
        stats["first_cost"] = state.cost
    on_better = _on_better(report, state)
    ended = runner.ended if workers >= 2 else None

    def done() -> bool:
        return state.settled() or (ended is not None and ended())

    tabu = None
    if state.assign is not None and not done() and lag is not None:
        tabu = _tabu(gap, state, lag, seed, at(0.25), done, on_better, stats)
    kept = _kept(gap, state, lag)
    # Fixing left most options: HiGHS will hardly prove this in time (on such
    # instances its bound trails the Lagrangian one), so the searches get its time.
    hopeless = _hopeless(gap, kept)
    stream = None
    if workers >= 2:
        stream = _second_worker(runner, state, kept, tabu, deadline, done, stats)
    elif not done() and not hopeless:
        _highs_here(gap, state, kept, seed, gap_limit, at(0.4))
    if state.assign is not None and not done():
        core = _core(gap, state, lag, kept)
        end = deadline if workers >= 2 else at(0.95 if hopeless else 0.85)
        _search(gap, state, core, lag, seed, end, done, on_better, stats)
    if stream is not None:
        stats["tabu_stream"] = stream.join()
    if workers >= 2:
        runner.collect(state, wait=True)
    elif not state.settled():
        _highs_here(gap, state, _kept(gap, state, lag), seed, gap_limit, deadline)
    if state.assign is None:
        return None
    return _answer(gap, state.assign, state.bound, state.optimal and gap_limit == 0, start, stats)


def _second_worker(
    runner: _HighsThread,
    state: _State,
    kept: npt.NDArray[np.bool_] | None,
    tabu: TabuSearch | None,
    deadline: float,
    done: Callable[[], bool],
    stats: dict[str, Any],
) -> _TabuStream | None:
    """After fixing: HiGHS goes on with the reduced model when fixing dropped much, with
    the whole one when it did not but there are few units; else its core goes to the
    tabu search, beside the subset search (returned)."""
    if not runner.alive() or done() or kept is None:
        return None
    if not _hopeless(runner.gap, kept):
        if kept.mean() > HIGHS_KEPT_SHARE:
            return None  # few units: HiGHS goes on with the whole model, its tree intact
        runner.collect(state)
        runner.start(kept, state.assign)
        stats["highs_options"] = int(kept.sum())
        return None
    if tabu is None:
        return None
    runner.collect(state)  # its incumbent and bound are kept
    return None if done() else _TabuStream(tabu, state, deadline, done)


def _hopeless(gap: Gap, kept: npt.NDArray[np.bool_] | None) -> bool:
    """Whether HiGHS gives way to the searches: fixing left most options (HiGHS will
    hardly prove it in time; its bound trails the Lagrangian one) and there are many
    units (with few, its incumbents beat the searches')."""
    return (
        kept is not None and kept.mean() > HIGHS_KEPT_SHARE and gap.n_agents >= HIGHS_YIELD_AGENTS
    )


class _State:
    """The best assignment, its cost, the best lower bound and whether it is proven."""

    def __init__(self, gap: Gap, gap_limit: float) -> None:
        self.gap, self.gap_limit = gap, gap_limit
        self.assign: _I | None = None
        self.cost = math.inf
        self.bound = -math.inf
        self.optimal = False
        self.whole = _integral(gap.cost)
        self.lock = threading.Lock()  # two searches may offer at once

    def offer(self, assign: _I | None) -> bool:
        """Keep ``assign`` when cheaper; whether it was."""
        if assign is None:
            return False
        cost = float(self.gap.cost[assign].sum())
        with self.lock:
            if cost < self.cost - 1e-9:
                self.assign, self.cost = assign.copy(), cost
                return True
        return False

    def raise_bound(self, bound: float) -> None:
        if self.whole and math.isfinite(bound):
            bound = math.ceil(bound - 1e-6)  # whole costs: the optimum is whole too
        self.bound = max(self.bound, bound)

    def settled(self) -> bool:
        """Proven optimal, or within ``gap_limit`` of the bound."""
        if self.optimal:
            return True
        if self.assign is None or not math.isfinite(self.bound):
            return False
        slack = 1e-9 * max(1.0, abs(self.cost))
        if self.bound >= self.cost - slack:
            self.optimal = True
            return True
        return self.gap_limit > 0 and self.cost - self.bound <= self.gap_limit * abs(self.cost)


class _HighsThread:
    """HiGHS on the whole model or a reduced one (options ``kept``), in a thread."""

    def __init__(self, gap: Gap, seed: int, gap_limit: float, deadline: float) -> None:
        self.gap, self.seed, self.gap_limit, self.deadline = gap, seed, gap_limit, deadline
        self.h: Any = None
        self.thread: Any = None
        self.rows: _I = np.arange(0)
        self.cancel = {"now": False}

    def start(self, kept: npt.NDArray[np.bool_], assign: _I | None) -> None:
        """Start on the options ``kept`` (which hold ``assign``, if given, as start)."""
        gap = self.gap
        self.rows = np.flatnonzero(kept)
        lp = _model(gap, self.rows, np.arange(gap.n_jobs), gap.capacity)
        h = _whole(gap, self.gap_limit)
        h.setOptionValue("random_seed", self.seed)
        left = self.deadline - time.perf_counter()
        h.setOptionValue("time_limit", max(0.97 * left, 0.05))
        cancel = {"now": False}
        # HiGHS's cancelSolve needs its own interrupt handler; this one also stops it
        # at the deadline where HiGHS's time limit is checked too seldom.
        stop_at(h, self.deadline, len(self.rows) * 2, lambda: cancel["now"])
        h.passModel(lp)
        if assign is not None:
            set_start(h, np.isin(self.rows, assign))
        self.h, self.cancel = h, cancel
        self.thread = h.startSolve()

    def alive(self) -> bool:
        return self.thread is not None and bool(self.thread.is_alive())

    def ended(self) -> bool:
        """Whether the run has ended (proven, infeasible, or out of time)."""
        return self.thread is not None and not self.thread.is_alive()

    def settled(self) -> bool:
        return self.ended() and (_proven(self.h) or _infeasible(self.h))

    def collect(self, state: _State, wait: bool = False) -> None:
        """Stop the run (unless ``wait``), wait for it, and hand its answer to ``state``."""
        if self.thread is None:
            return
        if not wait or state.settled():
            self.cancel["now"] = True
        self.h.joinSolve(self.thread)
        self.thread = None
        info = self.h.getInfo()
        x = _solution(self.h, info)
        if x is not None:
            assign = np.empty(self.gap.n_jobs, dtype=np.int64)
            assign[self.gap.job[self.rows[x]]] = self.rows[x]
            state.offer(assign)
        # On a reduced model its bound holds for the whole: what was dropped cannot
        # beat the incumbent it holds.
        state.raise_bound(_bound(info))
        if _proven(self.h):
            state.optimal = True


def _lagrangian(gap: Gap, state: _State, end: float, stats: dict[str, Any]) -> Any:
    """Run the Lagrangian ascent; its bound and assignment go to ``state``."""
    from matcher.solvers.integer.gap_bound import Knapsacks, lagrangian_bound

    if gap.n_jobs == 0 or len(gap.job) == 0:
        return None
    knaps = Knapsacks.of(gap)
    heuristic = 10 if _dense_ok(gap) else 0
    found = lagrangian_bound(gap, end, knaps=knaps, heuristic_every=heuristic)
    stats["lagrangian"] = {"bound": found.bound, "iterations": found.iterations,
                           "exact": knaps.exact}  # fmt: skip
    state.raise_bound(found.bound)
    if found.assign is not None and gap.feasible(found.assign):
        state.offer(found.assign)
    return _Lag(found.u, knaps, found.bound)


@dataclass
class _Lag:
    """The Lagrangian step's best multipliers, the knapsacks, and the bound at them."""

    u: _F
    knaps: Any
    bound: float
    rise: _F | None = None

    def rises(self, gap: Gap) -> _F:
        """Per option, how much forcing it raises the bound (cached)."""
        from matcher.solvers.integer.gap_bound import forced_rise

        if self.rise is None:
            self.rise = forced_rise(gap, self.u, self.knaps)
        return self.rise


def _core(
    gap: Gap,
    state: _State,
    lag: _Lag | None,
    kept: npt.NDArray[np.bool_] | None,
    per_job: float = CORE_OPTIONS,
) -> npt.NDArray[np.bool_]:
    """The options of least Lagrangian rise, about ``per_job`` a demand, with those of
    the best assignment, within ``kept``: where cheap assignments are to be found."""
    core = np.ones(len(gap.job), dtype=bool) if kept is None else kept.copy()
    if lag is not None and gap.n_agents > per_job:
        rise = lag.rises(gap)
        core &= rise <= np.quantile(rise, per_job / gap.n_agents)
    if state.assign is not None:
        core[state.assign] = True
    return core


def _kept(gap: Gap, state: _State, lag: _Lag | None) -> npt.NDArray[np.bool_] | None:
    """The options that may be in an assignment cheaper than the best (and its own)."""
    from matcher.solvers.integer.gap_bound import reduced_options

    if lag is None or state.assign is None:
        return None
    return reduced_options(gap, lag.u, state.cost, keep_rows=state.assign, knaps=lag.knaps)


def _tabu(
    gap: Gap,
    state: _State,
    lag: _Lag,
    seed: int,
    end: float,
    done: Callable[[], bool],
    on_better: Callable[[float], None] | None,
    stats: dict[str, Any],
) -> TabuSearch | None:
    """The :class:`TabuSearch` on the options of least Lagrangian rise until ``end``;
    the search, to go on with (``None`` when the instance is too large for it)."""
    assert state.assign is not None
    search = TabuSearch.start(gap, state.assign, seed)
    if search is None:
        return None
    search.allow(_core(gap, state, lag, None, TABU_OPTIONS))
    chunk = _tabu_chunk(gap)
    while time.perf_counter() < end and not done():
        if search.run(chunk) and state.offer(search.best) and on_better is not None:
            on_better(state.cost)
    stats["tabu"] = {"steps": search.steps, "cost": search.best_cost}
    return search


def _tabu_chunk(gap: Gap) -> int:
    """Tabu steps per compiled call: about :data:`TABU_WORK` move evaluations."""
    n, m = gap.n_jobs, gap.n_agents
    return max(1, int(TABU_WORK // (n * m + n * n // 2 + 1)))


class _TabuStream:
    """A tabu search going on in a thread of its own (its compiled steps release the
    interpreter), trading assignments with ``state``: it offers each better best, and
    goes on from the state's when that is cheaper than its own."""

    def __init__(
        self, search: TabuSearch, state: _State, end: float, done: Callable[[], bool]
    ) -> None:
        self.search, self.state, self.end, self.done = search, state, end, done
        self.halt = False
        self.adopted = self.gave = 0
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        search, state = self.search, self.state
        chunk = _tabu_chunk(search.gap)
        while not self.halt and time.perf_counter() < self.end and not self.done():
            if search.run(chunk) and state.offer(search.best):
                self.gave += 1
            best = state.assign
            if best is not None and state.cost < search.best_cost - 1e-9:
                search.adopt(best)
                self.adopted += 1

    def join(self) -> dict[str, Any]:
        """Stop the search and wait for it; its counters."""
        self.halt = True
        self.thread.join()
        return {"steps": self.search.steps, "cost": self.search.best_cost,
                "adopted": self.adopted, "gave": self.gave}  # fmt: skip


# The solve's context (deadline, stop test, progress, counters) is passed along.
def _search(  # noqa: PLR0913, PLR0917
    gap: Gap,
    state: _State,
    core: npt.NDArray[np.bool_],
    lag: _Lag | None,
    seed: int,
    end: float,
    done: Callable[[], bool],
    on_better: Callable[[float], None] | None,
    stats: dict[str, Any],
) -> None:
    """:func:`subset_search` on the options ``core`` (which hold the best assignment),
    its sets drawn half by the units' shares of the gap to the Lagrangian bound."""
    assert state.assign is not None
    rows = np.flatnonzero(core)
    sub = Gap(gap.agent[rows], gap.job[rows], gap.weight[rows], gap.cost[rows],
              gap.capacity, gap.n_jobs)  # fmt: skip
    pos = np.full(len(gap.job), -1, dtype=np.int64)
    pos[rows] = np.arange(len(rows))

    def better(cost: float) -> None:
        if on_better is not None and cost < state.cost:
            on_better(cost)

    def exchange(current: _I) -> _I | None:
        # Share the search's assignment, and take a cheaper one found beside it (by
        # the tabu stream) when all its options are in the core.
        state.offer(rows[current])
        best = state.assign
        if best is None:
            return None
        mine = pos[best]
        return mine if bool(np.all(mine >= 0)) else None

    weight = None
    if lag is not None:
        from matcher.solvers.integer.gap_bound import unit_profits

        kp = unit_profits(gap, lag.u, lag.knaps)
        profit = lag.u[sub.job] - sub.cost

        def weight(current: _I) -> _F:
            # KP_i(u) less the profit of unit i's demands: its share of cost - L(u)
            held = np.bincount(sub.agent[current], profit[current], minlength=gap.n_agents)
            return np.asarray(np.maximum(kp - held, 0.0), dtype=np.float64)

    found, stats["search"] = subset_search(sub, pos[state.assign], end, seed=seed,
                                           stop=done, on_better=better,
                                           exchange=exchange, unit_weight=weight)  # fmt: skip
    state.offer(rows[found])
    stats["search_cost"] = state.cost


def _highs_here(
    gap: Gap,
    state: _State,
    kept: npt.NDArray[np.bool_] | None,
    seed: int,
    gap_limit: float,
    end: float,
) -> None:
    """HiGHS on the options ``kept`` (all if ``None``) until ``end``, in this thread."""
    runner = _HighsThread(gap, seed, gap_limit, end)
    runner.start(np.ones(len(gap.job), dtype=bool) if kept is None else kept, state.assign)
    runner.collect(state, wait=True)


def _quick_highs(
    gap: Gap, state: _State, seed: int, gap_limit: float, limit: float, stats: dict[str, Any]
) -> None:
    """A short HiGHS run on the whole model, for a first assignment."""
    rows = np.arange(len(gap.job))
    lp = _model(gap, rows, np.arange(gap.n_jobs), gap.capacity)
    quick = _whole(gap, gap_limit)
    info = _run(quick, lp, limit, seed + 1, None)
    state.offer(_assignment(gap, _solution(quick, info)))
    state.raise_bound(_bound(info))
    if _proven(quick):
        state.optimal = True


def _dense_ok(gap: Gap) -> bool:
    """Whether the dense demand x unit tables of the heuristics are small enough."""
    return gap.n_jobs * gap.n_agents <= TABU_CELLS


def _on_better(report: Reporter | None, state: _State) -> Callable[[float], None] | None:
    """Report the first assignment now, and the improvements throttled, with the bound
    known then (:mod:`matcher.progress`)."""
    if report is None or not report.active or state.assign is None:
        return None
    known = state.bound if math.isfinite(state.bound) else None
    report("solve", incumbent=state.cost, bound=known, part="leads")
    return lambda cost: report.throttled("solve", incumbent=cost, bound=known, part="leads")


def _assignment(gap: Gap, x: npt.NDArray[np.bool_] | None) -> _I | None:
    """The option row of each demand, from HiGHS's 0/1 value per option."""
    if x is None:
        return None
    assign = np.empty(gap.n_jobs, dtype=np.int64)
    assign[gap.job[x]] = np.flatnonzero(x)
    return assign


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


# --- tabu search --------------------------------------------------------------------


TABU_CELLS = 20_000_000
"""Largest demands x units table the tabu search works on (dense arrays of that size)."""

POLISH_CELLS = 2_000_000
"""Largest demands x units table on which each better best of the tabu search is
polished (:func:`_polish`; it keeps a second table of that size, every option's cost)."""

POLISH_WORK = 20_000_000
"""Move evaluations one polish may take (it stops there, its gains kept)."""


@dataclass
class TabuSearch:
    """A tabu search over shifts and swaps with adaptive penalties on overloads.

    The search moves through overloaded assignments too: it minimises the cost plus,
    per unit, a weight times its overload. Each step takes the best move (shift a demand
    to another unit, swap the units of two demands, or an ejection chain: a demand moves
    to a unit and pushes one of that unit's demands on to a third) that is not tabu (a
    demand may not return to a unit it left within a random tenure) unless it yields a
    feasible assignment cheaper than the best; ties go to a seeded random choice. The
    chains matter where capacities are tight: a demand can then enter a full unit in one
    step, which shifts and swaps reach only through overloads. After each
    step, the weights of overloaded units rise and, when all fit, every weight falls
    (strategic oscillation around the capacity boundary). When the best has not
    improved for ``restart`` steps, the search returns to it and shifts a few demands
    at random. Each better best is polished (:func:`_polish`): a descent over every
    option, barred or not, by feasible shifts and ejection chains of up to three
    demands; the search goes on from the polished assignment.

    Options can be barred (``allow``), e.g. those the Lagrangian bound shows cannot be
    in a cheaper assignment; they stay allowed where the current or best assignment
    uses them.

    Attributes
    ----------
    gap
        The instance.
    best
        The best feasible assignment found (option rows).
    best_cost
        Its cost.
    steps
        Steps taken so far.
    """

    gap: Gap
    best: _I
    best_cost: float
    steps: int
    _cost: _F
    _weight: _F
    _row: _I
    _cap: _F
    _state: _I
    _load: _F
    _rho: _F
    _tabu: _I
    _best_agent: _I
    _info: _F
    _rng: npt.NDArray[np.uint64]
    _full: _F

    @classmethod
    def start(cls, gap: Gap, assign: _I, seed: int) -> TabuSearch | None:
        """A search from the feasible ``assign``; ``None`` when the instance is too large
        for the dense tables (:data:`TABU_CELLS`)."""
        n, m = gap.n_jobs, gap.n_agents
        if n * m > TABU_CELLS or m < 2:
            return None
        cost = np.full((n, m), np.inf)
        weight = np.zeros((n, m))
        row = np.full((n, m), -1, dtype=np.int64)
        cost[gap.job, gap.agent] = gap.cost
        weight[gap.job, gap.agent] = gap.weight
        row[gap.job, gap.agent] = np.arange(len(gap.job))
        state = gap.agent[assign].astype(np.int64)
        load = gap.loads(assign)
        finite = np.isfinite(gap.capacity)
        spread = float(np.ptp(gap.cost)) if len(gap.cost) else 1.0
        scale = float(np.mean(gap.weight)) if len(gap.weight) else 1.0
        rho = np.full(m, max(spread, 1.0) / max(scale, 1e-9))
        rho[~finite] = 0.0
        best_cost = float(gap.cost[assign].sum())
        # info: weight factor up and down, tenure range, steps without a better best
        # before a restart, and steps since the best improved
        info = np.array([1.1, 0.95, 1.0, 4.0, 2000.0, 0.0])
        mixed = (seed * 0x9E3779B97F4A7C15 + 1) % 2**64 or 1  # xorshift needs a nonzero state
        rng = np.array([mixed], dtype=np.uint64)
        # Every option's cost, kept from the bars for the polish (none where too large).
        full = cost.copy() if n * m <= POLISH_CELLS else np.zeros((0, 0))
        return cls(gap, assign.copy(), best_cost, 0, cost, weight, row,
                   np.where(finite, gap.capacity + 1e-9, np.inf), state, load, rho,
                   np.zeros((n, m), dtype=np.int64), state.copy(), info, rng, full)  # fmt: skip

    def adopt(self, assign: _I) -> None:
        """Go on from the feasible ``assign`` (found elsewhere), its best when cheaper."""
        g = self.gap
        agents = g.agent[assign]
        self._cost[np.arange(g.n_jobs), agents] = g.cost[assign]  # allowed, even if barred
        cost = float(g.cost[assign].sum())
        if cost < self.best_cost - 1e-9:
            self.best, self.best_cost = assign.copy(), cost
            self._best_agent[:] = agents
        self._state[:] = agents
        self._load[:] = g.loads(assign)
        self._info[5] = 0.0

    def allow(self, kept: npt.NDArray[np.bool_]) -> None:
        """Bar the options not ``kept`` (per option row), except those in use."""
        g = self.gap
        barred = ~kept
        barred[self.best] = False
        barred[self._row[np.arange(g.n_jobs), self._state]] = False
        self._cost[g.job[barred], g.agent[barred]] = np.inf

    def run(self, steps: int) -> bool:
        """Take ``steps`` more steps; whether the best improved."""
        before = self.best_cost
        arrays = (self._cost, self._weight, self._cap, self._state, self._load,
                  self._rho, self._tabu, self._best_agent)  # fmt: skip
        best = _tabu_steps(arrays, self.best_cost, self.steps, steps, self._info, self._rng)

        self.steps += steps
        if best < before - 1e-9:
            self.best_cost = best
            self.best = self._row[np.arange(self.gap.n_jobs), self._best_agent]
            self._polish_best()
            return True
        return False

    def _polish_best(self) -> None:
        """Polish the best (:func:`_polish`) and go on from it when that gained."""
        if self._full.size == 0:
            return
        agents = self._best_agent.copy()
        if _polish(self._full, self._weight, self._cap, agents, POLISH_WORK) < -1e-9:
            self.adopt(self._row[np.arange(self.gap.n_jobs), agents])


@numba.njit(cache=True, nogil=True)
def _next_random(rng: npt.NDArray[np.uint64]) -> int:
    """A 63-bit random number (xorshift64*), state in ``rng[0]``: seeded, the same on
    every platform."""
    x = rng[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    rng[0] = x
    return int((x * np.uint64(0x2545F4914F6CDD1D)) >> np.uint64(1))


@numba.njit(cache=True, nogil=True)
def _over(load: float, cap: float) -> float:
    return load - cap if load > cap else 0.0


_Tabu = tuple[_F, _F, _F, _I, _F, _F, _I, _I]
"""The tabu search's arrays: cost and effort (demands x units, cost ``inf`` where barred),
capacity, the unit of each demand, each unit's load and overload weight, the step until
which a (demand, unit) pair is tabu, and the best assignment's unit of each demand."""


@numba.njit(cache=True, nogil=True)
def _tabu_steps(
    t: _Tabu, best_cost: float, first: int, steps: int, info: _F, rng: npt.NDArray[np.uint64]
) -> float:
    """Take ``steps`` steps (numbered from ``first``); the best feasible cost after them."""
    cost, _, cap, state, load, rho, _, best_agent = t
    n, m = cost.shape
    cur = 0.0
    for j in range(n):
        cur += cost[j, state[j]]
    members = np.empty(n, dtype=np.int64)
    start = np.zeros(m + 1, dtype=np.int64)
    units, first_unit = _allowed(cost)
    lists = (members, start, units, first_unit)  # members and start change in place
    for it in range(first, first + steps):
        _members(state, members, start)
        over = 0.0
        for i in range(m):
            over += _over(load[i], cap[i])
        d, mj, mi, ties = _best_shift(t, it, over, cur, best_cost, rng)
        d, sj, sl, ties = _best_swap(t, it, over, cur, best_cost, rng, d, ties, lists)
        _, cj, ck, cc = _best_chain(t, it, over, cur, best_cost, rng, d, ties, lists)
        if mj < 0 and sj < 0 and cj < 0:
            break  # no move at all
        if cj >= 0:
            cur += _chain(t, cj, ck, cc, it, info, rng)
        elif sj >= 0:
            cur += _swap(t, sj, sl, it, info, rng)
        else:
            cur += _shift(t, mj, mi, it, info, rng)
        if _adapt(load, cap, rho, info) and cur < best_cost - 1e-9:
            best_cost = cur
            best_agent[:] = state
            info[5] = 0.0
        info[5] += 1.0
        if info[5] > info[4]:
            info[5] = 0.0
            cur = _perturb(t, rng)
    return best_cost


@numba.njit(cache=True, nogil=True)
def _best_shift(
    t: _Tabu, it: int, over: float, cur: float, best_cost: float, rng: npt.NDArray[np.uint64]
) -> tuple[float, int, int, int]:
    """The best shift allowed at step ``it``: its value, demand and unit (-1: none), and
    how many tied for it (ties broken at random)."""
    cost, weight, cap, state, load, rho, tabu, _ = t
    n, m = cost.shape
    best_d, mj, mi, ties = np.inf, -1, -1, 0
    for j in range(n):
        a = state[j]
        oa = _over(load[a] - weight[j, a], cap[a]) - _over(load[a], cap[a])
        for i in range(m):
            c = cost[j, i]
            if i == a or c == np.inf:
                continue
            oi = _over(load[i] + weight[j, i], cap[i]) - _over(load[i], cap[i])
            dc = c - cost[j, a]
            d = dc + rho[a] * oa + rho[i] * oi
            # Tabu unless it gives a feasible assignment cheaper than the best.
            if tabu[j, i] > it and not (over + oa + oi <= 0.0 and cur + dc < best_cost - 1e-9):
                continue
            if d < best_d - 1e-12:
                best_d, mj, mi, ties = d, j, i, 1
            elif d <= best_d + 1e-12:
                ties += 1
                if _next_random(rng) % ties == 0:
                    mj, mi = j, i
    return best_d, mj, mi, ties


@numba.njit(cache=True, nogil=True)
def _best_swap(  # noqa: PLR0913, PLR0917
    t: _Tabu,
    it: int,
    over: float,
    cur: float,
    best_cost: float,
    rng: npt.NDArray[np.uint64],
    best_d: float,
    ties: int,
    lists: tuple[_I, _I, _I, _I],
) -> tuple[float, int, int, int]:
    """The best swap allowed at step ``it`` if better than (or tied with) a shift of
    value ``best_d``: its value and two demands (-1 when the shift stays best). Each
    pair is met once, from its first demand, among the members of units open to it."""
    cost, weight, cap, state, load, rho, tabu, _ = t
    members, start, units, first_unit = lists
    mj, ml = -1, -1
    for j in range(cost.shape[0]):
        a = state[j]
        for p in range(first_unit[j], first_unit[j + 1]):
            b = units[p]
            if b == a:
                continue
            for q in range(start[b], start[b + 1]):
                k = members[q]
                if k <= j or cost[k, a] == np.inf:
                    continue
                dc = cost[j, b] + cost[k, a] - cost[j, a] - cost[k, b]
                na = load[a] - weight[j, a] + weight[k, a]
                nb = load[b] - weight[k, b] + weight[j, b]
                oa = _over(na, cap[a]) - _over(load[a], cap[a])
                ob = _over(nb, cap[b]) - _over(load[b], cap[b])
                d = dc + rho[a] * oa + rho[b] * ob
                aspire = over + oa + ob <= 0.0 and cur + dc < best_cost - 1e-9
                if (tabu[j, b] > it or tabu[k, a] > it) and not aspire:
                    continue
                if d < best_d - 1e-12:
                    best_d, mj, ml, ties = d, j, k, 1
                elif d <= best_d + 1e-12:
                    ties += 1
                    if _next_random(rng) % ties == 0:
                        mj, ml = j, k
    return best_d, mj, ml, ties


@numba.njit(cache=True, nogil=True)
def _members(state: _I, members: _I, start: _I) -> None:
    """The demands of each unit ``i``: ``members[start[i]:start[i + 1]]``."""
    m = len(start) - 1
    start[:] = 0
    for j in range(len(state)):
        start[state[j] + 1] += 1
    for i in range(m):
        start[i + 1] += start[i]
    fill = start[:m].copy()
    for j in range(len(state)):
        members[fill[state[j]]] = j
        fill[state[j]] += 1


@numba.njit(cache=True, nogil=True)
def _allowed(cost: _F) -> tuple[_I, _I]:
    """The units open to each demand ``j`` (finite cost):
    ``units[first[j]:first[j + 1]]``."""
    n, m = cost.shape
    first = np.zeros(n + 1, dtype=np.int64)
    for j in range(n):
        first[j + 1] = first[j] + np.sum(cost[j] < np.inf)
    units = np.empty(first[n], dtype=np.int64)
    for j in range(n):
        p = first[j]
        for i in range(m):
            if cost[j, i] < np.inf:
                units[p] = i
                p += 1
    return units, first


# The tabu step's context (arrays, step, overload, costs, draw, best so far, members)
@numba.njit(cache=True, nogil=True)
def _best_chain(  # noqa: PLR0913, PLR0917
    t: _Tabu,
    it: int,
    over: float,
    cur: float,
    best_cost: float,
    rng: npt.NDArray[np.uint64],
    best_d: float,
    ties: int,
    lists: tuple[_I, _I, _I, _I],
) -> tuple[float, int, int, int]:
    """The best ejection chain of length two allowed at step ``it`` if better than (or
    tied with) a move of value ``best_d``: demand ``j`` moves to unit ``b`` and ejects
    ``k`` from ``b`` to a third unit ``c``. Its value, ``j``, ``k`` and ``c`` (-1 when
    the other move stays best)."""
    cost, weight, cap, state, load, rho, tabu, _ = t
    members, start, units, first_unit = lists
    mj, mk, mc = -1, -1, -1
    for j in range(cost.shape[0]):
        a = state[j]
        for p in range(first_unit[j], first_unit[j + 1]):
            b = units[p]
            if b == a:
                continue
            for q in range(start[b], start[b + 1]):
                k = members[q]
                for r in range(first_unit[k], first_unit[k + 1]):
                    c = units[r]
                    if c == b or c == a:  # noqa: PLR1714, SIM109 (plain compares for numba)
                        continue
                    dc = cost[j, b] - cost[j, a] + cost[k, c] - cost[k, b]
                    na = load[a] - weight[j, a]
                    nb = load[b] + weight[j, b] - weight[k, b]
                    nc = load[c] + weight[k, c]
                    oa = _over(na, cap[a]) - _over(load[a], cap[a])
                    ob = _over(nb, cap[b]) - _over(load[b], cap[b])
                    oc = _over(nc, cap[c]) - _over(load[c], cap[c])
                    d = dc + rho[a] * oa + rho[b] * ob + rho[c] * oc
                    if d > best_d + 1e-12:
                        continue
                    aspire = over + oa + ob + oc <= 0.0 and cur + dc < best_cost - 1e-9
                    if (tabu[j, b] > it or tabu[k, c] > it) and not aspire:
                        continue
                    if d < best_d - 1e-12:
                        best_d, mj, mk, mc, ties = d, j, k, c, 1
                    else:
                        ties += 1
                        if _next_random(rng) % ties == 0:
                            mj, mk, mc = j, k, c
    return best_d, mj, mk, mc


@numba.njit(cache=True, nogil=True)
def _chain(
    t: _Tabu, j: int, k: int, c: int, it: int, info: _F, rng: npt.NDArray[np.uint64]
) -> float:
    """Move demand ``j`` to the unit of ``k``, and ``k`` to unit ``c``; the change of
    cost."""
    cost, weight, _, state, load, _, tabu, _ = t
    a, b = state[j], state[k]
    load[a] -= weight[j, a]
    load[b] += weight[j, b] - weight[k, b]
    load[c] += weight[k, c]
    state[j], state[k] = b, c
    tabu[j, a] = _tenure(it, info, rng)
    tabu[k, b] = _tenure(it, info, rng)
    return float(cost[j, b] - cost[j, a] + cost[k, c] - cost[k, b])


@numba.njit(cache=True, nogil=True)
def _tenure(it: int, info: _F, rng: npt.NDArray[np.uint64]) -> int:
    lo, hi = int(info[2]), int(info[3])
    return it + lo + _next_random(rng) % (hi - lo + 1)


@numba.njit(cache=True, nogil=True)
def _shift(t: _Tabu, j: int, i: int, it: int, info: _F, rng: npt.NDArray[np.uint64]) -> float:
    """Move demand ``j`` to unit ``i``; the change of cost."""
    cost, weight, _, state, load, _, tabu, _ = t
    a = state[j]
    load[a] -= weight[j, a]
    load[i] += weight[j, i]
    state[j] = i
    tabu[j, a] = _tenure(it, info, rng)
    return float(cost[j, i] - cost[j, a])


@numba.njit(cache=True, nogil=True)
def _swap(t: _Tabu, j: int, k: int, it: int, info: _F, rng: npt.NDArray[np.uint64]) -> float:
    """Swap the units of demands ``j`` and ``k``; the change of cost."""
    cost, weight, _, state, load, _, tabu, _ = t
    a, b = state[j], state[k]
    load[a] += weight[k, a] - weight[j, a]
    load[b] += weight[j, b] - weight[k, b]
    state[j], state[k] = b, a
    tabu[j, a] = _tenure(it, info, rng)
    tabu[k, b] = _tenure(it, info, rng)
    return float(cost[j, b] + cost[k, a] - cost[j, a] - cost[k, b])


@numba.njit(cache=True, nogil=True)
def _adapt(load: _F, cap: _F, rho: _F, info: _F) -> bool:
    """Raise the weights of overloaded units; when none is, lower every weight. Whether
    the assignment fits."""
    feasible = True
    for i in range(len(load)):
        if load[i] > cap[i]:
            feasible = False
            rho[i] *= info[0]
    if feasible:
        rho *= info[1]
    return feasible


@numba.njit(cache=True, nogil=True)
def _polish(cost: _F, weight: _F, cap: _F, agent: _I, work: int) -> float:
    """Improve the feasible assignment ``agent`` (each demand's unit) in place by the
    best feasible move (:func:`_best_feasible_move`) until none gains, or ``work`` move
    evaluations are spent. ``cost`` is ``inf`` where no option is. The change of cost.
    """
    n, m = cost.shape
    load = np.zeros(m)
    for j in range(n):
        load[agent[j]] += weight[j, agent[j]]
    members = np.empty(n, dtype=np.int64)
    start = np.zeros(m + 1, dtype=np.int64)
    units, first = _allowed(cost)
    lists = (members, start, units, first)  # members and start change in place
    move = np.full(6, -1, dtype=np.int64)
    gained, spent = 0.0, 0
    while spent < work:
        _members(agent, members, start)
        best, looked = _best_feasible_move(cost, weight, cap, agent, load, lists, move)
        spent += looked
        if move[0] < 0:
            break
        for e in range(0, 6, 2):  # each link: a demand and the unit it moves to
            x, to = move[e], move[e + 1]
            if x < 0:
                break
            load[agent[x]] -= weight[x, agent[x]]
            load[to] += weight[x, to]
            agent[x] = to
        gained += best
    return gained


@numba.njit(cache=True, nogil=True)
def _best_feasible_move(
    cost: _F,
    weight: _F,
    cap: _F,
    agent: _I,
    load: _F,
    lists: tuple[_I, _I, _I, _I],
    move: _I,
) -> tuple[float, int]:
    """The cheapest move that keeps every unit within capacity and gains: a shift, or an
    ejection chain (demand ``j`` enters unit ``b``, pushing ``k`` on to ``c``, which may
    push ``l`` on to ``d``; ``c`` or ``d`` may be ``j``'s own unit: a swap, a cycle).
    Written to ``move`` as ``j, b, k, c, l, d`` (-1 past its last link; ``j`` -1: none);
    its gain (negative) and the moves looked at.
    """
    members, start, units, first = lists
    best, spent = -1e-9, 0
    move[:] = -1
    for j in range(cost.shape[0]):
        a = agent[j]
        for p in range(first[j], first[j + 1]):
            b = units[p]
            if b == a:
                continue
            spent += 1
            g = cost[j, b] - cost[j, a]
            if load[b] + weight[j, b] <= cap[b] and g < best:
                best = g
                move[:] = (j, b, -1, -1, -1, -1)
            for q in range(start[b], start[b + 1]):
                k = members[q]
                if load[b] + weight[j, b] - weight[k, b] > cap[b]:
                    continue
                for r in range(first[k], first[k + 1]):
                    c = units[r]
                    if c == b:
                        continue
                    spent += 1
                    g2 = g + cost[k, c] - cost[k, b]
                    into_c = load[c] + weight[k, c] - (weight[j, a] if c == a else 0.0)
                    if into_c <= cap[c]:
                        if g2 < best:
                            best = g2
                            move[:] = (j, b, k, c, -1, -1)
                    else:
                        # A third link only where k does not fit c as it is: where it
                        # does, the chain is a shorter one and a shift, each found alone.
                        best, more = _third_link(cost, weight, cap, load, lists, j, a, b, k,
                                                 c, into_c, g2, best, move)  # fmt: skip
                        spent += more
    return best, spent


@numba.njit(cache=True, nogil=True)
def _third_link(  # noqa: PLR0913, PLR0917
    cost: _F,
    weight: _F,
    cap: _F,
    load: _F,
    lists: tuple[_I, _I, _I, _I],
    j: int,
    a: int,
    b: int,
    k: int,
    c: int,
    into_c: float,
    gain: float,
    best: float,
    move: _I,
) -> tuple[float, int]:
    """The chain ``j`` (from unit ``a``) into ``b``, ``k`` into ``c`` (load ``into_c``
    there, gain ``gain`` so far) ended by a demand ``l`` leaving ``c`` for a unit ``d``:
    the best such move if it beats ``best`` (written to ``move``), and the moves looked
    at."""
    members, start, units, first = lists
    spent = 0
    for t in range(start[c], start[c + 1]):
        ll = members[t]
        if ll == j or into_c - weight[ll, c] > cap[c]:
            continue
        for v in range(first[ll], first[ll + 1]):
            d = units[v]
            if d in (b, c):
                continue
            spent += 1
            g3 = gain + cost[ll, d] - cost[ll, c]
            if g3 >= best:
                continue
            into_d = load[d] + weight[ll, d] - (weight[j, a] if d == a else 0.0)
            if into_d <= cap[d]:
                best = g3
                move[:] = (j, b, k, c, ll, d)
    return best, spent


@numba.njit(cache=True, nogil=True)
def _perturb(t: _Tabu, rng: npt.NDArray[np.uint64]) -> float:
    """Back to the best assignment, then a few random shifts to leave its neighbourhood;
    the cost reached."""
    cost, weight, _, state, load, _, _, best_agent = t
    n, m = cost.shape
    state[:] = best_agent
    load[:] = 0.0
    cur = 0.0
    for j in range(n):
        load[state[j]] += weight[j, state[j]]
        cur += cost[j, state[j]]
    for _ in range(max(2, n // 20)):
        j = _next_random(rng) % n
        i = _next_random(rng) % m
        if cost[j, i] < np.inf and i != state[j]:
            load[state[j]] -= weight[j, state[j]]
            cur += cost[j, i] - cost[j, state[j]]
            state[j] = i
            load[i] += weight[j, i]
    return cur
