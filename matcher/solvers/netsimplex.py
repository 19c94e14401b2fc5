"""Exact min-cost flow by a primal network simplex (numba), with warm start.

This is a port of the primal network simplex of LEMON (``lemon::NetworkSimplex``,
Kiraly and Kovacs, "Efficient implementations of minimum-cost flow algorithms", 2012)
to numba, restricted to what column generation needs: integer capacities and costs,
lower bounds of zero, supplies summing to zero, and the ability to add arcs to a solved
network and continue from the optimal basis instead of starting over.

Algorithm
---------
The basis is a spanning tree of the nodes plus an artificial *root*. It is stored with
LEMON's node-indexed arrays: ``parent``, ``pred`` (the tree arc to the parent),
``pred_dir`` (whether that arc points up to the parent or down from it), ``thread`` (a
preorder walk of the tree, as a cyclic list) and its inverse ``rev_thread``,
``succ_num`` (subtree sizes) and ``last_succ`` (the last node of each subtree in the
thread). With these a pivot touches only the cycle it closes and the subtree it moves,
never the whole tree.

Initial basis: one artificial arc per node, ``u -> root`` with cost 0 for a node with
supply >= 0 and ``root -> u`` with cost ``M`` (big-M) for a demand node, each carrying
``|supply|``. This tree is *strongly feasible* (every node can push flow to the root along
its tree path), and the leaving-arc rule below keeps it so, which rules out cycling
without any Bland-type rule. Artificial arcs are never priced: once one leaves the tree
it stays out at flow 0. With ``M = (n + 1) * max|cost| + 1``, any flow that still uses an
artificial arc costs more than every feasible flow (a cycle through the root costs at
least ``M - (n - 1) * max|cost| > 0``), so artificial flow left at the optimum proves the
supplies infeasible.

Pivot rule (candidate list, LEMON's ``CandidateListPivotRule``): a major iteration
scans the real arcs cyclically, from where the previous scan stopped, until it has
collected ``L`` eligible arcs (or seen them all), and the most negative enters; the
next minor iterations (at most ``0.2 L``) only re-price that list, drop the arcs no
longer eligible and take the most negative of the rest, until the list runs dry. The
default is ``L = max(5, 0.5 * sqrt(m))``. On the planner's column-generation masters it
needs fewer pivots, and cheaper ones, than block search (the most negative arc of the
first block of ``0.1 sqrt(m)`` arcs that has one): the final master of generator scale
0.3 (40,000 nodes, 536,000 arcs) solves cold in 5.8 s instead of 11.6 s, and the whole
column generation at scale 1 spends 130 s in the simplex instead of 146 s. Set
:attr:`NetworkSimplex.list_length` to change ``L``. The leaving arc is
the *last* blocking arc met when walking the cycle from its apex (the join node) in the
direction of the flow change, which is what keeps the tree strongly feasible.

Warm start: new arcs enter as non-basic at flow 0 (their lower bound), so the current
basis stays primal feasible, and the next :meth:`NetworkSimplex.solve` continues
pivoting from it: first pricing only the new arcs (lists of ``0.5 sqrt(k)``) until none is
eligible, then all arcs as usual, which is what proves optimality. If the new arcs raise
``max|cost|``, the cost of the artificial arcs is raised to the new big-M and the
potentials are recomputed from the tree (``O(n)``).

Memory order
------------
Most of a pivot's time goes to shifting the potentials of the subtree it moves, walking
it along the thread: a chain of dependent loads. After many pivots the thread jumps
across the node arrays and each step waits on a cache miss. So the nodes are renumbered
internally in thread order (``O(n + m)``) before each warm solve and every
``max(10000, n / 16)`` pivots: each walk then reads the arrays nearly in sequence, and a
moved subtree keeps its order. Column generation at generator scale 0.3 spent 7.1 s in
the simplex instead of 10.4 s (same pivots), and at scale 1 72 s instead of 178 s (same
harness, same day). The renumbering is invisible to callers:
:meth:`NetworkSimplex.add_arcs` and :attr:`NetworkSimplex.potentials` use the caller's
node ids, and arc ids never change.

Sign convention
---------------
Potentials ``pi`` make every tree arc tight, with ``pi[root] = 0``, and the reduced cost
of an arc ``e = (u, v)`` is ``rc[e] = cost[e] + pi[u] - pi[v]``. At optimality

* ``rc[e] > 0``  implies ``flow[e] == 0``,
* ``rc[e] < 0``  implies ``flow[e] == cap[e]``,
* ``0 < flow[e] < cap[e]`` implies ``rc[e] == 0``,

which, for ``cap[e] > 0``, is the same as "``rc >= 0`` if ``flow == 0``, ``rc <= 0`` if
``flow == cap``". ``-pi`` are the LP duals of the conservation rows in the usual
``c - y_u + y_v`` form; the potentials are exact integers (``int64``).

Limits
------
All arithmetic is ``int64``. Inputs are checked against: ``|cost| <= COST_MAX = 2**31 - 1``,
``0 <= cap <= CAP_MAX = 2**60``, ``|supply| <= CAP_MAX`` and total positive supply
``<= CAP_MAX``. Potentials are then bounded by ``M + (n - 1) * max|cost|`` and reduced
costs by ``(4 n + 3) * max|cost| + 2``; :meth:`NetworkSimplex.solve` checks that this fits in
``int64`` (it does for any ``n < 2**28``). :attr:`NetworkSimplex.optimal_cost` is computed
exactly (split into 31-bit halves) and returned as a Python ``int``; it could only wrap if
``sum(cap * |cost|)`` exceeded ``2**93``. Capacities are finite, so ``"unbounded"`` is never
returned; it is part of the status vocabulary only for API symmetry.
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["CAP_MAX", "COST_MAX", "NetworkSimplex"]

COST_MAX = 2**31 - 1
CAP_MAX = 2**60
_ART_CAP = 2**62  # artificial arcs' capacity: above any flow they carry (<= total supply)
_INT64_MAX = 2**63 - 1

# Arc states, as in LEMON: the sign makes "state * reduced cost < 0" the pricing test.
_STATE_UPPER = -1
_STATE_TREE = 0
_STATE_LOWER = 1
# Direction of a node's tree arc: up = node -> parent, down = parent -> node.
_DIR_UP = 1
_DIR_DOWN = -1

# Candidate list length L = max(_MIN_LIST, _LIST_FACTOR * sqrt(arcs priced)); at most
# _MINOR_FACTOR * L minor iterations per list (LEMON: 0.25 and 0.1; on the planner's
# masters 0.5 and 0.2 were fastest: 5.8 s cold at generator scale 0.3, LEMON's 7.3 s).
_LIST_FACTOR = 0.5
_MIN_LIST = 5
_MINOR_FACTOR = 0.2

# Nodes are renumbered in thread order before each warm solve and every
# max(_MIN_RENUMBER, n // _RENUMBER_DIV) pivots within a solve (module doc, "Memory order").
# Column generation at scale 1 (n = 134,000), simplex seconds: 71.7 with (10000, 16),
# 72.7 with (2000, 16), 78.2 with (10000, 4), 80.5 renumbering only between solves. At
# scales 0.1 and 0.3, (2000, 16) was 3 to 5 % slower than (10000, 4): each renumbering
# costs O(n + m).
_MIN_RENUMBER = 10_000
_RENUMBER_DIV = 16

_STATUS = {0: "optimal", 1: "infeasible", 2: "unbounded"}

_Arcs = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""The arc arrays, indexed by arc (artificial ``0..n-1``, then real): ``src``, ``tgt``,
``cap``, ``cost``, ``flow`` and ``state``."""
_Tree = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""The basis tree's arrays, indexed by node (module doc, "Algorithm"): ``parent``,
``pred``, ``pred_dir``, ``thread``, ``rev_thread``, ``succ_num`` and ``last_succ``."""


@numba.njit(cache=True)
def _init_tree(
    n: int,
    supply: np.ndarray,
    arcs: _Arcs,
    tree: _Tree,
) -> None:
    """Build the initial basis: a star of artificial arcs ``0..n-1`` around the root."""
    src, tgt, cap, cost, flow, state = arcs
    parent, pred, pred_dir, thread, rev_thread, succ_num, last_succ = tree
    root = n
    parent[root] = -1
    pred[root] = -1
    pred_dir[root] = 0
    thread[root] = 0 if n > 0 else root
    rev_thread[0] = root
    succ_num[root] = n + 1
    last_succ[root] = n - 1 if n > 0 else root
    for u in range(n):
        e = u  # the artificial arc of node u has id u
        parent[u] = root
        pred[u] = e
        thread[u] = u + 1
        rev_thread[u + 1] = u
        succ_num[u] = 1
        last_succ[u] = u
        cap[e] = _ART_CAP
        state[e] = _STATE_TREE
        # Supply >= 0 (including 0) points up: a zero-flow arc pointing to the root keeps
        # the tree strongly feasible; a demand node's arc carries positive flow down.
        if supply[u] >= 0:
            pred_dir[u] = _DIR_UP
            src[e] = u
            tgt[e] = root
            flow[e] = supply[u]
            cost[e] = 0
        else:
            pred_dir[u] = _DIR_DOWN
            src[e] = root
            tgt[e] = u
            flow[e] = -supply[u]
            cost[e] = 0  # set to big-M by _set_big_m before each solve


@numba.njit(cache=True)
def _set_big_m(
    n: int,
    big_m: int,
    src: np.ndarray,
    cost: np.ndarray,
    tree: _Tree,
    pi: np.ndarray,
) -> None:
    """Give the root->demand artificial arcs cost ``big_m``; recompute ``pi`` from the tree.

    Recomputing is ``O(n)`` and makes the warm start independent of how ``M`` changed:
    the basis (hence primal feasibility) is untouched, only the duals move.
    """
    parent, pred, pred_dir, thread = tree[:4]
    root = n
    for e in range(n):
        if src[e] == root:
            cost[e] = big_m
    pi[root] = 0
    u = thread[root]
    while u != root:  # preorder: a parent is always set before its children
        e = pred[u]
        if pred_dir[u] == _DIR_UP:
            pi[u] = pi[parent[u]] - cost[e]
        else:
            pi[u] = pi[parent[u]] + cost[e]
        u = thread[u]


# One loop (pricing, join, pivot, tree update) kept in one piece, as LEMON writes it:
# its parts share a dozen scalars, and the one part split out and returned as a tuple
# made the whole solve 7 % slower (6.1 s against 5.7 s on the scale-0.3 master).
@numba.njit(cache=True)
def _simplex(
    n: int,
    n_arcs_total: int,
    arcs: _Arcs,
    tree: _Tree,
    pi: np.ndarray,
    dirty: np.ndarray,
    search_lo: int,
    next_arc: int,
    list_len: int,
    max_pivots: int,
) -> tuple[int, int, int]:
    """Pivot until no arc in ``search_lo..n_arcs_total-1`` prices out.

    Returns ``(status, pivots, next_arc)``. Arcs ``0..n-1`` are artificial (never priced);
    real arcs are ``n..n_arcs_total-1``; ``search_lo >= n``. ``status`` is 0 (no flow left
    on artificial arcs) or 1 (some left: infeasible if ``search_lo == n``).
    """
    src, tgt, cap, cost, flow, state = arcs
    parent, pred, pred_dir, thread, rev_thread, succ_num, last_succ = tree
    first_arc = search_lo
    n_search = n_arcs_total - first_arc
    pivots = 0
    minor_limit = max(3, int(_MINOR_FACTOR * list_len))
    cand = np.empty(list_len, dtype=np.int64)
    n_cand = 0
    minor = 0
    if n_search > 0:
        if next_arc < first_arc or next_arc >= n_arcs_total:
            next_arc = first_arc
        while True:
            # ---- Candidate list: re-price the list (minor iteration) while it lasts,
            # else scan on for a new one (major iteration); the most negative enters.
            # The two loops repeat their few lines on purpose: an inlined helper
            # returning a tuple made the whole solve 7 % slower (6.1 s against 5.7 s on
            # the scale-0.3 master).
            in_arc = -1
            best = 0
            if n_cand > 0 and minor < minor_limit:
                minor += 1
                kept = 0
                for i in range(n_cand):
                    e = cand[i]
                    c = state[e] * (cost[e] + pi[src[e]] - pi[tgt[e]])
                    if c < 0:
                        cand[kept] = e
                        kept += 1
                        if c < best:
                            best = c
                            in_arc = e
                n_cand = kept
            if in_arc < 0:
                minor = 0
                n_cand = 0
                e = next_arc
                scanned = 0
                while scanned < n_search and n_cand < list_len:
                    c = state[e] * (cost[e] + pi[src[e]] - pi[tgt[e]])
                    if c < 0:
                        cand[n_cand] = e
                        n_cand += 1
                        if c < best:
                            best = c
                            in_arc = e
                    e += 1
                    if e == n_arcs_total:
                        e = first_arc
                    scanned += 1
                next_arc = e
            if in_arc < 0:
                break
            pivots += 1
            if pivots > max_pivots:
                pivots -= 1
                break

            # ---- Join node: apex of the cycle closed by in_arc (climb the smaller subtree).
            u = np.int64(src[in_arc])
            v = np.int64(tgt[in_arc])
            while u != v:
                if succ_num[u] < succ_num[v]:
                    u = parent[u]
                else:
                    v = parent[v]
            join = u

            # ---- Leaving arc: the last blocking arc in the cycle's direction from join
            # ('<' on the first side, '<=' on the second) keeps the tree strongly feasible.
            if state[in_arc] == _STATE_LOWER:
                first = np.int64(src[in_arc])
                second = np.int64(tgt[in_arc])
            else:
                first = np.int64(tgt[in_arc])
                second = np.int64(src[in_arc])
            delta = cap[in_arc]
            result = 0
            u_out = np.int64(-1)
            u = first
            while u != join:
                a = pred[u]
                d = flow[a]
                if pred_dir[u] == _DIR_DOWN:
                    d = cap[a] - d
                if d < delta:
                    delta = d
                    u_out = u
                    result = 1
                u = parent[u]
            u = second
            while u != join:
                a = pred[u]
                d = flow[a]
                if pred_dir[u] == _DIR_UP:
                    d = cap[a] - d
                if d <= delta:
                    delta = d
                    u_out = u
                    result = 2
                u = parent[u]
            if result == 1:
                u_in = first
                v_in = second
            else:
                u_in = second
                v_in = first

            # ---- Augment delta around the cycle.
            if delta > 0:
                val = state[in_arc] * delta
                flow[in_arc] += val
                u = np.int64(src[in_arc])
                while u != join:
                    flow[pred[u]] -= pred_dir[u] * val
                    u = parent[u]
                u = np.int64(tgt[in_arc])
                while u != join:
                    flow[pred[u]] += pred_dir[u] * val
                    u = parent[u]

            if result == 0:
                # The entering arc itself blocks: it just moves to its other bound.
                state[in_arc] = -state[in_arc]
                continue
            state[in_arc] = _STATE_TREE
            out_arc = pred[u_out]
            state[out_arc] = _STATE_LOWER if flow[out_arc] == 0 else _STATE_UPPER

            # ---- Update the tree: reroot the stem u_in..u_out under v_in (LEMON's
            # updateTreeStructure, thread/rev_thread/succ_num/last_succ in O(stem + moved)).
            old_rev_thread = rev_thread[u_out]
            old_succ_num = succ_num[u_out]
            old_last_succ = last_succ[u_out]
            v_out = parent[u_out]

            if u_in == u_out:
                parent[u_in] = v_in
                pred[u_in] = in_arc
                pred_dir[u_in] = _DIR_UP if u_in == src[in_arc] else _DIR_DOWN
                if thread[v_in] != u_out:
                    after = thread[old_last_succ]
                    thread[old_rev_thread] = after
                    rev_thread[after] = old_rev_thread
                    after = thread[v_in]
                    thread[v_in] = u_out
                    rev_thread[u_out] = v_in
                    thread[old_last_succ] = after
                    rev_thread[after] = old_last_succ
            else:
                # If old_rev_thread == v_in (then join == v_out), the moved subtree stays
                # where it is in the thread.
                thread_continue = thread[old_last_succ] if old_rev_thread == v_in else thread[v_in]

                stem = u_in
                par_stem = v_in
                last = last_succ[u_in]
                after = thread[last]
                thread[v_in] = u_in
                n_dirty = 0
                dirty[n_dirty] = v_in
                n_dirty += 1
                while stem != u_out:
                    next_stem = parent[stem]
                    thread[last] = next_stem
                    dirty[n_dirty] = last
                    n_dirty += 1
                    before = rev_thread[stem]
                    thread[before] = after
                    rev_thread[after] = before
                    parent[stem] = par_stem
                    par_stem = stem
                    stem = next_stem
                    if last_succ[stem] == last_succ[par_stem]:
                        last = rev_thread[par_stem]
                    else:
                        last = last_succ[stem]
                    after = thread[last]
                parent[u_out] = par_stem
                thread[last] = thread_continue
                rev_thread[thread_continue] = last
                last_succ[u_out] = last

                if old_rev_thread != v_in:
                    thread[old_rev_thread] = after
                    rev_thread[after] = old_rev_thread

                for i in range(n_dirty):
                    w = dirty[i]
                    rev_thread[thread[w]] = w

                # Reverse pred/pred_dir along the stem; fix succ_num and last_succ there.
                tmp_sc = 0
                tmp_ls = last_succ[u_out]
                u = u_out
                p = parent[u]
                while u != u_in:
                    pred[u] = pred[p]
                    pred_dir[u] = -pred_dir[p]
                    tmp_sc += succ_num[u] - succ_num[p]
                    succ_num[u] = tmp_sc
                    last_succ[p] = tmp_ls
                    u = p
                    p = parent[u]
                pred[u_in] = in_arc
                pred_dir[u_in] = _DIR_UP if u_in == src[in_arc] else _DIR_DOWN
                succ_num[u_in] = old_succ_num

            # last_succ from v_in towards the root.
            up_limit_out = join if last_succ[join] == v_in else -1
            last_succ_out = last_succ[u_out]
            u = v_in
            while u != -1 and last_succ[u] == v_in:
                last_succ[u] = last_succ_out
                u = parent[u]
            # last_succ from v_out towards the root.
            if join != old_rev_thread and v_in != old_rev_thread:
                u = v_out
                while u != up_limit_out and last_succ[u] == old_last_succ:
                    last_succ[u] = old_rev_thread
                    u = parent[u]
            elif last_succ_out != old_last_succ:
                u = v_out
                while u != up_limit_out and last_succ[u] == old_last_succ:
                    last_succ[u] = last_succ_out
                    u = parent[u]
            # succ_num from v_in and from v_out up to join.
            u = v_in
            while u != join:
                succ_num[u] += old_succ_num
                u = parent[u]
            u = v_out
            while u != join:
                succ_num[u] -= old_succ_num
                u = parent[u]

            # ---- Potentials: shift the moved subtree so that in_arc becomes tight, or,
            # when that subtree holds most of the tree, the rest the other way (only
            # differences matter; the root is re-zeroed once at the end).
            sigma = pi[v_in] - pi[u_in] - pred_dir[u_in] * cost[in_arc]
            end = thread[last_succ[u_in]]
            if 2 * succ_num[u_in] <= n + 1:
                u = u_in
                while u != end:
                    pi[u] += sigma
                    u = thread[u]
            else:
                u = end
                while u != u_in:
                    pi[u] -= sigma
                    u = thread[u]

    shift = pi[n]
    if shift != 0:
        for w in range(n + 1):
            pi[w] -= shift

    status = 0
    for a in range(n):
        if flow[a] != 0:
            status = 1
            break
    return status, pivots, next_arc


@numba.njit(cache=True)
def _renumber(
    n: int,
    n_arcs_total: int,
    src: np.ndarray,
    tgt: np.ndarray,
    tree: _Tree,
    pi: np.ndarray,
    supply: np.ndarray,
) -> np.ndarray:
    """Renumber the nodes in thread (preorder) order, the root staying ``n``.

    Returns ``new_of`` (old id -> new id). A pivot's potential update walks the moved
    subtree along the thread; in thread order that walk reads memory nearly in sequence
    instead of jumping across the node arrays (see :meth:`NetworkSimplex._renumber`).
    """
    parent, pred, pred_dir, thread, rev_thread, succ_num, last_succ = tree
    root = n
    new_of = np.empty(n + 1, dtype=np.int64)
    new_of[root] = root
    u = thread[root]
    k = 0
    while u != root:
        new_of[u] = k
        k += 1
        u = thread[u]
    old_parent = parent.copy()
    old_pred = pred.copy()
    old_dir = pred_dir.copy()
    old_thread = thread.copy()
    old_rev = rev_thread.copy()
    old_succ = succ_num.copy()
    old_last = last_succ.copy()
    old_pi = pi.copy()
    old_supply = supply.copy()
    for u in range(n + 1):
        w = new_of[u]
        p = old_parent[u]
        parent[w] = new_of[p] if p >= 0 else -1
        pred[w] = old_pred[u]
        pred_dir[w] = old_dir[u]
        thread[w] = new_of[old_thread[u]]
        rev_thread[w] = new_of[old_rev[u]]
        succ_num[w] = old_succ[u]
        last_succ[w] = new_of[old_last[u]]
        pi[w] = old_pi[u]
        if u < n:
            supply[w] = old_supply[u]
    for e in range(n_arcs_total):
        src[e] = new_of[src[e]]
        tgt[e] = new_of[tgt[e]]
    return new_of


@numba.njit(cache=True)
def _exact_cost(flow: np.ndarray, cost: np.ndarray, lo: int, hi: int) -> tuple[int, int]:
    """``sum(flow * cost)`` over ``lo..hi-1`` as ``(h, l)`` with value ``h * 2**31 + l``.

    ``flow < 2**61`` is split into 31-bit halves so each product fits ``int64``
    (``|cost| < 2**31``); the low accumulator is renormalised after every term.
    """
    mask = (1 << 31) - 1
    acc_h = 0
    acc_l = 0
    for e in range(lo, hi):
        f = flow[e]
        if f == 0:
            continue
        c = cost[e]
        acc_l += (f & mask) * c
        acc_h += (f >> 31) * c + (acc_l >> 31)
        acc_l &= mask
    return acc_h, acc_l


def _as_int64(name: str, a: object) -> np.ndarray:
    arr = np.asarray(a)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must have an integer dtype, got {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=np.int64)


class NetworkSimplex:
    """Min-cost flow ``min sum(cost * flow)`` s.t. conservation and ``0 <= flow <= cap``.

    Node ``u`` has ``supply[u]`` (positive: source, negative: sink); the flow out of
    ``u`` minus the flow into it must equal ``supply[u]``. See the module docstring for
    the algorithm, the sign convention of :attr:`potentials` and the numeric limits.

    Parameters
    ----------
    n_nodes
        Number of nodes, numbered ``0..n_nodes-1``.
    supplies
        ``int64`` array of length ``n_nodes`` summing to zero.

    Examples
    --------
    >>> ns = NetworkSimplex(3, np.array([2, 0, -2]))
    >>> ids = ns.add_arcs(np.array([0, 1, 0]), np.array([1, 2, 2]),
    ...                   np.array([2, 2, 1]), np.array([1, 1, 3]))
    >>> ns.solve(), ns.optimal_cost, ns.flows.tolist()
    ('optimal', 4, [2, 2, 0])
    """

    def __init__(self, n_nodes: int, supplies: np.ndarray) -> None:
        n = int(n_nodes)
        if n < 0:
            raise ValueError("n_nodes must be >= 0")
        if n >= 2**28:
            raise ValueError("n_nodes must be < 2**28")
        sup = _as_int64("supplies", supplies)
        if sup.shape != (n,):
            raise ValueError(f"supplies must have length n_nodes={n}, got {sup.shape}")
        if n and int(np.abs(sup).max()) > CAP_MAX:
            raise ValueError(f"|supply| must be <= CAP_MAX={CAP_MAX}")
        # Exact sums without int64 overflow: split into 30-bit halves.
        total = _exact_sum(sup)
        if total != 0:
            raise ValueError(f"supplies must sum to 0, got {total}")
        if _exact_sum(np.maximum(sup, 0)) > CAP_MAX:
            raise ValueError(f"total positive supply must be <= CAP_MAX={CAP_MAX}")
        self._n = n
        self._m = 0  # real arcs; real arc id k is stored at index n + k
        self._supply = sup.copy()
        alloc = max(n + 16, 2 * n)
        self._src = np.zeros(alloc, dtype=np.int32)
        self._tgt = np.zeros(alloc, dtype=np.int32)
        self._cap = np.zeros(alloc, dtype=np.int64)
        self._cost = np.zeros(alloc, dtype=np.int64)
        self._flow = np.zeros(alloc, dtype=np.int64)
        self._state = np.zeros(alloc, dtype=np.int8)
        self._parent = np.zeros(n + 1, dtype=np.int32)
        self._pred = np.zeros(n + 1, dtype=np.int32)
        self._pred_dir = np.zeros(n + 1, dtype=np.int8)
        self._thread = np.zeros(n + 1, dtype=np.int32)
        self._rev_thread = np.zeros(n + 1, dtype=np.int32)
        self._succ_num = np.zeros(n + 1, dtype=np.int32)
        self._last_succ = np.zeros(n + 1, dtype=np.int32)
        self._pi = np.zeros(n + 1, dtype=np.int64)
        self._dirty = np.zeros(n + 2, dtype=np.int32)
        _init_tree(
            n,
            self._supply,
            self._arcs(),
            self._tree(),
        )
        self._int_of = np.arange(n, dtype=np.int64)  # caller's node id -> internal id
        self._max_abs_cost = 0
        self._big_m = -1
        self._next_arc = n
        self._new_lo: int | None = None
        self._solved = False
        self._status: str | None = None
        self.pivots = 0
        """Number of pivots of the last :meth:`solve` (degenerate ones included)."""
        self.renumber_every: int | None = None
        """Pivots between renumberings; ``None``: ``max(_MIN_RENUMBER, n // _RENUMBER_DIV)``."""
        self.list_length: int | None = None
        """Candidate list length; ``None``: ``max(5, 0.5 * sqrt(arcs priced))`` (module doc)."""

    def _arcs(self) -> _Arcs:
        return self._src, self._tgt, self._cap, self._cost, self._flow, self._state

    def _tree(self) -> _Tree:
        return (
            self._parent,
            self._pred,
            self._pred_dir,
            self._thread,
            self._rev_thread,
            self._succ_num,
            self._last_succ,
        )

    # ------------------------------------------------------------------ building
    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return self._n

    @property
    def n_arcs(self) -> int:
        """Number of (real) arcs added so far."""
        return self._m

    def _reserve(self, need: int) -> None:
        """Grow arc storage to hold ``need`` entries, by half again (amortised O(1) per
        arc; doubling left up to half of 33 bytes an arc unused, 170 MiB at scale 5)."""
        alloc = self._src.shape[0]
        if need <= alloc:
            return
        new = max(need, alloc + alloc // 2)
        for name in ("_src", "_tgt", "_cap", "_cost", "_flow", "_state"):
            old = getattr(self, name)
            arr = np.zeros(new, dtype=old.dtype)
            arr[:alloc] = old
            setattr(self, name, arr)

    def add_arcs(
        self, tails: np.ndarray, heads: np.ndarray, capacities: np.ndarray, costs: np.ndarray
    ) -> np.ndarray:
        """Add arcs ``tails[i] -> heads[i]``; they start non-basic at flow 0.

        Parameters
        ----------
        tails, heads
            Node ids in ``0..n_nodes-1``.
        capacities
            ``0 <= cap <= CAP_MAX``.
        costs
            ``|cost| <= COST_MAX``; may be negative.

        Returns
        -------
        numpy.ndarray
            The new arcs' ids (``int64``, consecutive, continuing from previous calls).
        """
        t = _as_int64("tails", tails)
        h = _as_int64("heads", heads)
        cp = _as_int64("capacities", capacities)
        co = _as_int64("costs", costs)
        k = t.shape[0]
        if not (h.shape[0] == cp.shape[0] == co.shape[0] == k):
            raise ValueError("tails, heads, capacities and costs must have the same length")
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        n = self._n
        if t.min() < 0 or t.max() >= n or h.min() < 0 or h.max() >= n:
            raise ValueError(f"node ids must be in 0..{n - 1}")
        if cp.min() < 0 or cp.max() > CAP_MAX:
            raise ValueError(f"capacities must be in 0..CAP_MAX={CAP_MAX}")
        max_abs = max(int(co.max()), -int(co.min()))
        if max_abs > COST_MAX:
            raise ValueError(f"|cost| must be <= COST_MAX={COST_MAX}")
        lo = n + self._m
        if lo + k >= 2**31:
            raise ValueError("at most 2**31 - 1 - n_nodes arcs are supported (int32 ids)")
        self._reserve(lo + k)
        self._src[lo : lo + k] = self._int_of[t]
        self._tgt[lo : lo + k] = self._int_of[h]
        self._cap[lo : lo + k] = cp
        self._cost[lo : lo + k] = co
        self._flow[lo : lo + k] = 0
        self._state[lo : lo + k] = _STATE_LOWER
        ids = np.arange(self._m, self._m + k, dtype=np.int64)
        if self._solved and self._new_lo is None:
            self._new_lo = lo  # the next solve prices these first (warm start)
        self._m += k
        self._max_abs_cost = max(self._max_abs_cost, max_abs)
        self._status = None
        return ids

    # ------------------------------------------------------------------ solving
    def solve(self) -> str:
        """Optimise from the current basis (cold on the first call, warm afterwards).

        Returns
        -------
        str
            ``"optimal"``, or ``"infeasible"`` when the supplies cannot be routed (flow
            is left on artificial arcs; :attr:`flows` then shows a best partial routing
            under the big-M penalty). ``"unbounded"`` cannot occur (capacities are finite).
        """
        n = self._n
        if self._solved:
            self._renumber()
        self._raise_big_m()
        total = n + self._m
        pivots = 0
        if self._new_lo is not None and self._new_lo < total:
            # Warm start, phase 1: price only the arcs added since the last solve (they
            # hold nearly all the eligible arcs), so pivots do not scan the whole network
            # looking for them. Phase 2 below then prices everything and proves optimality.
            k = total - self._new_lo
            _, pivots, _ = self._run(self._new_lo, self._new_lo, self._list_len(k))
        self._new_lo = None
        code, more, next_arc = self._run(n, self._next_arc, self._list_len(self._m))
        pivots += more
        self._next_arc = int(next_arc)
        self.pivots = int(pivots)
        self._status = _STATUS[int(code)]
        self._solved = True
        return self._status

    def solve_within(self, ranges: list[tuple[int, int]]) -> str:
        """Optimise pricing only the real arcs whose ids lie in the ``[lo, hi)`` ranges.

        The other arcs keep their flow and state but are never priced: the result is
        optimal for the network of the ranges' arcs and the tree's, with every other arc
        held at its bound (flow 0 for one at its lower bound, as if absent). A column
        generation that prices only its newest arcs this way saves scanning the old ones,
        but an old arc whose reduced cost turns negative must then come back through its
        own pricing: the planner's (:mod:`matcher.solvers.columns`) uses :meth:`solve`,
        which took 12 rounds at generator scale 1 where this took 63.

        Returns
        -------
        str
            As :meth:`solve`.
        """
        n = self._n
        if self._solved:
            self._renumber()
        self._raise_big_m()
        pivots = 0
        code = 0
        while True:
            moved = 0
            for lo, hi in ranges:
                lo, hi = max(0, lo), min(hi, self._m)
                if hi <= lo:
                    continue
                code, more, _ = self._run(n + lo, n + lo, self._list_len(hi - lo), n + hi)
                moved += more
            pivots += moved
            if moved == 0:
                break
        self._new_lo = None
        self.pivots = int(pivots)
        self._status = _STATUS[int(code)]
        self._solved = True
        return self._status

    def _renumber(self) -> None:
        """Renumber the nodes internally in the order of the tree's thread (module doc)."""
        new_of = _renumber(
            self._n,
            self._n + self._m,
            self._src,
            self._tgt,
            self._tree(),
            self._pi,
            self._supply,
        )
        self._int_of = new_of[self._int_of]

    def _raise_big_m(self) -> None:
        """Raise the artificial arcs' cost to the big-M of the costs added so far."""
        n = self._n
        c_max = max(1, self._max_abs_cost)
        # |pi| <= M + (n - 1) c_max; |reduced cost| <= c_max + 2 max|pi|; keep headroom.
        if (4 * n + 4) * c_max + 2 > _INT64_MAX // 2:
            raise OverflowError("costs too large for int64 potentials with this many nodes")
        self._big_m = max(self._big_m, (n + 1) * c_max + 1)
        _set_big_m(
            n,
            self._big_m,
            self._src,
            self._cost,
            self._tree(),
            self._pi,
        )

    def _run(
        self, search_lo: int, next_arc: int, list_len: int, hi: int | None = None
    ) -> tuple[int, int, int]:
        """Pivot as :func:`_simplex` does, renumbering the nodes every so many pivots."""
        every = self.renumber_every or max(_MIN_RENUMBER, self._n // _RENUMBER_DIV)
        pivots = 0
        while True:
            code, more, next_arc = self._pivot(search_lo, next_arc, list_len, hi, every)
            pivots += more
            if more < every:
                return code, pivots, next_arc
            self._renumber()

    def _list_len(self, priced: int) -> int:
        return self.list_length or max(_MIN_LIST, int(_LIST_FACTOR * np.sqrt(priced)))

    def _pivot(
        self,
        search_lo: int,
        next_arc: int,
        list_len: int,
        hi: int | None = None,
        max_pivots: int = 2**62,
    ) -> tuple[int, int, int]:
        return _simplex(
            self._n,
            self._n + self._m if hi is None else hi,
            self._arcs(),
            self._tree(),
            self._pi,
            self._dirty,
            search_lo,
            next_arc,
            list_len,
            max_pivots,
        )

    @property
    def status(self) -> str | None:
        """Result of the last :meth:`solve`; ``None`` if arcs were added since."""
        return self._status

    @property
    def flows(self) -> np.ndarray:
        """Flow on each arc id (``int64`` copy)."""
        n = self._n
        return self._flow[n : n + self._m].copy()

    @property
    def potentials(self) -> np.ndarray:
        """Node potentials ``pi`` (``int64`` copy): ``cost + pi[tail] - pi[head]`` is the
        reduced cost; see the module docstring for the optimality conditions."""
        return self._pi[self._int_of]

    @property
    def optimal_cost(self) -> int:
        """``sum(cost * flow)`` over the arcs, exactly, as a Python ``int``."""
        n = self._n
        h, lo = _exact_cost(self._flow, self._cost, n, n + self._m)
        return (int(h) << 31) + int(lo)

    def _check_tree(self) -> None:
        """Assert the basis structures are consistent (for tests; ``O(n + m)``)."""
        n = self._n
        root = n
        parent, thread = self._parent, self._thread
        order = []
        u = root
        for _ in range(n + 1):
            order.append(u)
            u = int(thread[u])
        assert u == root and sorted(order) == list(range(n + 1)), "thread is not a cycle"
        pos = {v: i for i, v in enumerate(order)}
        for v in range(n + 1):
            assert self._rev_thread[thread[v]] == v
        size = np.ones(n + 1, dtype=np.int64)
        for v in reversed(order[1:]):
            p = int(parent[v])
            assert pos[p] < pos[v], "parent after child in thread"
            size[p] += size[v]
            e = int(self._pred[v])
            assert self._state[e] == _STATE_TREE
            if self._pred_dir[v] == _DIR_UP:
                assert (self._src[e], self._tgt[e]) == (v, p)
                assert self._cost[e] + self._pi[v] - self._pi[p] == 0
            else:
                assert (self._src[e], self._tgt[e]) == (p, v)
                assert self._cost[e] + self._pi[p] - self._pi[v] == 0
        assert np.array_equal(size, self._succ_num), "succ_num"
        for v in range(n + 1):
            assert order[pos[v] + size[v] - 1] == self._last_succ[v], "last_succ"
        tree = np.flatnonzero(self._state[: n + self._m] == _STATE_TREE)
        assert tree.shape[0] == n, "basis must have n arcs"


def _exact_sum(a: np.ndarray) -> int:
    """Exact ``sum(a)`` of ``int64`` values with ``|a| <= 2**60`` (30-bit halves)."""
    hi = a >> 30
    lo = a & ((1 << 30) - 1)
    return (int(hi.sum()) << 30) + int(lo.sum())
