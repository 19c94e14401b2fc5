"""Recommend street alliances: which units and enterprises should join forces on a street.

An alliance ties its members' cadres and services to every community of its district and
street (the spec's tie 3). This recommender finds, per street, the demand no tied supplier
can serve, and the alliance that would serve the most of it with the fewest members:

1. **gaps** (:func:`.street_gaps`): the optimal plan's ``demand_status`` names, for every
   demand not fully met, why; demands short for ``no_eligible_supplier`` (no supplier with
   the skill has any tie) or ``too_far`` (tied suppliers are too far to score) are what a
   new tie can fix. Their missing hours are summed per (street, category);
2. **candidates** (:func:`.street_candidates`): units standing within ``radius_km`` of some
   community of the street, not yet in an alliance of that street, whose suppliers have the
   category's skill and would score above zero there; a candidate's supply in a category is
   the hours of those suppliers;
3. **the cover** (:func:`.best_cover`): per street, a CP-SAT model picks members ``z_u`` and
   covered hours ``h_g <= min(gap hours, sum of chosen members' supply in g)`` per gap
   ``g``, and maximizes ``W * sum(h) - sum(z)`` with ``W`` = (candidates + 1): an hour more
   always beats a member fewer, so this is lexicographic (most hours, then fewest members);
   a second stage keeps both and minimizes the members' total distance;
4. the alliances are added to the dataset (joining the street's existing alliance, if
   any, else as a new one) and the dataset is re-planned: before/after.

Entry point: :func:`recommend_alliances` (parameters :class:`.AllianceParams`, result
:class:`.AllianceResult`); this module holds its steps and the result's tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matcher.analysis.recommend.alliance_cover import Cover, best_cover
from matcher.analysis.recommend.alliance_gaps import street_candidates, street_gaps
from matcher.analysis.recommend.alliance_params import AllianceParams
from matcher.analysis.recommend.alliance_result import AllianceResult
from matcher.analysis.recommend.core import Judgement, recommend
from matcher.inputs.dataset import Dataset
from matcher.params import PlanParams
from matcher.plans.result import Plan

__all__ = ["recommend_alliances"]


def recommend_alliances(
    dataset: Dataset | str | Path,
    params: AllianceParams | None = None,
    plan_params: PlanParams | None = None,
) -> AllianceResult:
    """Recommend an alliance per street for the demand no tied supplier can serve:
    ``dataset`` (validated, or a folder to load one from), ``params`` and ``plan_params``
    as :func:`~matcher.analysis.recommend.pairings.recommend_pairings` takes them, with
    :class:`.AllianceParams`; an :class:`.AllianceResult`.

    Examples
    --------
    >>> r = recommend_alliances("tests/data/reasons")
    >>> r.gain >= 0
    True
    """
    params = params or AllianceParams()
    plan_params = plan_params or PlanParams()
    chosen, judged = recommend(
        dataset,
        params.scope,
        plan_params,
        prepare=lambda ds, scope_mask: (ds, scope_mask),
        find=lambda start, before: _gaps(start[0], start[1], before, params, plan_params),
        choose=lambda found: _choose(found, params),
        with_ties=_with_alliances,
        stages=("gaps", "cover"),
    )
    return _result(chosen, judged, params, plan_params)


@dataclass(frozen=True)
class _Found:
    """The dataset, its streets' gaps and the candidate members."""

    dataset: Dataset
    gaps: pd.DataFrame
    candidates: pd.DataFrame


def _gaps(
    ds: Dataset,
    scope_mask: np.ndarray,
    before: Plan,
    params: AllianceParams,
    plan_params: PlanParams,
) -> _Found:
    """The gaps of the plan without new ties, and the units that could fill them."""
    gaps = street_gaps(ds, before, scope_mask)
    return _Found(ds, gaps, street_candidates(ds, gaps, params, plan_params))


@dataclass(frozen=True)
class _Chosen:
    """Per street with gaps, its recommendation (``recommendations``), and the rows the
    dataset's ``alliances`` and ``alliance_members`` tables gain."""

    found: _Found
    recommendations: pd.DataFrame
    new_alliances: list[dict[str, Any]]
    new_members: list[dict[str, Any]]


_REC_COLUMNS = ["district", "street", "alliance_id", "new_alliance", "members", "member_count",
                "members_km", "gap_hours", "covered_hours", "covered", "uncovered"]  # fmt: skip


def _choose(found: _Found, params: AllianceParams) -> _Chosen:
    """The best cover of each street's gaps, joining the street's alliance or a new one."""
    alliances = found.dataset.alliances
    used_ids = set(alliances["alliance_id"].tolist())
    new_alliances: list[dict[str, Any]] = []
    new_members: list[dict[str, Any]] = []
    rec_rows: list[dict[str, Any]] = []
    for (district_key, street_key), cell in found.gaps.groupby(["district", "street"], sort=True):
        district, street = str(district_key), str(street_key)
        gap = dict(zip(cell["category"], cell["unmet_hours"].astype(int), strict=True))
        cover = _street_cover(found.candidates, district, street, gap, params)
        existing = alliances[(alliances["district"] == district) & (alliances["street"] == street)]
        if cover.members and len(existing):
            alliance_id, created = str(existing["alliance_id"].iloc[0]), False
        elif cover.members:
            alliance_id = _new_id(district, street, used_ids)
            used_ids.add(alliance_id)
            created = True
            new_alliances.append(
                {
                    "alliance_id": alliance_id,
                    "name": f"{street} alliance (recommended)",
                    "district": district,
                    "street": street,
                }
            )
        else:
            alliance_id, created = "", False
        new_members += [{"alliance_id": alliance_id, "unit_id": u} for u in cover.members]
        rec_rows.append(_street_row(district, street, alliance_id, created, gap, cover))
    recs = pd.DataFrame(rec_rows, columns=_REC_COLUMNS)
    return _Chosen(found, recs, new_alliances, new_members)


def _street_cover(
    cands: pd.DataFrame, district: str, street: str, gap: dict[str, int], params: AllianceParams
) -> Cover:
    """:func:`best_cover` of one street's gaps by its candidates."""
    mine = cands[(cands["district"] == district) & (cands["street"] == street)]
    supply: dict[str, dict[str, int]] = {}
    km: dict[str, float] = {}
    for uid, cat, hours, dist in zip(
        mine["unit_id"].tolist(),
        mine["category"].tolist(),
        mine["supply_hours"].tolist(),
        mine["km"].tolist(),
        strict=True,
    ):
        supply.setdefault(str(uid), {})[str(cat)] = int(hours)
        km[str(uid)] = float(dist)
    return best_cover(gap, supply, km, params.max_members, params.time_limit_s, params.seed)


def _street_row(
    district: str, street: str, alliance_id: str, created: bool, gap: dict[str, int], cover: Cover
) -> dict[str, Any]:
    """One street's row of the recommendations."""
    return {
        "district": district,
        "street": street,
        "alliance_id": alliance_id,
        "new_alliance": created,
        "members": ";".join(cover.members),
        "member_count": len(cover.members),
        "members_km": cover.km,
        "gap_hours": int(sum(gap.values())),
        "covered_hours": cover.covered_hours,
        "covered": ";".join(f"{c}:{h}" for c, h in cover.covered.items()),
        "uncovered": ";".join(
            f"{c}:{gap[c] - cover.covered.get(c, 0)}"
            for c in sorted(gap)
            if gap[c] > cover.covered.get(c, 0)
        ),
    }


def _tables(chosen: _Chosen) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The dataset's ``alliances`` and ``alliance_members`` with the new rows."""
    ds = chosen.found.dataset
    alliances = ds.alliances[["alliance_id", "name", "district", "street"]]
    members = ds.alliance_members[["alliance_id", "unit_id"]]
    all_table = pd.concat(
        [alliances, pd.DataFrame(chosen.new_alliances, columns=list(alliances.columns))],
        ignore_index=True,
    )
    mem_table = pd.concat(
        [members, pd.DataFrame(chosen.new_members, columns=list(members.columns))],
        ignore_index=True,
    )
    return all_table, mem_table


def _with_alliances(chosen: _Chosen) -> Dataset:
    """The dataset with the recommended alliances and members."""
    ds = chosen.found.dataset
    all_table, mem_table = _tables(chosen)
    return ds.replace(
        source=f"{ds.source} (recommended alliances)",
        alliances=all_table.astype(object),
        alliance_members=mem_table.astype(object),
    )


def _result(
    chosen: _Chosen, judged: Judgement, params: AllianceParams, plan_params: PlanParams
) -> AllianceResult:
    """The result's tables (with ``status``) and summary."""
    all_table, mem_table = _tables(chosen)
    n_alliances, n_members = len(chosen.new_alliances), len(chosen.new_members)
    all_table = all_table.assign(
        status=["existing"] * (len(all_table) - n_alliances) + ["new"] * n_alliances
    )
    mem_table = mem_table.assign(
        status=["existing"] * (len(mem_table) - n_members) + ["new"] * n_members
    )
    gaps, cands, recs = chosen.found.gaps, chosen.found.candidates, chosen.recommendations
    figures = {
        "streets_with_gaps": len(recs),
        "gap_hours": int(gaps["unmet_hours"].sum()) if len(gaps) else 0,
        "candidates": int(cands["unit_id"].nunique()) if len(cands) else 0,
        "new_alliances": n_alliances,
        "new_members": n_members,
        "covered_hours": int(recs["covered_hours"].sum()) if len(recs) else 0,
    }
    return AllianceResult(
        gaps=gaps,
        candidates=cands,
        recommendations=recs,
        alliances=all_table,
        alliance_members=mem_table,
        comparison=judged.comparison(),
        summary=judged.summary(params.scope, figures, params.to_dict(), plan_params),
        dataset=judged.with_ties,
        before=judged.before,
        after=judged.after,
    )


def _new_id(district: str, street: str, used: set[str]) -> str:
    base = f"A-REC-{district}-{street}".replace(" ", "_")
    name, k = base, 2
    while name in used:
        name, k = f"{base}-{k}", k + 1
    return name
