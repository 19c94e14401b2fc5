"""The residual network of an optimal flow and its longest paths to the sink
(:func:`residual_network`), and the hour moves along one of them (:func:`path_moves`).

With the residual network of the plan's flow (the flow solver's integer costs,
:func:`solver_costs`), ``value[n]`` is the most that one more unit arriving at node ``n``
can add on its way to the sink (a longest path; the flow being optimal, the network has
no cycle that adds value). These are the duals of the right-hand side taken as a right
derivative, the only ones that equal the gain of a whole extra hour when the LP is
degenerate (plain LP duals need not). :mod:`matcher.analysis.explain.marginal` reads
marginal values from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numba
import numpy as np
import numpy.typing as npt
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import breadth_first_order

from matcher.model.arcs import Problem
from matcher.solvers.flow import useful_arcs

_Ints = npt.NDArray[np.int64]
_Floats = npt.NDArray[np.float64]

NEG = np.int64(-(2**62))  # "cannot reach the sink"
UNREACHABLE = -(2**61)


@dataclass(frozen=True)
class Residual:
    """The residual network of an optimal flow and its longest paths to the sink.

    Nodes: suppliers ``0..S-1``, demands ``S..S+D-1``, source ``S+D``, sink ``S+D+1``.
    ``value[n]`` (solver units, exact integers) is the most one more unit at ``n`` adds on
    its way to the sink; ``true[n]`` the same path's gain in unrounded scores; ``succ[n]``
    and ``succ_arc[n]`` the next node and residual arc on that path (-1: none).
    """

    n_sup: int
    tail: _Ints
    head: _Ints
    orig: _Ints  # the candidate arc a residual arc stands for, or -1
    sign: npt.NDArray[np.int8]  # +1 forward (one hour more), -1 backward (one hour less)
    value: _Ints
    true: _Floats
    succ: _Ints
    succ_arc: _Ints


@dataclass(frozen=True)
class _Arcs:
    """Residual arcs sorted by tail: solver value ``val`` and unrounded ``true`` gain."""

    tail: _Ints
    head: _Ints
    val: _Ints
    true: _Floats
    orig: _Ints
    sign: npt.NDArray[np.int8]


def solver_costs(problem: Problem) -> _Ints:
    """The flow solver's integer cost of one hour on each arc (see ``solve_flow``)."""
    scaled = np.rint(problem.arcs.weight * problem.params.cost_scale)
    return np.maximum(scaled, 1.0).astype(np.int64)


def residual_network(problem: Problem, flow: _Ints) -> Residual | None:
    """Longest paths to the sink in the residual network; ``None`` if ``flow`` is not
    optimal for the solver's integer costs (some cycle would add value)."""
    n_s, n_d = len(problem.suppliers), len(problem.demand_ids)
    src, snk = n_s + n_d, n_s + n_d + 1
    n = n_s + n_d + 2
    covered = np.bincount(problem.arcs.demand, weights=flow, minlength=n_d).astype(np.int64)
    arcs = _residual_arcs(problem, flow, covered)
    value = _longest_values(n, snk, arcs)
    if value is None:
        return None
    # Cycles through the sink: an extra unit at the source, or at a demand that gets
    # hours, must not add value (else the hours it displaces were worth moving).
    if value[src] > 0 or (value[n_s : n_s + n_d][covered > 0] > 0).any():
        return None
    succ, succ_arc, true_value = _path_tree(n, snk, arcs, value)
    return Residual(
        n_s, arcs.tail, arcs.head, arcs.orig, arcs.sign, value, true_value, succ, succ_arc
    )


def _residual_arcs(problem: Problem, flow: _Ints, covered: _Ints) -> _Arcs:
    """Every residual arc: an hour more on a useful arc, an hour less on a busy one, the
    source into suppliers with hours to spare and back from those giving hours, demands
    not fully met into the sink, and the source straight to the sink."""
    a = problem.arcs
    n_s, n_d = len(problem.suppliers), len(problem.demand_ids)
    src, snk = n_s + n_d, n_s + n_d + 1
    cost = solver_costs(problem)
    useful = np.flatnonzero(useful_arcs(problem))
    busy = np.flatnonzero(flow > 0)
    sup_used = np.bincount(a.supplier, weights=flow, minlength=n_s).astype(np.int64)
    spare_s = np.flatnonzero(sup_used < problem.suppliers.hours)
    used_s = np.flatnonzero(sup_used > 0)
    open_d = np.flatnonzero(covered < problem.demand_hours)
    i64 = np.int64
    cols: list[list[np.ndarray]] = [[], [], [], [], [], []]

    def add(tl: Any, hd: Any, v: Any, tr: Any, o: Any, sg: int) -> None:
        tl = np.asarray(tl, i64)
        k = len(tl)
        for col, x, dt in zip(
            cols, (tl, hd, v, tr, o, sg), (i64, i64, i64, float, i64, np.int8), strict=True
        ):
            col.append(np.broadcast_to(np.asarray(x, dtype=dt), k))

    add(a.supplier[useful], n_s + a.demand[useful], cost[useful], a.weight[useful], useful, 1)
    add(n_s + a.demand[busy], a.supplier[busy], -cost[busy], -a.weight[busy], busy, -1)
    add(np.full(len(spare_s), src), spare_s, 0, 0.0, -1, 0)
    add(used_s, np.full(len(used_s), src), 0, 0.0, -1, 0)
    add(n_s + open_d, np.full(len(open_d), snk), 0, 0.0, -1, 0)
    add([src], [snk], 0, 0.0, -1, 0)
    tail, head, val, true, orig, sign = (np.concatenate(col) for col in cols)
    order = np.argsort(tail, kind="stable")
    return _Arcs(tail[order], head[order], val[order], true[order], orig[order], sign[order])


def _longest_values(n: int, snk: int, arcs: _Arcs) -> _Ints | None:
    """Longest paths to the sink, by label correction from the sink (compiled): exact
    integers, the same values as Bellman-Ford's rounds, whose n rounds over every arc
    grew with the square of the city (10 s of 18 at generator scale 0.3). ``None`` when
    a path of n arcs proves a cycle that adds value: the flow is not optimal."""
    by_head = np.argsort(arcs.head, kind="stable")
    head_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(arcs.head, minlength=n), out=head_ptr[1:])
    value = np.full(n, NEG, dtype=np.int64)
    value[snk] = 0
    if not _longest_to_sink(n, snk, head_ptr, arcs.tail[by_head], arcs.val[by_head], value):
        return None
    return value


def _path_tree(n: int, snk: int, arcs: _Arcs, value: _Ints) -> tuple[_Ints, _Ints, _Floats]:
    """The path behind each value: tight arcs, walked from the sink (fewest arcs first).
    Returns each node's next node and residual arc on its path (-1: none), and the path's
    gain in unrounded scores (``-inf`` for a node that cannot reach the sink)."""
    tail, head = arcs.tail, arcs.head
    reach = value[head] > UNREACHABLE
    tight = np.flatnonzero(
        reach & (arcs.val + value[head] == value[tail]) & (value[tail] > UNREACHABLE)
    )
    back = csr_matrix(
        (np.ones(len(tight)), (head[tight], tail[tight])), shape=(n, n)
    )  # the tight arcs reversed
    visit, pred = breadth_first_order(back, snk, directed=True, return_predecessors=True)
    succ = np.where(pred >= 0, pred, -1).astype(np.int64)
    key = tail[tight] * n + head[tight]
    korder = np.argsort(key)
    succ_arc = np.full(n, -1, dtype=np.int64)
    nodes = np.flatnonzero(succ >= 0)
    at = np.searchsorted(key[korder], nodes * n + succ[nodes])
    succ_arc[nodes] = tight[korder[at]]
    true_value = np.full(n, -np.inf)
    true_value[snk] = 0.0
    for u in visit[1:].tolist():
        true_value[u] = arcs.true[succ_arc[u]] + true_value[succ[u]]
    return succ, succ_arc, true_value


@numba.njit(cache=True)
def _longest_to_sink(
    n: int, snk: int, head_ptr: np.ndarray, tail: np.ndarray, val: np.ndarray, value: np.ndarray
) -> bool:
    """Longest paths to ``snk`` into ``value`` (given ``NEG`` but at ``snk``), over the
    arcs grouped by head (``head_ptr``, their ``tail`` and ``val``): a queue of nodes
    whose value rose, whose arcs in are relaxed in turn. ``False`` when a path of ``n``
    arcs arises: only a cycle that adds value makes one (its nodes' values keep rising)."""
    arcs = np.zeros(n, dtype=np.int64)  # arcs of the path behind each value
    queued = np.zeros(n, dtype=np.bool_)
    queue = np.empty(n + 1, dtype=np.int64)
    first, last, size = 0, 1, 1
    queue[0] = snk
    queued[snk] = True
    while size > 0:
        v = queue[first]
        first = (first + 1) % (n + 1)
        size -= 1
        queued[v] = False
        base = value[v]
        for k in range(head_ptr[v], head_ptr[v + 1]):
            u = tail[k]
            if u == snk:
                continue
            cand = val[k] + base
            if cand > value[u]:
                value[u] = cand
                arcs[u] = arcs[v] + 1
                if arcs[u] >= n:
                    return False
                if not queued[u]:
                    queued[u] = True
                    queue[last] = u
                    last = (last + 1) % (n + 1)
                    size += 1
    return True


def path_moves(
    problem: Problem, res: Residual, start_arc: int, named: list[int] | None = None
) -> tuple[list[str], int]:
    """The hour moves of one more hour on ``start_arc`` and the demand that gains (-1);
    the demands the moves name are appended to ``named`` when given."""
    s, a = problem.suppliers, problem.arcs
    moves = [f"+1 {s.ids[a.supplier[start_arc]]}->{problem.demand_ids[a.demand[start_arc]]}"]
    if named is not None:
        named.append(int(a.demand[start_arc]))
    node = res.n_sup + int(a.demand[start_arc])
    gaining = -1
    n_d = len(problem.demand_ids)
    while res.succ[node] >= 0:
        e = int(res.succ_arc[node])
        nxt = int(res.succ[node])
        if res.orig[e] >= 0:
            o = int(res.orig[e])
            sign = "+1" if res.sign[e] > 0 else "-1"
            moves.append(f"{sign} {s.ids[a.supplier[o]]}->{problem.demand_ids[a.demand[o]]}")
            if named is not None:
                named.append(int(a.demand[o]))
        if nxt == res.n_sup + n_d + 1 and res.n_sup <= node < res.n_sup + n_d:
            gaining = node - res.n_sup
        node = nxt
    return moves, gaining


__all__: Sequence[str] = (
    "NEG",
    "UNREACHABLE",
    "Residual",
    "path_moves",
    "residual_network",
    "solver_costs",
)
