"""Back from the aggregated flow to suppliers and demands: the plan's compact arcs.

The flow of the network runs between classes and cells. Its hours are handed, in three
"north-west corner" splits (:func:`overlap`), through the shared groups to
``class -> cell`` pieces, then to each class's members in file order (the unused hours
last), then to each cell's demands in file order (the unmet hours last). Each resulting
``(supplier, demand)`` pair is a plain model arc, with the plain model's distance, tie
and score.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from matcher.errors import SolverError
from matcher.i18n import N_, Text
from matcher.model.arcs import Arcs, Problem, TieIndex, hour_score
from matcher.model.geo import haversine_km
from matcher.model.ties import ALLIANCE, PAIRING, PROXIMITY, RESIDENCE
from matcher.solvers.columns.network import Network
from matcher.solvers.columns.restricted import Master
from matcher.solvers.outcomes import ColumnResult

__all__ = ["compact_problem", "disaggregate", "overlap"]

_I = np.int64
_Ints = npt.NDArray[np.int64]
_Pieces = tuple[_Ints, _Ints, _Ints]


def overlap(left: _Ints, right: _Ints) -> _Pieces:
    """Lay two partitions of one line end to end and intersect them.

    ``left`` and ``right`` are piece lengths (``>= 0``) with equal sums. Returns, for
    every stretch where a left piece meets a right piece, ``(left_index, right_index,
    length)`` in line order. This is the "north-west corner" split used to hand a
    class's hours to its members and a cell's hours to its demands.

    Examples
    --------
    >>> left, right, length = overlap(np.array([3, 2]), np.array([1, 4]))
    >>> left.tolist(), right.tolist(), length.tolist()
    ([0, 0, 1], [0, 1, 1], [1, 2, 2])
    """
    lb = np.cumsum(left)
    rb = np.cumsum(right)
    if len(lb) and len(rb) and lb[-1] != rb[-1]:
        raise ValueError(f"partitions differ in length: {lb[-1]} and {rb[-1]}")
    ends = np.union1d(lb, rb)
    ends = ends[ends > 0]
    starts = np.concatenate(([0], ends[:-1]))
    length = ends - starts
    li = np.searchsorted(lb, ends, side="left")
    ri = np.searchsorted(rb, ends, side="left")
    keep = length > 0
    return li[keep].astype(_I), ri[keep].astype(_I), length[keep].astype(_I)


def _class_to_cell(master: Master, flows: _Ints) -> _Pieces:
    """The hours from each class to each cell: ``(class, cell, hours)``, by class and cell.

    Each shared group's inflows (classes) are matched to its outflows (cells); a lone
    group's flows leave its class directly, as a tie's do.
    """
    net, lay = master.net, master.lay
    n_c, n_e = lay.n_c, lay.n_e
    # Per (class, skill) entry, its flow into a shared group.
    f_cg = np.zeros(len(net.class_skill_group), dtype=_I)
    f_cg[lay.sk_arc] = flows[n_c : n_c + len(lay.sk_arc)]
    f_imp = flows[master.n_fixed :]
    on = f_imp > 0
    tail = np.concatenate(master.tail)[on].astype(_I) if master.tail else np.zeros(0, _I)
    head = np.concatenate(master.head)[on] - lay.cell0 if master.head else np.zeros(0, _I)
    head = head.astype(_I)
    f_imp = f_imp[on]
    # Shared groups' nodes are numbered in the order of the groups.
    via_group = tail >= n_c
    sk_owner = net.class_skill_owner
    cg = np.flatnonzero(f_cg > 0)
    cg = cg[np.lexsort((sk_owner[cg], net.class_skill_group[cg]))]
    gt = np.flatnonzero(via_group)
    gt = gt[np.lexsort((head[gt], tail[gt]))]
    li, ri, amount = overlap(f_cg[cg], f_imp[gt])
    pc_class = np.concatenate((sk_owner[cg][li], tail[~via_group]))
    pc_cell = np.concatenate((head[gt][ri], head[~via_group]))
    pc_hours = np.concatenate((amount, f_imp[~via_group]))
    key = pc_class * max(n_e, 1) + pc_cell
    key, inv = np.unique(key, return_inverse=True)
    pc_hours = np.bincount(inv, weights=pc_hours).astype(_I)
    return key // max(n_e, 1), key % max(n_e, 1), pc_hours


def _class_to_members(ix: TieIndex, net: Network, pieces: _Pieces) -> _Pieces:
    """Hand each class's ``(class, cell, hours)`` pieces to its members in file order,
    the unused hours last: ``(supplier, cell, hours)``."""
    pc_class, pc_cell, pc_hours = pieces
    n_c = net.n_classes
    used = np.bincount(pc_class, weights=pc_hours, minlength=n_c).astype(_I)
    spare = net.class_hours - used
    piece_class = np.concatenate((pc_class, np.arange(n_c, dtype=_I)))
    piece_hours = np.concatenate((pc_hours, spare))
    piece_cell = np.concatenate((pc_cell, np.full(n_c, -1, _I)))
    order = np.lexsort((piece_cell < 0, piece_class))
    piece_cell, piece_hours = piece_cell[order], piece_hours[order]
    member_hours = ix.suppliers.hours[net.class_members]
    li, ri, amount = overlap(piece_hours, member_hours)
    real = piece_cell[li] >= 0
    return net.class_members[ri][real], piece_cell[li][real], amount[real]


def _cell_to_demands(ix: TieIndex, net: Network, pieces: _Pieces) -> _Pieces:
    """Hand each cell's ``(supplier, cell, hours)`` pieces to its demands in file order,
    the unmet hours last: ``(supplier, demand, hours)`` by supplier, community, demand."""
    ps_sup, ps_cell, ps_hours = pieces
    n_e = net.n_cells
    got = np.bincount(ps_cell, weights=ps_hours, minlength=n_e).astype(_I)
    dem_live = np.flatnonzero(net.cell_of >= 0)
    dem_cell = net.cell_of[dem_live]
    dorder = np.lexsort((dem_live, dem_cell))
    dem_live, dem_cell = dem_live[dorder], dem_cell[dorder]
    q_cell = np.concatenate((ps_cell, np.arange(n_e, dtype=_I)))
    q_sup = np.concatenate((ps_sup, np.full(n_e, -1, _I)))
    q_hours = np.concatenate((ps_hours, net.cell_hours - got))
    order = np.lexsort((q_sup, q_sup < 0, q_cell))
    q_sup, q_hours = q_sup[order], q_hours[order]
    li, ri, amount = overlap(q_hours, ix.demand_hours[dem_live])
    real = q_sup[li] >= 0
    sup = q_sup[li][real]
    dem = dem_live[ri][real]
    hours = amount[real]
    order = np.lexsort((dem, ix.demand_community[dem], sup))
    return sup[order], dem[order], hours[order]


def _plain_arcs(ix: TieIndex, sup: _Ints, dem: _Ints) -> Arcs:
    """The plain model's arcs ``(sup, dem)``: distance, tie and score as it finds them."""
    s = ix.suppliers
    comm = ix.demand_community[dem]
    km = haversine_km(s.lat[sup], s.lon[sup], ix.community_lat[comm], ix.community_lon[comm])
    n_comm = max(len(ix.community_ids), 1)
    unit = s.unit[sup]
    pair_keys = np.unique(ix.pair_unit * n_comm + ix.pair_comm)
    ally_keys = np.unique(ix.alliance_unit * n_comm + ix.alliance_comm)
    tie = np.full(len(sup), PROXIMITY, dtype=np.int8)
    tie[np.isin(unit * n_comm + comm, ally_keys)] = ALLIANCE
    tie[np.isin(unit * n_comm + comm, pair_keys)] = PAIRING
    tie[s.home[sup] == comm] = RESIDENCE
    if np.any((tie == PROXIMITY) & (km > s.radius_km[sup])):
        raise SolverError(Text(N_("a disaggregated arc has no tie; the column network is wrong")))
    return Arcs(
        supplier=sup,
        demand=dem,
        km=km,
        tie=tie,
        weight=hour_score(ix.demand_priority[dem], km, ix.params),
    )


def disaggregate(ix: TieIndex, master: Master, flows: _Ints) -> tuple[Arcs, _Ints]:
    """Hand the aggregated flow to suppliers and demands: compact arcs and their hours."""
    pieces = _class_to_cell(master, flows)
    pieces = _class_to_members(ix, master.net, pieces)
    sup, dem, hours = _cell_to_demands(ix, master.net, pieces)
    return _plain_arcs(ix, sup, dem), hours


def compact_problem(ix: TieIndex, result: ColumnResult) -> Problem:
    """The :class:`Problem` whose arcs are the result's compact arcs."""
    if result.arcs is None:
        raise ValueError("the result carries no arcs")
    return ix.problem(result.arcs)
