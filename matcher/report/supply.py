"""Supply against demand per skill: the hours of the suppliers who have a skill and a tie
to a community asking for it (:func:`skill_supply`), the report's bottlenecks.

A supplier is within reach of skill k when one of its candidate arcs of category k scores
above zero (:func:`~matcher.model.arcs.hour_score`); the arcs themselves are never
listed (at generator scale 1 they take 18 GB), the ties are looked at where they are
shared instead: proximity per place and radius, pairings and alliances per place and
unit, residence per cadre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from matcher.inputs.dataset import Dataset
from matcher.model.arcs import TieIndex, hour_score, index_dataset
from matcher.model.arrays import csr, csr_expand
from matcher.model.geo import haversine_km, pairs_within, unit_xyz
from matcher.params import PlanParams
from matcher.plans.result import Plan

__all__ = ["skill_supply"]

_PLACES_AT_ONCE = 256
"""Supplier places (position and radius) whose communities in reach are looked at
together in :func:`_reach_by_place`."""

_NONE = np.iinfo(np.int64).min
"""The best priority where a community has no demand of a category (below every one)."""


@dataclass(frozen=True)
class _Best:
    """The demand of highest priority per community and category, the one a reach test
    looks at: an arc's score rises with its demand's priority (``priority_weight > 0``),
    so a supplier reaches skill k at a tied community exactly when that demand of
    category k scores above zero, at the same distance (the same haversine of the same
    coordinates)."""

    params: PlanParams
    n_cat: int
    top: np.ndarray
    """Best priority per ``community * n_cat + category``; :data:`_NONE` where none."""
    levels: np.ndarray
    """The priorities present, ascending."""
    mask: np.ndarray | None
    """Per community and priority level, the categories whose best demand there has at
    least that priority, as bits (column ``len(levels)``: none); ``None`` past 62
    categories, where they no longer fit one int64."""


def _best_demands(ix: TieIndex) -> _Best:
    """The best demands of ``ix``, per community and category."""
    n_comm, n_cat = len(ix.community_ids), max(len(ix.categories), 1)
    top = np.full(n_comm * n_cat, _NONE, dtype=np.int64)
    np.maximum.at(top, ix.demand_community * n_cat + ix.demand_category, ix.demand_priority)
    levels = np.unique(ix.demand_priority)
    n_lev = len(levels)
    mask = None
    if n_cat <= 62:
        mask = np.zeros((n_comm, n_lev + 1), dtype=np.int64)  # column n_lev: none pass
        top_ck = top.reshape(n_comm, n_cat)
        for k in range(n_cat):
            at_least = top_ck[:, k][:, None] >= levels[None, :]
            mask[:, :n_lev] |= at_least.astype(np.int64) << np.int64(k)
    return _Best(ix.params, n_cat, top, levels, mask)


def _scores(best: _Best, km: np.ndarray, comm: np.ndarray, k: int) -> np.ndarray:
    """Whether the best demand of category ``k`` at ``comm``, ``km`` away, scores above
    zero."""
    prio = best.top[comm * best.n_cat + k]
    has = prio != _NONE
    ok = np.zeros(len(comm), dtype=bool)
    ok[has] = hour_score(prio[has], km[has], best.params) > 0
    return ok


def _reached(best: _Best, ptr: np.ndarray, comm: np.ndarray, km: np.ndarray) -> np.ndarray:
    """Per row of a CSR of tied communities (``km`` away) and category: whether the best
    demand of that category at any of them scores above zero."""
    n_rows = len(ptr) - 1
    if best.mask is None:
        row = np.repeat(np.arange(n_rows), np.diff(ptr))
        out = np.zeros((n_rows, best.n_cat), dtype=bool)
        for k in range(best.n_cat):
            out[np.unique(row[_scores(best, km, comm, k)]), k] = True
        return out
    # The categories at least as high as the lowest level that passes this far away,
    # OR-ed over each row's communities.
    pair_bits = best.mask[comm, _lowest_passing_level(best, km)]
    row_bits = np.zeros(n_rows, dtype=np.int64)
    filled = np.flatnonzero(np.diff(ptr) > 0)
    if len(filled):
        row_bits[filled] = np.bitwise_or.reduceat(pair_bits, ptr[filled])
    return ((row_bits[:, None] >> np.arange(best.n_cat, dtype=np.int64)) & 1).astype(bool)


def _lowest_passing_level(best: _Best, km: np.ndarray) -> np.ndarray:
    """Per distance, the index of the lowest priority level that scores above zero that
    far away (``len(levels)`` when none does): a binary search, the score rising with the
    priority."""
    levels, n_lev = best.levels, len(best.levels)
    lo = np.zeros(len(km), dtype=np.int64)
    hi = np.full(len(km), n_lev, dtype=np.int64)
    while True:
        open_ = lo < hi
        if not open_.any():
            break
        mid = (lo + hi) // 2
        passes = hour_score(levels[np.minimum(mid, n_lev - 1)], km, best.params) > 0
        hi = np.where(open_ & passes, mid, hi)
        lo = np.where(open_ & ~passes, mid + 1, lo)
    return lo


def _reach_by_place(ix: TieIndex, best: _Best, places: np.ndarray) -> np.ndarray:
    """Per place (rows of ``lat, lon, radius_km``) and category: whether a community within
    the radius (as :func:`~matcher.model.arcs.proximity_tie` finds it) asks for it
    with a demand that scores above zero."""
    from scipy.spatial import cKDTree

    c_lat, c_lon = ix.community_lat, ix.community_lon
    tree = cKDTree(unit_xyz(c_lat, c_lon))
    by_place = np.zeros((len(places), best.n_cat), dtype=bool)
    # A few hundred places at a time: a city's places and communities in reach make tens
    # of millions of pairs, whose distances would take gigabytes at once.
    for start in range(0, len(places), _PLACES_AT_ONCE):
        part = places[start : start + _PLACES_AT_ONCE]
        spot, comm = pairs_within(part[:, 0], part[:, 1], part[:, 2], tree)
        km = haversine_km(part[spot, 0], part[spot, 1], c_lat[comm], c_lon[comm])
        keep = km <= part[spot, 2]
        spot, comm, km = spot[keep], comm[keep], km[keep]
        order = np.argsort(spot, kind="stable")  # pairs_within sorts by spot already
        spot_ptr = np.zeros(len(part) + 1, dtype=np.int64)
        np.cumsum(np.bincount(spot, minlength=len(part)), out=spot_ptr[1:])
        by_place[start : start + len(part)] = _reached(best, spot_ptr, comm[order], km[order])
    return by_place


def _reach_by_tie(
    ix: TieIndex, best: _Best, places: np.ndarray, place_of: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pairings and alliances, per place and unit: whether a community tied to the unit
    asks for each category with a demand that scores above zero from the place.

    Returns the table (a row per place and unit, a column per category) and each
    supplier's row in it (``place_of``: each supplier's row of ``places``).
    """
    s = ix.suppliers
    c_lat, c_lon = ix.community_lat, ix.community_lon
    n_comm, n_units = len(ix.community_ids), len(ix.unit_ids)
    tu = np.concatenate((ix.pair_unit, ix.alliance_unit)).astype(np.int64)
    tc = np.concatenate((ix.pair_comm, ix.alliance_comm)).astype(np.int64)
    valid = (tu >= 0) & (tc >= 0)
    pairs = np.unique(tu[valid] * n_comm + tc[valid])
    unit_ptr, unit_comm = csr(pairs // n_comm, pairs % n_comm, n_units)
    combo_key = place_of.astype(np.int64) * max(n_units, 1) + s.unit
    combos, combo_of = np.unique(combo_key, return_inverse=True)
    combo_spot, combo_unit = combos // max(n_units, 1), combos % max(n_units, 1)
    row, comm = csr_expand(unit_ptr, unit_comm, combo_unit)
    combo_ptr = np.zeros(len(combos) + 1, dtype=np.int64)
    np.cumsum(np.bincount(row, minlength=len(combos)), out=combo_ptr[1:])
    lat, lon = places[combo_spot[row], 0], places[combo_spot[row], 1]
    by_combo = _reached(best, combo_ptr, comm, haversine_km(lat, lon, c_lat[comm], c_lon[comm]))
    return by_combo, combo_of.reshape(-1)


def _reach_at_home(ix: TieIndex, best: _Best, owner: np.ndarray, skill: np.ndarray) -> np.ndarray:
    """Residence, per cadre: per (supplier ``owner``, ``skill``), whether the supplier's
    home community asks for the skill with a demand that scores above zero."""
    s = ix.suppliers
    c_lat, c_lon = ix.community_lat, ix.community_lon
    ok = np.zeros(len(owner), dtype=bool)
    home = s.home[owner]
    at_home = np.flatnonzero(home >= 0)
    for k in np.unique(skill[at_home]).tolist():
        mine = at_home[skill[at_home] == k]
        sup, where = owner[mine], home[mine].astype(np.int64)
        km = haversine_km(s.lat[sup], s.lon[sup], c_lat[where], c_lon[where])
        ok[mine] = _scores(best, km, where, k)
    return ok


def _within_reach(ix: TieIndex) -> tuple[np.ndarray, np.ndarray]:
    """Every (supplier, skill) with a candidate arc of that skill scoring above zero: the
    ``(supplier, category)`` pairs of :func:`~matcher.model.arcs.build_problem`'s arcs
    with ``weight > 0``, found without listing the arcs (at generator scale 1 they take
    18 GB; the arcs grow with suppliers times communities in reach times demands there).

    Ties are looked at where they are shared: proximity per place and radius
    (:func:`_reach_by_place`), pairings and alliances per place and unit
    (:func:`_reach_by_tie`), residence per cadre (:func:`_reach_at_home`).
    """
    s = ix.suppliers
    owner = np.repeat(np.arange(len(s)), np.diff(s.skill_ptr)).astype(np.int64)
    skill = s.skill_cat.astype(np.int64)
    ok = np.zeros(len(owner), dtype=bool)
    if len(s) and len(ix.community_ids):
        best = _best_demands(ix)
        spots = np.column_stack((s.lat, s.lon, s.radius_km))
        places, place_of = np.unique(spots, axis=0, return_inverse=True)
        place_of = place_of.reshape(-1)
        ok |= _reach_by_place(ix, best, places)[place_of[owner], skill]
        by_combo, combo_of = _reach_by_tie(ix, best, places, place_of)
        ok |= by_combo[combo_of[owner], skill]
        ok |= _reach_at_home(ix, best, owner, skill)
    key = np.unique(skill[ok] * max(len(s), 1) + owner[ok])
    return key % max(len(s), 1), key // max(len(s), 1)


def skill_supply(dataset: Dataset, plan: Plan) -> pd.DataFrame:
    """Supply against demand per skill (demand category).

    Returns
    -------
    DataFrame
        One row per demanded category: ``category``, ``hours_demanded``,
        ``hours_covered`` (from the plan), ``skilled_hours`` (hours of every supplier
        with the skill), ``reach_hours`` (hours of the suppliers with the skill and a tie
        to at least one demand of the category that scores above zero), ``short_hours``
        (demanded minus covered) and ``bottleneck`` (supply within reach below demand).
        A supplier with several skills counts in each, so supplies are upper bounds.
    """
    params = plan.params
    ix = index_dataset(dataset, params)
    cats = np.asarray(ix.categories, dtype=object)
    s = ix.suppliers
    owner = np.repeat(np.arange(len(s)), np.diff(s.skill_ptr))
    skilled = np.bincount(s.skill_cat, weights=s.hours[owner], minlength=len(cats))
    sup_of, cat_of = _within_reach(ix)
    reach = np.bincount(cat_of, weights=s.hours[sup_of], minlength=len(cats))
    status = plan.demand_status
    by_cat = status.groupby("category", sort=True)[["hours", "covered_hours"]].sum()
    index = {c: i for i, c in enumerate(cats)}
    rows = []
    for category, v in by_cat.iterrows():
        i = index.get(str(category))
        rows.append(
            {
                "category": str(category),
                "hours_demanded": int(v["hours"]),
                "hours_covered": int(v["covered_hours"]),
                "skilled_hours": int(skilled[i]) if i is not None else 0,
                "reach_hours": int(reach[i]) if i is not None else 0,
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out["short_hours"] = out["hours_demanded"] - out["hours_covered"]
    out["bottleneck"] = out["reach_hours"] < out["hours_demanded"]
    return out.sort_values(["short_hours", "category"], ascending=[False, True]).reset_index(
        drop=True
    )
