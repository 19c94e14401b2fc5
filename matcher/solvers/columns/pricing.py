"""Pricing: the implicit arcs whose reduced cost is negative at the master's potentials.

The restricted network's node potentials price every implicit arc in compiled loops over
each site's communities within reach (:func:`~matcher.solvers.columns.reach.near_communities`):
a community is skipped when its distance already shows no arc there can have a negative
reduced cost. Pricing runs on ``params.workers`` threads over
:data:`~matcher.solvers.columns.parallel.PARTS` fixed parts of the sites (and of the
classes); each part keeps its own lists per cell, folded together in part order, so the
columns do not depend on the number of threads. The most negative arcs of each group,
class and cell enter the master.

Costs are integers: an hour's score times ``cost_scale``, negated, and at least 1 in
magnitude (see :func:`_cost`).

>>> rc, head, cost = top(2, 3)
>>> rc.shape, int(head.max())
((2, 3), -1)
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from matcher.params import PlanParams
from matcher.solvers.columns.network import Network
from matcher.solvers.columns.parallel import PARTS, parts, threads
from matcher.solvers.columns.restricted import Layout

__all__ = ["Pricing", "merge_parts", "price_groups", "price_ties", "taken", "top"]

_I = np.int64
_Ints = npt.NDArray[np.int64]
_Lists = tuple[_Ints, _Ints, _Ints]
"""Per row, the best arcs kept: their reduced costs, heads (-1: none) and costs."""


# --------------------------------------------------------------------------- kernels
@numba.njit(cache=True, inline="always")
def _cost(w: float, scale: float) -> int:
    """The integer cost of an hour of score ``w``: negated, and at least 1 in magnitude."""
    cost = int(np.rint(w * scale))
    return -max(cost, 1)


@numba.njit(cache=True, inline="always")
def _keep(
    top_rc: np.ndarray,
    top_head: np.ndarray,
    top_cost: np.ndarray,
    row: int,
    rc: int,
    head: int,
    cost: int,
) -> None:
    """Keep the ``m`` most negative reduced costs of a row (no duplicate heads)."""
    m = top_rc.shape[1]
    worst = 0
    for j in range(m):
        if top_head[row, j] == head:
            return
        if top_rc[row, j] > top_rc[row, worst]:
            worst = j
    if rc < top_rc[row, worst]:
        top_rc[row, worst] = rc
        top_head[row, worst] = head
        top_cost[row, worst] = cost


@numba.njit(cache=True, parallel=True)
def price_groups(
    part_ptr: np.ndarray,
    site_group_ptr: np.ndarray,
    group_cat: np.ndarray,
    pi_group: np.ndarray,
    near_ptr: np.ndarray,
    near_comm: np.ndarray,
    near_km: np.ndarray,
    n_cat: int,
    kg_cell_ptr: np.ndarray,
    kg_cells: np.ndarray,
    cell_prio: np.ndarray,
    pi_cell: np.ndarray,
    a_kg: np.ndarray,
    a_comm: np.ndarray,
    pw: float,
    tc: float,
    scale: float,
    top_rc: np.ndarray,
    top_head: np.ndarray,
    top_cost: np.ndarray,
    cell_rc: np.ndarray,
    cell_head: np.ndarray,
    cell_cost: np.ndarray,
) -> None:
    """Price every group -> cell arc; keep the most negative per group and per cell.

    The sites are priced in parallel, in the parts ``part_ptr`` bounds. A group belongs
    to one site, so parts write disjoint rows of the groups' lists; each part keeps its
    own lists per cell (``cell_*[part]``), folded together by :func:`merge_parts`.

    Reduced cost ``cost + pi_group - pi_cell``. ``a_kg`` is, per (community, category),
    the largest ``pw * prio * scale + pi_cell`` of its cells (``a_comm``: over a
    community's categories); a pair can only price negative when
    ``pi_group + tc * scale * km < a_kg + 1``.
    """
    cs = tc * scale
    for part in numba.prange(len(part_ptr) - 1):
        e_rc, e_head, e_cost = cell_rc[part], cell_head[part], cell_cost[part]
        for site in range(part_ptr[part], part_ptr[part + 1]):
            g_lo, g_hi = site_group_ptr[site], site_group_ptr[site + 1]
            if g_lo == g_hi:
                continue
            pmin = pi_group[g_lo]
            for group in range(g_lo, g_hi):
                pmin = min(pmin, pi_group[group])
            for j in range(near_ptr[site], near_ptr[site + 1]):
                comm = near_comm[j]
                km = near_km[j]
                if pmin + cs * km >= a_comm[comm] + 1.0:
                    continue
                for group in range(g_lo, g_hi):
                    kg = comm * n_cat + group_cat[group]
                    if pi_group[group] + cs * km >= a_kg[kg] + 1.0:
                        continue
                    for q in range(kg_cell_ptr[kg], kg_cell_ptr[kg + 1]):
                        cell = kg_cells[q]
                        w = pw * cell_prio[cell] - tc * km
                        if w <= 0:
                            continue
                        cost = _cost(w, scale)
                        rc = cost + pi_group[group] - pi_cell[cell]
                        if rc < 0:
                            _keep(top_rc, top_head, top_cost, group, rc, cell, cost)
                            if e_rc.shape[1]:
                                _keep(e_rc, e_head, e_cost, cell, rc, group, cost)


@numba.njit(cache=True, parallel=True)
def price_ties(
    part_ptr: np.ndarray,
    tie_ptr: np.ndarray,
    tie_comm: np.ndarray,
    tie_km: np.ndarray,
    class_skill_ptr: np.ndarray,
    class_skill_cat: np.ndarray,
    pi_class: np.ndarray,
    n_cat: int,
    kg_cell_ptr: np.ndarray,
    kg_cells: np.ndarray,
    cell_prio: np.ndarray,
    pi_cell: np.ndarray,
    a_kg: np.ndarray,
    pw: float,
    tc: float,
    scale: float,
    top_rc: np.ndarray,
    top_head: np.ndarray,
    top_cost: np.ndarray,
) -> None:
    """Price every class -> cell arc of a tie beyond the class's radius, the parts of
    the classes that ``part_ptr`` bounds in parallel (they write disjoint rows)."""
    cs = tc * scale
    for part in numba.prange(len(part_ptr) - 1):
        for cls in range(part_ptr[part], part_ptr[part + 1]):
            for t in range(tie_ptr[cls], tie_ptr[cls + 1]):
                comm = tie_comm[t]
                km = tie_km[t]
                for sk in range(class_skill_ptr[cls], class_skill_ptr[cls + 1]):
                    kg = comm * n_cat + class_skill_cat[sk]
                    if pi_class[cls] + cs * km >= a_kg[kg] + 1.0:
                        continue
                    for q in range(kg_cell_ptr[kg], kg_cell_ptr[kg + 1]):
                        cell = kg_cells[q]
                        w = pw * cell_prio[cell] - tc * km
                        if w <= 0:
                            continue
                        cost = _cost(w, scale)
                        rc = cost + pi_class[cls] - pi_cell[cell]
                        if rc < 0:
                            _keep(top_rc, top_head, top_cost, cls, rc, cell, cost)


@numba.njit(cache=True)
def merge_parts(
    part_rc: np.ndarray,
    part_head: np.ndarray,
    part_cost: np.ndarray,
    top_rc: np.ndarray,
    top_head: np.ndarray,
    top_cost: np.ndarray,
) -> None:
    """Fold the parts' lists into one, in part order (deterministic)."""
    for part in range(part_rc.shape[0]):
        for row in range(part_rc.shape[1]):
            for j in range(part_rc.shape[2]):
                if part_head[part, row, j] >= 0:
                    _keep(
                        top_rc,
                        top_head,
                        top_cost,
                        row,
                        part_rc[part, row, j],
                        part_head[part, row, j],
                        part_cost[part, row, j],
                    )


# --------------------------------------------------------------------------- lists
def top(rows: int, m: int, n_parts: int = 0) -> _Lists:
    """Empty lists of the ``m`` best arcs per row (one set per part if ``n_parts``):
    their reduced costs, heads (-1: none) and costs."""
    shape = (n_parts, rows, m) if n_parts else (rows, m)
    return np.zeros(shape, dtype=_I), np.full(shape, -1, dtype=_I), np.zeros(shape, dtype=_I)


def taken(lists: _Lists) -> _Lists:
    """The arcs kept in per-row lists: their rows, heads and costs, by row then head."""
    _rc, head, cost = lists
    row, col = np.nonzero(head >= 0)
    order = np.lexsort((head[row, col], row))
    row, col = row[order], col[order]
    return row.astype(_I), head[row, col], cost[row, col]


# --------------------------------------------------------------------------- rounds
class Pricing:
    """Prices the implicit arcs of ``net`` round after round.

    Each round keeps the ``m`` most negative arcs of each group and class, and besides
    the ``per_cell`` most negative of each cell (from any group), so that cells many
    groups compete for get options of their own.
    """

    def __init__(self, net: Network, lay: Layout, params: PlanParams, per_cell: int) -> None:
        self.net, self.lay, self.per_cell, self.workers = net, lay, per_cell, params.workers
        self.pw, self.tc = params.priority_weight, params.travel_cost_per_km
        self.scale = params.cost_scale
        # Cells only ever gain columns from groups and classes of their category.
        self.cell_a = self.pw * net.cell_prio.astype(np.float64) * self.scale
        self.site_parts = parts(np.diff(net.near_ptr) * np.diff(net.site_group_ptr))
        self.class_parts = parts(np.diff(net.tie_ptr) * np.diff(net.class_skill_ptr))
        # The parts' lists per cell are cleared each round, not made anew: at scale 5 a new
        # set (16 x 100,000 cells) took 0.18 s a round, mostly page faults.
        self.parts_e = top(lay.n_e, per_cell, n_parts=PARTS)

    def round(self, pi: _Ints, m: int) -> tuple[_Lists, _Lists]:
        """The arcs to bring in at potentials ``pi``: ``(tail, head, cost)`` of the group
        (or lone group's class) -> cell arcs, then of the tie arcs; heads are nodes."""
        net, lay = self.net, self.lay
        pi_cell = pi[lay.cell0 : lay.cell0 + lay.n_e]
        a_kg = np.full(len(net.kg_cell_ptr) - 1, -np.inf)
        np.maximum.at(a_kg, net.cell_kg, self.cell_a + pi_cell)
        a_comm = a_kg.reshape(-1, net.n_cat).max(axis=1) if len(a_kg) else np.zeros(0)
        top_g = top(net.n_groups, m)
        top_e = top(lay.n_e, self.per_cell)
        self.parts_e[0].fill(0)  # what _keep reads: rc 0 and no head, as top makes them
        self.parts_e[1].fill(-1)
        with threads(self.workers):
            price_groups(
                self.site_parts,
                net.site_group_ptr,
                net.group_cat,
                pi[lay.group_node],
                net.near_ptr,
                net.near_comm,
                net.near_km,
                net.n_cat,
                net.kg_cell_ptr,
                net.kg_cells,
                net.cell_prio,
                pi_cell,
                a_kg,
                a_comm,
                self.pw,
                self.tc,
                self.scale,
                *top_g,
                *self.parts_e,
            )
            merge_parts(*self.parts_e, *top_e)
            top_c = top(lay.n_c, m)
            price_ties(
                self.class_parts,
                net.tie_ptr,
                net.tie_comm,
                net.tie_km,
                net.class_skill_ptr,
                net.class_skill_cat,
                pi[: lay.n_c],
                net.n_cat,
                net.kg_cell_ptr,
                net.kg_cells,
                net.cell_prio,
                pi_cell,
                a_kg,
                self.pw,
                self.tc,
                self.scale,
                *top_c,
            )
        c_tail, c_head, c_cost = taken(top_c)
        return self._group_arcs(top_g, top_e), (c_tail, lay.cell0 + c_head, c_cost)

    def _group_arcs(self, top_g: _Lists, top_e: _Lists) -> _Lists:
        """The groups' arcs kept, then the cells' that are not among them."""
        lay = self.lay
        n_e = lay.n_e
        g_tail, g_head, g_cost = taken(top_g)
        g_tail = lay.group_node[g_tail]
        if self.per_cell:
            e_cell, e_group, e_cost = taken(top_e)
            e_tail = lay.group_node[e_group]
            fresh = ~np.isin(e_tail * n_e + e_cell, g_tail * n_e + g_head)
            g_tail = np.concatenate((g_tail, e_tail[fresh]))
            g_head = np.concatenate((g_head, e_cell[fresh]))
            g_cost = np.concatenate((g_cost, e_cost[fresh]))
        return g_tail, lay.cell0 + g_head, g_cost
