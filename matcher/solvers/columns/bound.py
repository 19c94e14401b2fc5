"""An upper bound on the optimum from any demand cells' duals, by weak duality.

Given duals ``v_cell >= 0`` of the cells, each class takes the smallest dual that keeps
every one of its candidate arcs feasible, found by scanning all implicit arcs; the bound
is then ``sum(hours_c * u_c) + sum(hours_e * v_e)``. With the master's final potentials
this is usually tighter than the integer costs' rounding allows.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from matcher.params import PlanParams
from matcher.solvers.columns.network import Network

__all__ = ["dual_bound"]


@numba.njit(cache=True)
def _group_best(
    site_group_ptr: np.ndarray,
    group_cat: np.ndarray,
    near_ptr: np.ndarray,
    near_comm: np.ndarray,
    near_km: np.ndarray,
    n_cat: int,
    kg_cell_ptr: np.ndarray,
    kg_cells: np.ndarray,
    cell_prio: np.ndarray,
    v_cell: np.ndarray,
    b_kg: np.ndarray,
    b_comm: np.ndarray,
    pw: float,
    tc: float,
) -> np.ndarray:
    """Per group, ``max(0, max over its arcs of (w - v_cell))``.

    ``b_kg`` is, per (community, category), the largest ``pw * prio - v`` of its cells
    (``b_comm``: over a community's categories): a community whose distance already
    costs more is skipped.
    """
    best = np.zeros(len(group_cat))
    for site in range(len(site_group_ptr) - 1):
        g_lo, g_hi = site_group_ptr[site], site_group_ptr[site + 1]
        if g_lo == g_hi:
            continue
        for j in range(near_ptr[site], near_ptr[site + 1]):
            comm = near_comm[j]
            km = near_km[j]
            low = best[g_lo]
            for group in range(g_lo, g_hi):
                low = min(low, best[group])
            if b_comm[comm] - tc * km <= low:
                continue
            for group in range(g_lo, g_hi):
                kg = comm * n_cat + group_cat[group]
                if b_kg[kg] - tc * km <= best[group]:
                    continue
                for q in range(kg_cell_ptr[kg], kg_cell_ptr[kg + 1]):
                    cell = kg_cells[q]
                    w = pw * cell_prio[cell] - tc * km
                    if w > 0 and w - v_cell[cell] > best[group]:
                        best[group] = w - v_cell[cell]
    return best


@numba.njit(cache=True)
def _class_duals(
    group_best: np.ndarray,
    tie_ptr: np.ndarray,
    tie_comm: np.ndarray,
    tie_km: np.ndarray,
    class_skill_ptr: np.ndarray,
    class_skill_cat: np.ndarray,
    class_skill_group: np.ndarray,
    n_cat: int,
    kg_cell_ptr: np.ndarray,
    kg_cells: np.ndarray,
    cell_prio: np.ndarray,
    v_cell: np.ndarray,
    b_kg: np.ndarray,
    pw: float,
    tc: float,
    u_class: np.ndarray,
) -> None:
    """The smallest dual value of every class given the cells' duals ``v_cell``.

    ``u_class[cls]`` becomes ``max(0, max over its eligible cells of (w - v_cell))``: the
    largest of its groups' (:func:`_group_best`) and of its tie arcs'. So
    ``(u_class, v_cell)`` is dual feasible for every candidate arc.
    """
    for cls in range(len(tie_ptr) - 1):
        u = 0.0
        for sk in range(class_skill_ptr[cls], class_skill_ptr[cls + 1]):
            u = max(u, group_best[class_skill_group[sk]])
        for t in range(tie_ptr[cls], tie_ptr[cls + 1]):
            comm = tie_comm[t]
            km = tie_km[t]
            for sk in range(class_skill_ptr[cls], class_skill_ptr[cls + 1]):
                kg = comm * n_cat + class_skill_cat[sk]
                if b_kg[kg] - tc * km <= u:
                    continue
                for q in range(kg_cell_ptr[kg], kg_cell_ptr[kg + 1]):
                    cell = kg_cells[q]
                    w = pw * cell_prio[cell] - tc * km
                    if w > 0 and w - v_cell[cell] > u:
                        u = w - v_cell[cell]
        u_class[cls] = u


def dual_bound(net: Network, params: PlanParams, v_cell: npt.NDArray[np.float64]) -> float:
    """An upper bound on the optimum from any cell duals ``v_cell >= 0`` (weak duality).

    Each class takes the smallest dual that keeps every one of its candidate arcs
    feasible, found by scanning all implicit arcs; the bound is then
    ``sum(hours_c * u_c) + sum(hours_e * v_e)``.
    """
    pw, tc = float(params.priority_weight), float(params.travel_cost_per_km)
    n_kg = len(net.kg_cell_ptr) - 1
    b_kg = np.full(n_kg, -np.inf)
    np.maximum.at(b_kg, net.cell_kg, pw * net.cell_prio - v_cell)
    b_comm = b_kg.reshape(-1, net.n_cat).max(axis=1) if n_kg else np.zeros(0)
    group_best = _group_best(
        net.site_group_ptr,
        net.group_cat,
        net.near_ptr,
        net.near_comm,
        net.near_km,
        net.n_cat,
        net.kg_cell_ptr,
        net.kg_cells,
        net.cell_prio,
        v_cell,
        b_kg,
        b_comm,
        pw,
        tc,
    )
    u = np.zeros(net.n_classes)
    _class_duals(
        group_best,
        net.tie_ptr,
        net.tie_comm,
        net.tie_km,
        net.class_skill_ptr,
        net.class_skill_cat,
        net.class_skill_group,
        net.n_cat,
        net.kg_cell_ptr,
        net.kg_cells,
        net.cell_prio,
        v_cell,
        b_kg,
        pw,
        tc,
        u,
    )
    return float(np.dot(net.class_hours, u) + np.dot(net.cell_hours, v_cell))
