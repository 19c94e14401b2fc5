"""Candidate pairings: the (unit, community) pairs not yet paired, and the arcs each would
add to the labour flow problem.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from matcher.analysis.recommend.core import skill_matrix
from matcher.inputs.dataset import Dataset
from matcher.model.arcs import Arcs, Problem, hour_score
from matcher.model.arrays import csr
from matcher.model.geo import haversine_km

__all__ = ["Candidates", "find_candidates", "with_arcs"]


@dataclass(frozen=True)
class Candidates:
    """Candidate pairings and the arcs each would add.

    ``unit``, ``community``: indices into the dataset's units and communities; ``km``:
    unit to community. ``arc_pair`` says which candidate each new arc belongs to; the
    arcs (supplier, demand, km, weight) are those the pairing adds to the problem:
    skill-matching supplier-demand pairs with no tie yet and a positive hour score.
    """

    unit: np.ndarray
    community: np.ndarray
    km: np.ndarray
    existing: np.ndarray
    arc_pair: np.ndarray
    arc_supplier: np.ndarray
    arc_demand: np.ndarray
    arc_km: np.ndarray
    arc_weight: np.ndarray

    def __len__(self) -> int:
        return len(self.unit)


def find_candidates(
    problem: Problem,
    dataset: Dataset,
    scope_mask: np.ndarray,
    unit_mask: np.ndarray,
    max_km: float | None,
    existing_pairs: set[tuple[int, int]] | None = None,
) -> Candidates:
    """Every (unit, community in scope) not paired in ``dataset``, with the arcs it adds.

    ``existing_pairs`` marks candidates that were pairings before a ``reconsider``.
    """
    cu, cc, ckm = _candidate_pairs(dataset, scope_mask, unit_mask, max_km)
    ap, asup, adem, akm, aw = _new_arcs(problem, dataset, scope_mask, cu, cc)
    before = existing_pairs or set()
    existing = np.array(
        [(int(u), int(c)) in before for u, c in zip(cu, cc, strict=True)], dtype=bool
    )
    return Candidates(cu, cc, ckm, existing, ap, asup, adem, akm, aw)


def _candidate_pairs(
    dataset: Dataset, scope_mask: np.ndarray, unit_mask: np.ndarray, max_km: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The unit and community index of every unpaired (unit in ``unit_mask``, community in
    scope) within ``max_km``, unit by unit, and the km between them."""
    units, comms = dataset.units, dataset.communities
    unit_index = {u: i for i, u in enumerate(units["unit_id"].tolist())}
    comm_index = {c: i for i, c in enumerate(comms["community_id"].tolist())}
    paired = {
        (unit_index[u], comm_index[c])
        for u, c in zip(
            dataset.pairings["unit_id"].tolist(),
            dataset.pairings["community_id"].tolist(),
            strict=True,
        )
    }
    c_lat, c_lon = comms["lat"].to_numpy(float), comms["lon"].to_numpy(float)
    u_lat, u_lon = units["lat"].to_numpy(float), units["lon"].to_numpy(float)
    in_scope = np.flatnonzero(scope_mask)
    cand_u: list[int] = []
    cand_c: list[int] = []
    for u in np.flatnonzero(unit_mask).tolist():
        km = haversine_km(np.full(len(in_scope), u_lat[u]), np.full(len(in_scope), u_lon[u]),
                          c_lat[in_scope], c_lon[in_scope])  # fmt: skip
        for c, d in zip(in_scope.tolist(), km.tolist(), strict=True):
            if (u, c) not in paired and (max_km is None or d <= max_km):
                cand_u.append(u)
                cand_c.append(c)
    cu = np.asarray(cand_u, dtype=np.int64)
    cc = np.asarray(cand_c, dtype=np.int64)
    ckm = haversine_km(u_lat[cu], u_lon[cu], c_lat[cc], c_lon[cc]) if len(cu) else np.zeros(0)
    return cu, cc, ckm


def _new_arcs(
    problem: Problem, dataset: Dataset, scope_mask: np.ndarray, cu: np.ndarray, cc: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The arcs each candidate (``cu``, ``cc``) adds: the suppliers of the unit x the
    skill-matching demands of the community, where no arc (no tie) exists yet and the hour
    scores above zero.

    Returns the arcs' candidate, supplier, demand, km and weight, sorted by candidate,
    supplier and demand.
    """
    comms = dataset.communities
    c_lat, c_lon = comms["lat"].to_numpy(float), comms["lon"].to_numpy(float)
    pair_pos = {(int(u), int(c)): k for k, (u, c) in enumerate(zip(cu, cc, strict=True))}
    s = problem.suppliers
    skill = skill_matrix(problem)
    n_d = len(problem.demand_ids)
    have = np.unique(problem.arcs.supplier * max(n_d, 1) + problem.arcs.demand)
    sup_ptr, sup_items = csr(s.unit, np.arange(len(s), dtype=np.int64), len(dataset.units))
    dem_scope = np.flatnonzero(scope_mask[problem.demand_community] & (problem.demand_hours > 0))
    parts: list[tuple[np.ndarray, ...]] = []
    for u in np.unique(cu).tolist():
        sups = sup_items[sup_ptr[u] : sup_ptr[u + 1]]
        sups = sups[s.hours[sups] > 0]
        if len(sups) == 0 or len(dem_scope) == 0:
            continue
        si, dj = np.nonzero(skill[sups][:, problem.demand_category[dem_scope]])
        sup, dem = sups[si], dem_scope[dj]
        comm = problem.demand_community[dem]
        k = np.array([pair_pos.get((u, int(c)), -1) for c in comm], dtype=np.int64)
        keep = (k >= 0) & ~np.isin(sup * max(n_d, 1) + dem, have)
        sup, dem, comm, k = sup[keep], dem[keep], comm[keep], k[keep]
        km = haversine_km(s.lat[sup], s.lon[sup], c_lat[comm], c_lon[comm])
        w = hour_score(problem.demand_priority[dem], km, problem.params)
        pos = w > 0
        parts.append((k[pos], sup[pos], dem[pos], km[pos], w[pos]))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, np.zeros(0), np.zeros(0)
    ap, asup, adem, akm, aw = (np.concatenate(col) for col in zip(*parts, strict=True))
    order = np.lexsort((adem, asup, ap))
    return ap[order], asup[order], adem[order], akm[order], aw[order]


def with_arcs(problem: Problem, sup: np.ndarray, dem: np.ndarray, km: np.ndarray,
              weight: np.ndarray, tie: int = 1) -> Problem:  # fmt: skip
    """``problem`` with extra candidate arcs (a pairing's, by default tie ``pairing``)."""
    a = problem.arcs
    arcs = Arcs(
        supplier=np.concatenate((a.supplier, sup)),
        demand=np.concatenate((a.demand, dem)),
        km=np.concatenate((a.km, km)),
        tie=np.concatenate((a.tie, np.full(len(sup), tie, dtype=a.tie.dtype))),
        weight=np.concatenate((a.weight, weight)),
    )
    return dataclasses.replace(problem, arcs=arcs)
