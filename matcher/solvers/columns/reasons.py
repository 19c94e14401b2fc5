"""Each demand's reason, decided as the plain model decides it, without its arcs.

The plain model reads a demand's reason off its candidate arcs (is there one, is it too
far, are its suppliers taken); here the suppliers eligible for each (community,
category) are counted by scanning the network's sites and ties once.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from matcher.model.arcs import Arcs, TieIndex, hour_score
from matcher.plans.reasons import decide_reasons
from matcher.solvers.columns.network import Network

__all__ = ["reasons"]

_I = np.int64


@numba.njit(cache=True)
def _scan_eligible(
    site_group_ptr: np.ndarray,
    group_cat: np.ndarray,
    group_count: np.ndarray,
    near_ptr: np.ndarray,
    near_comm: np.ndarray,
    near_km: np.ndarray,
    n_cat: int,
    kg_want: np.ndarray,
    tie_ptr: np.ndarray,
    tie_comm: np.ndarray,
    tie_km: np.ndarray,
    class_skill_ptr: np.ndarray,
    class_skill_cat: np.ndarray,
    class_count: np.ndarray,
    out: np.ndarray,
    far_km: np.ndarray,
) -> None:
    """Per (community, category), sum the counts of the eligible suppliers.

    ``group_count`` (per group) and ``class_count`` (per class) hold three counts:
    suppliers, suppliers with hours used, suppliers with hours left; ``out`` receives
    their sums over the suppliers eligible for each wanted (community, category),
    ``far_km`` the largest distance of an eligible supplier with hours left.
    """
    for site in range(len(site_group_ptr) - 1):
        g_lo, g_hi = site_group_ptr[site], site_group_ptr[site + 1]
        for j in range(near_ptr[site], near_ptr[site + 1]):
            comm = near_comm[j]
            km = near_km[j]
            for group in range(g_lo, g_hi):
                kg = comm * n_cat + group_cat[group]
                if not kg_want[kg]:
                    continue
                for z in range(3):
                    out[kg, z] += group_count[group, z]
                if group_count[group, 2] > 0 and km > far_km[kg]:
                    far_km[kg] = km
    for cls in range(len(tie_ptr) - 1):
        for t in range(tie_ptr[cls], tie_ptr[cls + 1]):
            comm = tie_comm[t]
            km = tie_km[t]
            for sk in range(class_skill_ptr[cls], class_skill_ptr[cls + 1]):
                kg = comm * n_cat + class_skill_cat[sk]
                if not kg_want[kg]:
                    continue
                for z in range(3):
                    out[kg, z] += class_count[cls, z]
                if class_count[cls, 2] > 0 and km > far_km[kg]:
                    far_km[kg] = km


def reasons(
    ix: TieIndex, net: Network, arcs: Arcs, flow: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.object_], int]:
    """Each demand's reason as the plain model decides it, and its candidate-arc count."""
    s = ix.suppliers
    n_sup, n_d = len(s), len(ix.demand_ids)
    used = np.bincount(arcs.supplier, weights=flow, minlength=n_sup).astype(_I)
    left = s.hours - used
    count = np.column_stack((np.ones(n_sup, _I), (used > 0).astype(_I), (left > 0).astype(_I)))
    member = net.class_of >= 0
    class_count = np.zeros((net.n_classes, 3), dtype=_I)
    np.add.at(class_count, net.class_of[member], count[member])
    group_count = np.zeros((net.n_groups, 3), dtype=_I)
    np.add.at(group_count, net.class_skill_group, class_count[net.class_skill_owner])

    n_kg = len(net.kg_demands)
    kg_want = net.kg_demands > 0
    out = np.zeros((n_kg, 3), dtype=_I)
    far_km = np.full(n_kg, -1.0)
    _scan_eligible(
        net.site_group_ptr,
        net.group_cat,
        group_count,
        net.near_ptr,
        net.near_comm,
        net.near_km,
        net.n_cat,
        kg_want,
        net.tie_ptr,
        net.tie_comm,
        net.tie_km,
        net.class_skill_ptr,
        net.class_skill_cat,
        class_count,
        out,
        far_km,
    )
    n_arcs = int(np.dot(out[:, 0], net.kg_demands))
    kg = ix.demand_community * net.n_cat + ix.demand_category
    covered = np.bincount(arcs.demand, weights=flow, minlength=n_d).astype(_I)
    # Suppliers that gave all their used hours to this one demand.
    only_here = np.bincount(
        arcs.demand, weights=(used[arcs.supplier] == flow) & (flow > 0), minlength=n_d
    )
    far_w = hour_score(ix.demand_priority, far_km[kg], ix.params)
    decided = decide_reasons(
        short=covered < ix.demand_hours,
        has_arc=out[kg, 0] > 0,
        too_far=(far_km[kg] >= 0) & (far_w <= 0),
        taken=out[kg, 1] > only_here,
        spare=out[kg, 2] > 0,
    )
    return decided, n_arcs
