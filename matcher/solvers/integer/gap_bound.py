"""A Lagrangian lower bound for the generalized assignment problem, and what it proves.

Relaxing the assignment constraints (each demand gets exactly one option) with
multipliers ``u`` leaves one 0/1 knapsack per unit: take options of profit
``u[job] - cost`` within the unit's capacity. For any ``u``,

    L(u) = sum(u) - sum over units of KP_i(u)

is a lower bound on the optimum (``KP_i`` the unit's best knapsack profit, or any upper
estimate of it). The knapsacks keep the capacities' integrality, which the linear
relaxation HiGHS starts from does not, so on tight instances (Martello-Toth types D and
E) this bound is the stronger. :func:`lagrangian_bound` raises it by subgradient ascent
(Polyak's step toward an upper bound) and keeps the best multipliers met.

Each knapsack is solved exactly by dynamic programming over capacities when every effort
and capacity is a whole number (after a small common scale) and the tables are small;
otherwise Dantzig's fractional bound stands in (still an upper estimate of ``KP_i``, so
``L`` stays a true bound, only weaker). Units of unlimited capacity take every option of
positive profit.

:func:`reduced_options` then drops the options that cannot be part of an assignment
cheaper than a known one: forcing option ``(i, j)`` raises ``L`` by at least
``KP_i(b_i) - p_ij - KP_i(b_i - a_ij)`` (the best knapsack that contains it is at most
``p_ij`` plus the best one within the capacity left). An exact search on what is left
finds every cheaper assignment, so a proof there is a proof for the whole instance.

:func:`lagrangian_assignment` turns each relaxed solution into an assignment (keep one
unit per demand, place the rest greedily, then a shift-and-swap descent), which gives
the step its upper bound and the search its first incumbents.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numba
import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # gap.py imports this module
    from matcher.solvers.integer.gap import Gap

__all__ = [
    "DP_CELLS",
    "Knapsacks",
    "LagrangianResult",
    "forced_rise",
    "lagrangian_assignment",
    "lagrangian_bound",
    "reduced_options",
    "unit_profits",
]

_I = npt.NDArray[np.int64]
_F = npt.NDArray[np.float64]
_B = npt.NDArray[np.uint8]

DP_CELLS = 30_000_000
"""Largest knapsack table (options times capacity, summed over units) solved exactly;
above it the fractional bound is used (a table of bytes is kept to read the solutions)."""

_SCALES = (1, 2, 4, 5, 8, 10, 20, 25, 50, 100, 1000)
"""Scales tried to make efforts whole numbers (efforts given in tenths, quarters, ...)."""


@dataclass(frozen=True)
class Knapsacks:
    """The per-unit knapsacks of a :class:`~matcher.solvers.integer.gap.Gap`, sorted by
    unit, in the arrays the compiled kernels take.

    Attributes
    ----------
    rows
        Option row of each item (items sorted by unit).
    ptr
        Items of unit ``i``: ``ptr[i]:ptr[i + 1]``.
    job, cost, weight
        Per item: its demand, cost and effort (scaled to whole numbers when ``exact``).
    capacity
        Per unit: capacity (scaled, rounded down, capped at the unit's total effort when
        ``exact``); ``inf`` for none.
    exact
        Whether the knapsacks are solved by dynamic programming (whole efforts).
    """

    rows: _I
    ptr: _I
    job: _I
    cost: _F
    weight: _F
    capacity: _F
    exact: bool

    @classmethod
    def of(cls, gap: Gap, dp_cells: int = DP_CELLS) -> Knapsacks:
        """The knapsacks of ``gap``; exact when efforts allow it within ``dp_cells``."""
        rows = np.argsort(gap.agent, kind="stable").astype(np.int64)
        ptr = np.searchsorted(gap.agent[rows], np.arange(gap.n_agents + 1)).astype(np.int64)
        weight = gap.weight[rows].astype(np.float64)
        capacity = np.maximum(gap.capacity.astype(np.float64), 0.0)
        exact = False
        scaled = _whole_scale(weight, capacity)
        if scaled is not None:
            w, cap = scaled
            total = np.bincount(gap.agent[rows], w, minlength=gap.n_agents)
            cap = np.where(np.isfinite(cap), np.minimum(cap, total), np.inf)
            finite = np.isfinite(cap)  # unlimited units need no table (0 * inf is nan)
            cells = float(np.sum(np.diff(ptr)[finite] * (cap[finite] + 1)))
            if cells <= dp_cells:
                weight, capacity, exact = w, cap, True
        if not exact:
            capacity = capacity + 1e-9  # the tolerance Gap.feasible grants
        return cls(rows, ptr, gap.job[rows].astype(np.int64), gap.cost[rows].astype(np.float64),
                   weight, capacity, exact)  # fmt: skip


def _whole_scale(weight: _F, capacity: _F) -> tuple[_F, _F] | None:
    """Efforts times the first scale that makes them whole, and capacities rounded down
    (a sum of whole efforts fits exactly when it fits the rounded-down capacity); ``None``
    when no scale does or an effort is negative."""
    if len(weight) and (weight.min() < 0 or not np.all(np.isfinite(weight))):
        return None
    for scale in _SCALES:
        w = weight * scale
        r = np.round(w)
        if np.all(np.abs(w - r) <= 1e-9 * np.maximum(1.0, np.abs(w))):
            # Rounded down with Gap.feasible's tolerance (and a hair more): a larger
            # capacity only loosens the bound.
            cap = np.where(np.isfinite(capacity), np.floor(capacity * scale + 1e-6), np.inf)
            return r, cap
    return None


@dataclass(frozen=True)
class LagrangianResult:
    """The best bound met and what came with it.

    Attributes
    ----------
    bound
        The best ``L(u)`` met: a true lower bound on the optimum (``-inf`` if none).
    u
        Its multipliers.
    iterations
        Subgradient steps taken.
    optimal
        Whether the relaxed solution at ``u`` was itself a feasible assignment (each
        demand taken once): then ``bound`` is the optimum.
    assign
        The cheapest assignment met by :func:`lagrangian_assignment` (``None`` if none).
    """

    bound: float
    u: _F
    iterations: int
    optimal: bool
    assign: _I | None


def lagrangian_bound(
    gap: Gap,
    deadline: float,
    *,
    upper: float = math.inf,
    iterations: int = 2000,
    u: _F | None = None,
    knaps: Knapsacks | None = None,
    heuristic_every: int = 10,
) -> LagrangianResult:
    """Raise the Lagrangian bound of ``gap`` by subgradient ascent.

    The step is Polyak's, ``lam * (upper - L) / |g|^2`` along the subgradient ``g_j = 1
    - (times demand j is taken)``; ``lam`` starts at 2 and halves after 20 steps without
    a better bound, and the ascent stops when it falls below ``1e-3``, after
    ``iterations`` steps, or at ``deadline``. ``upper`` is lowered by the assignments
    :func:`lagrangian_assignment` builds from the relaxed solutions every
    ``heuristic_every`` steps (and from the start when none is given).

    Parameters
    ----------
    gap
        The instance.
    deadline
        ``time.perf_counter()`` value at which to stop.
    upper
        The cost of a known assignment (``inf`` for none).
    iterations
        Most subgradient steps.
    u
        Starting multipliers (default: each demand's cheapest option cost, where
        ``L(u)`` is the sum of those).
    knaps
        The knapsacks of ``gap`` (:meth:`Knapsacks.of`), when already built.
    heuristic_every
        Steps between two assignments built from the relaxed solution (0: none).
    """
    k = Knapsacks.of(gap) if knaps is None else knaps
    n = gap.n_jobs
    if u is None:
        u = np.full(n, np.inf)
        np.minimum.at(u, gap.job, gap.cost)
        u = np.where(np.isfinite(u), u, 0.0)
    u = u.astype(np.float64).copy()
    buf = _Buffers.of(k)
    best_u, best = u.copy(), -math.inf
    best_assign: _I | None = None
    lam, stall, it, optimal = 2.0, 0, 0, False
    fallback = np.abs(gap.cost).sum() + 1.0  # an upper guess while none is known
    while it < iterations and lam > 1e-3 and time.perf_counter() < deadline:
        value = _value(u, k, buf)
        it += 1
        g = 1.0 - np.bincount(k.job, buf.x, minlength=n)
        if value > best + 1e-9:
            best, best_u, stall = value, u.copy(), 0
        else:
            stall += 1
            if stall >= 20:
                lam, stall = lam / 2, 0
        if heuristic_every and (it % heuristic_every == 1 or not math.isfinite(upper)):
            found = lagrangian_assignment(gap, k, buf.x, u)
            if found is not None:
                c = float(gap.cost[found].sum())
                if c < upper - 1e-9 or best_assign is None:
                    upper, best_assign = min(upper, c), found
        norm = float(g @ g)
        if norm < 1e-12:
            optimal = bool(np.all(np.abs(buf.x - np.round(buf.x)) < 1e-9))
            break  # each demand taken exactly once: no better multipliers
        target = upper if math.isfinite(upper) else max(best, value) + 0.05 * fallback
        if best >= target - 1e-9:
            break  # the bound met the upper bound
        u = u + lam * (target - value) / norm * g
    return LagrangianResult(best, best_u, it, optimal, best_assign)


@dataclass
class _Buffers:
    """Work arrays of the kernels: per item its taken share ``x``; per unit its table of
    best profits by capacity (``f``, offsets ``fptr``) and the DP's decisions (``keep``,
    offsets ``kptr``)."""

    x: _F
    f: _F
    fptr: _I
    keep: _B
    kptr: _I

    @classmethod
    def of(cls, k: Knapsacks) -> _Buffers:
        sizes = np.where(np.isfinite(k.capacity), k.capacity + 1, 1).astype(np.int64)
        if not k.exact:
            sizes[:] = 1
        fptr = np.concatenate(([0], np.cumsum(sizes))).astype(np.int64)
        cells = np.diff(k.ptr) * sizes if k.exact else np.zeros(len(sizes), dtype=np.int64)
        kptr = np.concatenate(([0], np.cumsum(cells))).astype(np.int64)
        return cls(
            np.zeros(len(k.job)),
            np.zeros(int(fptr[-1])),
            fptr,
            np.zeros(int(kptr[-1]), dtype=np.uint8),
            kptr,
        )


def _value(u: _F, k: Knapsacks, buf: _Buffers) -> float:
    """``L(u)``; fills ``buf.x`` with the relaxed solution and ``buf.f`` with the tables."""
    kp = _knapsacks(u, k.job, k.cost, k.weight, k.ptr, k.capacity, k.exact,
                    buf.x, buf.f, buf.fptr, buf.keep, buf.kptr)  # fmt: skip
    return float(u.sum() - kp)


@numba.njit(cache=True, nogil=True)
# A compiled kernel takes its arrays one by one (numba: positional numpy arrays).
def _knapsacks(  # noqa: PLR0913, PLR0917
    u: _F,
    job: _I,
    cost: _F,
    weight: _F,
    ptr: _I,
    capacity: _F,
    exact: bool,
    x: _F,
    f: _F,
    fptr: _I,
    keep: _B,
    kptr: _I,
) -> float:
    """The summed best profit of every unit's knapsack at multipliers ``u`` (exact by
    DP, or Dantzig's bound), its solution in ``x`` and, when exact, its tables in ``f``."""
    total = 0.0
    m = len(ptr) - 1
    pos = np.empty(ptr[m] - ptr[0], dtype=np.int64)
    for i in range(m):
        lo, hi = ptr[i], ptr[i + 1]
        npos = 0
        for t in range(lo, hi):
            x[t] = 0.0
            if u[job[t]] - cost[t] > 0.0:
                pos[npos] = t
                npos += 1
        cap = capacity[i]
        if not np.isfinite(cap):
            for s in range(npos):
                t = pos[s]
                x[t] = 1.0
                total += u[job[t]] - cost[t]
        elif exact:
            total += _dp(u, job, cost, weight, pos, npos, int(cap), x, f, fptr[i], keep, kptr[i])
        else:
            total += _dantzig(u, job, cost, weight, pos, npos, cap, x)
    return total


@numba.njit(cache=True, nogil=True)
# A compiled kernel takes its arrays one by one (numba: positional numpy arrays).
def _dp(  # noqa: PLR0913, PLR0917
    u: _F,
    job: _I,
    cost: _F,
    weight: _F,
    pos: _I,
    npos: int,
    cap: int,
    x: _F,
    f: _F,
    f0: int,
    keep: _B,
    k0: int,
) -> float:
    """0/1 knapsack of items ``pos[:npos]`` by DP: ``f[f0 + c]`` the best profit within
    capacity ``c``; the chosen items get ``x = 1``."""
    width = cap + 1
    for c in range(width):
        f[f0 + c] = 0.0
    for s in range(npos):
        t = pos[s]
        w = int(weight[t])
        p = u[job[t]] - cost[t]
        row = k0 + s * width
        for c in range(min(w, width)):
            keep[row + c] = 0
        for c in range(cap, w - 1, -1):
            v = f[f0 + c - w] + p
            if v > f[f0 + c]:
                f[f0 + c] = v
                keep[row + c] = 1
            else:
                keep[row + c] = 0
    c = cap
    for s in range(npos - 1, -1, -1):
        if keep[k0 + s * width + c]:
            t = pos[s]
            x[t] = 1.0
            c -= int(weight[t])
    return float(f[f0 + cap])


@numba.njit(cache=True, nogil=True)
def _dantzig(u: _F, job: _I, cost: _F, weight: _F, pos: _I, npos: int, cap: float, x: _F) -> float:
    """Dantzig's bound on a knapsack of items ``pos[:npos]``: whole items by profit per
    effort while they fit, then a share of the next; the shares go to ``x``."""
    ratio = np.empty(npos)
    for s in range(npos):
        t = pos[s]
        w = weight[t]
        ratio[s] = np.inf if w <= 0.0 else (u[job[t]] - cost[t]) / w
    order = np.argsort(-ratio, kind="mergesort")
    left, total = cap, 0.0
    for r in range(npos):
        t = pos[order[r]]
        w, p = weight[t], u[job[t]] - cost[t]
        if w <= left:
            x[t] = 1.0
            left -= w
            total += p
        else:
            share = left / w
            x[t] = share
            total += share * p
            break
    return total


def reduced_options(
    gap: Gap,
    u: _F,
    upper: float,
    *,
    keep_rows: _I | None = None,
    knaps: Knapsacks | None = None,
) -> npt.NDArray[np.bool_]:
    """Which options may be part of an assignment cheaper than ``upper``.

    Option ``(i, j)`` is dropped when the Lagrangian bound at ``u`` with it forced,
    ``L(u) + KP_i(b_i) - p_ij - KP_i(b_i - a_ij)``, reaches ``upper`` (with whole costs:
    exceeds ``upper - 1``), or when its effort exceeds the unit's capacity. Every
    assignment cheaper than ``upper`` uses kept options only.

    Parameters
    ----------
    gap
        The instance.
    u
        Multipliers (the better their bound, the more is dropped).
    upper
        The cost of a known assignment.
    keep_rows
        Options kept whatever their bound (that known assignment's: then what is kept
        still holds it).
    knaps
        The knapsacks of ``gap`` (:meth:`Knapsacks.of`), when already built.

    Returns
    -------
    numpy.ndarray
        Per option row, whether it is kept.
    """
    k = Knapsacks.of(gap) if knaps is None else knaps
    buf = _Buffers.of(k)
    forced = _value(u, k, buf) + _forced_rise(u, k.job, k.cost, k.weight, k.ptr,
                                              k.capacity, k.exact, buf.f, buf.fptr)  # fmt: skip
    if bool(np.all(gap.cost == np.round(gap.cost))):
        drop = forced > upper - 1.0 + 1e-6  # the forced optimum is whole: at least upper
    else:
        drop = forced >= upper + 1e-7 * max(1.0, abs(upper))
    kept = np.ones(len(gap.job), dtype=bool)
    kept[k.rows[drop]] = False  # forced and drop are per item: rows sorted by unit
    if keep_rows is not None:
        kept[keep_rows] = True
    return kept


def unit_profits(gap: Gap, u: _F, knaps: Knapsacks | None = None) -> _F:
    """Per unit, its knapsack's best profit at ``u`` (``KP_i(u)``, or its upper estimate).

    For an assignment ``a``, ``cost(a) - L(u)`` is the sum over units of ``KP_i(u)``
    less the profit ``sum(u[j] - c_ij)`` of the demands ``a`` gives unit ``i``: each
    term is at least 0, so it shows which units hold the gap to the bound.
    """
    k = Knapsacks.of(gap) if knaps is None else knaps
    buf = _Buffers.of(k)
    _value(u, k, buf)
    unit = np.repeat(np.arange(gap.n_agents), np.diff(k.ptr))
    profits = np.bincount(unit, buf.x * (u[k.job] - k.cost), minlength=gap.n_agents)
    return np.asarray(profits, dtype=np.float64)  # already float64: the stubs say int


def forced_rise(gap: Gap, u: _F, knaps: Knapsacks | None = None) -> _F:
    """Per option row, a lower estimate of how much forcing it raises ``L(u)`` (``inf``
    where it does not fit): small where the option suits the relaxed solution."""
    k = Knapsacks.of(gap) if knaps is None else knaps
    buf = _Buffers.of(k)
    _value(u, k, buf)
    rise = np.empty(len(gap.job))
    rise[k.rows] = _forced_rise(u, k.job, k.cost, k.weight, k.ptr, k.capacity, k.exact,
                                buf.f, buf.fptr)  # fmt: skip
    return rise


@numba.njit(cache=True, nogil=True)
# A compiled kernel takes its arrays one by one (numba: positional numpy arrays).
def _forced_rise(  # noqa: PLR0913, PLR0917
    u: _F,
    job: _I,
    cost: _F,
    weight: _F,
    ptr: _I,
    capacity: _F,
    exact: bool,
    f: _F,
    fptr: _I,
) -> _F:
    """Per item, a lower estimate of how much forcing it raises ``L(u)``:
    ``KP_i(b_i) - p - KP_i(b_i - a)`` from the DP tables ``f`` (filled at ``u``), from
    Dantzig's bound as a function of capacity, or exactly for unlimited units;
    ``inf`` where the item does not fit."""
    m = len(ptr) - 1
    rise = np.zeros(ptr[m] - ptr[0])
    for i in range(m):
        lo, hi = ptr[i], ptr[i + 1]
        cap = capacity[i]
        if not np.isfinite(cap):
            for t in range(lo, hi):
                p = u[job[t]] - cost[t]
                rise[t] = -p if p < 0.0 else 0.0
            continue
        if exact:
            c = int(cap)
            full = f[fptr[i] + c]
            for t in range(lo, hi):
                w = int(weight[t])
                if w > c:
                    # cap was capped at the unit's total effort only when that is less,
                    # so an item over it is over the true capacity too.
                    rise[t] = np.inf
                else:
                    rise[t] = full - (u[job[t]] - cost[t]) - f[fptr[i] + c - w]
            continue
        # Dantzig's bound as a function of capacity: piecewise linear along the items
        # sorted by profit per effort.
        n = hi - lo
        ratio = np.empty(n)
        for s in range(n):
            t = lo + s
            p = u[job[t]] - cost[t]
            w = weight[t]
            ratio[s] = -np.inf if p <= 0.0 else (np.inf if w <= 0.0 else p / w)
        order = np.argsort(-ratio, kind="mergesort")
        cw = np.zeros(n + 1)
        cp = np.zeros(n + 1)
        npos = 0
        for r in range(n):
            t = lo + order[r]
            p = u[job[t]] - cost[t]
            if p <= 0.0:
                break
            cw[r + 1] = cw[r] + weight[t]
            cp[r + 1] = cp[r] + p
            npos += 1
        full = _piecewise(cap, cw, cp, npos)
        for t in range(lo, hi):
            w = weight[t]
            if w > cap:
                rise[t] = np.inf
            else:
                rise[t] = full - (u[job[t]] - cost[t]) - _piecewise(cap - w, cw, cp, npos)
    return rise


@numba.njit(cache=True, nogil=True)
def _piecewise(c: float, cw: _F, cp: _F, npos: int) -> float:
    """Dantzig's bound within capacity ``c`` from the cumulative efforts ``cw`` and
    profits ``cp`` of the positive items in ratio order."""
    r = np.searchsorted(cw[: npos + 1], c, side="right") - 1
    if r >= npos:
        return float(cp[npos])
    span = cw[r + 1] - cw[r]
    if span <= 0.0:
        return float(cp[r + 1])
    return float(cp[r] + (c - cw[r]) / span * (cp[r + 1] - cp[r]))


def lagrangian_assignment(gap: Gap, k: Knapsacks, x: _F, u: _F) -> _I | None:
    """An assignment built from a relaxed solution ``x`` (per item of ``k``).

    Demands taken by several units keep the one where they cost least less their
    multiplier's worth (ties: lower row); the others go, most constrained first, to
    the option of least cost that still fits. A shift-and-swap descent then improves
    it. ``None`` when some demand fits nowhere.
    """
    assign = _build(gap, k, x, u)
    if np.any(assign < 0):
        return None
    return descend(gap, assign)


def descend(gap: Gap, assign: _I) -> _I:
    """``assign`` improved by shifts (a demand to another unit) and swaps (two demands
    trade units) until none lowers the cost within capacity."""
    table = _options_by_pair(gap)
    out = assign.copy()
    _descent(out, gap.agent, gap.weight, gap.cost, gap.capacity + 1e-9, table)
    return out


def _options_by_pair(gap: Gap) -> _I:
    """The option row of each (demand, unit) pair (-1 where none), flattened."""
    table = np.full(gap.n_jobs * gap.n_agents, -1, dtype=np.int64)
    table[gap.job * gap.n_agents + gap.agent] = np.arange(len(gap.job))
    return table


def _build(gap: Gap, k: Knapsacks, x: _F, u: _F) -> _I:
    table = _options_by_pair(gap)
    assign = np.full(gap.n_jobs, -1, dtype=np.int64)
    ok = _greedy(assign, k.rows, k.job, x, gap.agent, gap.job, gap.weight, gap.cost,
                 gap.capacity + 1e-9, table, gap.n_agents)  # fmt: skip
    if not ok:
        assign[:] = -1
    return assign


@numba.njit(cache=True, nogil=True)
# A compiled kernel takes its arrays one by one (numba: positional numpy arrays).
def _greedy(  # noqa: PLR0913, PLR0917
    assign: _I,
    rows: _I,
    kjob: _I,
    x: _F,
    agent: _I,
    job: _I,
    weight: _F,
    cost: _F,
    capacity: _F,
    table: _I,
    m: int,
) -> bool:
    n = len(assign)
    load = np.zeros(m)
    # Taken whole options first, cheapest first, while they fit.
    order = np.argsort(cost[rows], kind="mergesort")
    for s in order:
        if x[s] < 0.999:
            continue
        r = rows[s]
        j, i = job[r], agent[r]
        if assign[j] < 0 and load[i] + weight[r] <= capacity[i]:
            assign[j] = r
            load[i] += weight[r]
    # The rest: repeatedly the demand with the largest regret (second-cheapest fitting
    # option minus the cheapest), to its cheapest fitting option.
    left = 0
    for j in range(n):
        if assign[j] < 0:
            left += 1
    while left > 0:
        pick, pick_row, pick_regret = -1, -1, -np.inf
        for j in range(n):
            if assign[j] >= 0:
                continue
            b1, b2, br = np.inf, np.inf, -1
            for i in range(m):
                r = table[j * m + i]
                if r < 0 or load[i] + weight[r] > capacity[i]:
                    continue
                c = cost[r]
                if c < b1:
                    b2, b1, br = b1, c, r
                elif c < b2:
                    b2 = c
            if br < 0:
                return False
            regret = b2 - b1
            if regret > pick_regret:
                pick, pick_row, pick_regret = j, br, regret
        assign[pick] = pick_row
        load[agent[pick_row]] += weight[pick_row]
        left -= 1
    return True


@numba.njit(cache=True, nogil=True)
def _descent(
    assign: _I,
    agent: _I,
    weight: _F,
    cost: _F,
    capacity: _F,
    table: _I,
) -> None:
    n = len(assign)
    m = len(capacity)
    load = np.zeros(m)
    for j in range(n):
        load[agent[assign[j]]] += weight[assign[j]]
    improved = True
    while improved:
        improved = False
        for j in range(n):  # shifts
            r = assign[j]
            a = agent[r]
            for i in range(m):
                s = table[j * m + i]
                if s < 0 or i == a or cost[s] >= cost[r] - 1e-12:
                    continue
                if load[i] + weight[s] <= capacity[i]:
                    load[i] += weight[s]
                    load[a] -= weight[r]
                    assign[j] = s
                    r, a = s, i
                    improved = True
        for j in range(n):  # swaps
            for k in range(j + 1, n):
                rj, rl = assign[j], assign[k]
                aj, al = agent[rj], agent[rl]
                if aj == al:
                    continue
                sj, sl = table[j * m + al], table[k * m + aj]
                if sj < 0 or sl < 0:
                    continue
                if cost[sj] + cost[sl] >= cost[rj] + cost[rl] - 1e-12:
                    continue
                if (
                    load[al] - weight[rl] + weight[sj] <= capacity[al]
                    and load[aj] - weight[rj] + weight[sl] <= capacity[aj]
                ):
                    load[al] += weight[sj] - weight[rl]
                    load[aj] += weight[sl] - weight[rj]
                    assign[j], assign[k] = sj, sl
                    improved = True
