"""Per street, the demand a new tie can fix (the gaps) and the units that could fill it
(the candidates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from matcher.analysis.recommend.alliance_params import AllianceParams
from matcher.analysis.recommend.core import skill_matrix
from matcher.inputs.dataset import Dataset
from matcher.model.arcs import Problem, build_problem, hour_score
from matcher.model.geo import haversine_km
from matcher.params import PlanParams
from matcher.plans.result import Plan

__all__ = ["GAP_REASONS", "street_candidates", "street_gaps"]

GAP_REASONS = ("no_eligible_supplier", "too_far")
"""Reasons of a demand's shortfall that a new tie can fix."""


def street_gaps(dataset: Dataset, before: Plan, scope_mask: np.ndarray) -> pd.DataFrame:
    """Per (district, street, category): the hours short for a reason a tie can fix.

    Returns
    -------
    DataFrame
        ``district, street, category, unmet_hours, demands, reasons`` (reasons
        ``;``-joined), sorted by district, street, category.
    """
    status = before.demand_status
    comms = dataset.communities
    street_of = dict(zip(comms["community_id"], comms["street"], strict=True))
    in_scope = set(comms["community_id"][scope_mask].tolist())
    gap = status[status["reason"].isin(GAP_REASONS) & status["community_id"].isin(in_scope)]
    gap = gap.assign(
        street=gap["community_id"].map(street_of),
        unmet_hours=gap["hours"] - gap["covered_hours"],
    )
    gap = gap[gap["unmet_hours"] > 0]
    cols = ["district", "street", "category", "unmet_hours", "demands", "reasons"]
    if gap.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    out = (
        gap.groupby(["district", "street", "category"], sort=True)
        .agg(
            unmet_hours=("unmet_hours", "sum"),
            demands=("demand_id", lambda s: ";".join(s)),
            reasons=("reason", lambda s: ";".join(sorted(set(s)))),
        )
        .reset_index()
    )
    out["unmet_hours"] = out["unmet_hours"].astype(np.int64)
    return out[cols]


def street_candidates(
    dataset: Dataset, gaps: pd.DataFrame, params: AllianceParams, plan_params: PlanParams
) -> pd.DataFrame:
    """Units that could fill each street's gaps, with their supply per gap category.

    Returns
    -------
    DataFrame
        ``district, street, unit_id, kind, km`` (unit to the nearest community of the
        street), ``category, supply_hours``: one row per candidate and gap category it
        can serve.
    """
    cols = ["district", "street", "unit_id", "kind", "km", "category", "supply_hours"]
    if gaps.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
    search = _search(dataset, params, plan_params)
    rows: list[dict[str, Any]] = []
    for (district_key, street_key), cell in gaps.groupby(["district", "street"], sort=True):
        rows += _street_rows(search, str(district_key), str(street_key), cell)
    return pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True)
class _Search:
    """What the candidate search needs of the dataset: its problem and the suppliers'
    skills, the places of communities and units, and which units may join where."""

    dataset: Dataset
    problem: Problem
    plan_params: PlanParams
    radius_km: float
    skill: np.ndarray
    cat_index: dict[str, int]
    comm_row: dict[Any, int]
    c_lat: np.ndarray
    c_lon: np.ndarray
    u_lat: np.ndarray
    u_lon: np.ndarray
    kinds: np.ndarray
    allowed: np.ndarray
    in_alliance: set[tuple[Any, Any, Any]]


def _search(dataset: Dataset, params: AllianceParams, plan_params: PlanParams) -> _Search:
    """The candidate search's view of ``dataset``."""
    problem = build_problem(dataset, plan_params)
    comms, units = dataset.communities, dataset.units
    members = dataset.alliance_members.merge(dataset.alliances, on="alliance_id")
    kinds = units["kind"].to_numpy(object)
    return _Search(
        dataset=dataset,
        problem=problem,
        plan_params=plan_params,
        radius_km=params.radius_km,
        skill=skill_matrix(problem),
        cat_index={c: i for i, c in enumerate(problem.categories)},
        comm_row=dict(zip(comms["community_id"], range(len(comms)), strict=True)),
        c_lat=comms["lat"].to_numpy(float),
        c_lon=comms["lon"].to_numpy(float),
        u_lat=units["lat"].to_numpy(float),
        u_lon=units["lon"].to_numpy(float),
        kinds=kinds,
        allowed=(
            np.isin(kinds, list(params.unit_kinds))
            if params.unit_kinds
            else np.ones(len(units), bool)
        ),
        in_alliance=set(
            zip(members["district"], members["street"], members["unit_id"], strict=True)
        ),
    )


def _street_rows(
    search: _Search, district: str, street: str, cell: pd.DataFrame
) -> list[dict[str, Any]]:
    """The candidate rows of one street: each unit allowed, not yet in the street's
    alliance and within ``radius_km`` of one of its communities, per gap category of
    ``cell`` it has useful supply in."""
    comms, units = search.dataset.communities, search.dataset.units
    s = search.problem.suppliers
    where = np.flatnonzero(
        (comms["district"] == district).to_numpy() & (comms["street"] == street).to_numpy()
    )
    gap_ids = set(";".join(cell["demands"]).split(";"))
    demands = search.dataset.demands
    dem = demands[demands["demand_id"].isin(gap_ids)]
    rows: list[dict[str, Any]] = []
    for u in range(len(units)):
        uid = str(units["unit_id"].iloc[u])
        if not search.allowed[u] or (district, street, uid) in search.in_alliance:
            continue
        km = haversine_km(np.full(len(where), search.u_lat[u]),
                          np.full(len(where), search.u_lon[u]),
                          search.c_lat[where], search.c_lon[where])  # fmt: skip
        if km.min(initial=np.inf) > search.radius_km:
            continue
        sups = np.flatnonzero((s.unit == u) & (s.hours > 0))
        for cat in cell["category"].tolist():
            supply = _useful_supply(search, sups, cat, dem[dem["category"] == cat])
            if supply > 0:
                rows.append(
                    {
                        "district": district,
                        "street": street,
                        "unit_id": uid,
                        "kind": search.kinds[u],
                        "km": round(float(km.min()), 4),
                        "category": cat,
                        "supply_hours": supply,
                    }
                )
    return rows


def _useful_supply(search: _Search, sups: np.ndarray, cat: str, mine: pd.DataFrame) -> int:
    """The hours of the suppliers ``sups`` with skill ``cat`` from which an hour would
    score above zero on some gap demand of ``mine``."""
    s = search.problem.suppliers
    own = sups[search.skill[sups, search.cat_index[cat]]]
    if len(own) == 0:
        return 0
    comm_rows = mine["community_id"].map(search.comm_row).to_numpy(dtype=np.int64)
    prio = mine["priority"].to_numpy(dtype=np.int64)
    dist = haversine_km(
        np.repeat(s.lat[own], len(comm_rows)),
        np.repeat(s.lon[own], len(comm_rows)),
        np.tile(search.c_lat[comm_rows], len(own)),
        np.tile(search.c_lon[comm_rows], len(own)),
    ).reshape(len(own), len(comm_rows))
    score = hour_score(np.tile(prio, (len(own), 1)), dist, search.plan_params)
    useful = own[(score > 0).any(axis=1)]
    return int(s.hours[useful].sum())
