"""Recommend dual-registration pairings: which unit should register with which community.

A pairing ties every cadre and service of a unit to a community, whatever the distance
(the spec's tie 2). Planners choose pairings by hand; here they are chosen so that

* every community in scope has at least ``min_partners`` paired units (existing
  pairings count),
* no unit is paired with more than its cap (``max_communities``, or the unit's own
  ``max_communities`` column in ``units.csv``; existing pairings count),
* existing pairings stay, unless ``reconsider`` (then the pairings of the communities in
  scope are chosen afresh, the old ones being candidates like any other),
* the new pairings unlock the most value.

**Value of a pairing.** What a pairing is worth is the gain in the optimal plan's labour
objective when it is added (the exact min-cost flow, re-solved). Gains of several
pairings do not simply add up (they compete for the same cadres and demands), so:

1. each candidate (unit, community) (:mod:`.pair_candidates`) gets a value
   (:mod:`.pair_values`): ``exact`` -- the true gain of adding that one pairing to the
   dataset, by re-solving the flow with its new arcs -- or ``proxy`` -- an estimate from the
   current optimal plan: the new arcs' hour scores minus the supplier's shadow price (0 for
   a supplier with hours left, else the lowest score it is used at), poured greedily into
   the community's *unmet* hours. The proxy counts complementarity of the unit's skills with
   the unmet demand, minus distance (in the hour score) and minus what the unit's cadres
   already do elsewhere; ``tests/analysis/test_pairings.py`` checks that its ranking agrees with the
   exact gains;
2. a CP-SAT assignment model (:mod:`.pair_choice`) chooses the set: lexicographically, (with
   ``balance``) the most even spread of pairings over districts, then the most total value
   less a small charge per km of unit-community distance (``km_penalty``), then (with
   ``balance``) the smallest largest unit load;
3. the dataset is re-planned with the chosen pairings: the true gain of the whole set is
   the plan's objective after minus before (:func:`matcher.analysis.recommend.before_after`).

Entry point: :func:`recommend_pairings` (parameters :class:`.PairingParams`, result
:class:`.PairingResult`); this module holds its steps and the result's tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from matcher.analysis.recommend.core import Judgement, recommend, unit_caps
from matcher.analysis.recommend.pair_candidates import Candidates, find_candidates
from matcher.analysis.recommend.pair_choice import choose_pairings
from matcher.analysis.recommend.pair_params import PairingParams
from matcher.analysis.recommend.pair_result import PairingResult
from matcher.analysis.recommend.pair_values import exact_gains, proxy_values
from matcher.inputs.dataset import Dataset
from matcher.model.arcs import build_problem
from matcher.model.geo import haversine_km
from matcher.params import PlanParams
from matcher.solvers.flow import solve_flow

__all__ = ["recommend_pairings"]


def recommend_pairings(
    dataset: Dataset | str | Path,
    params: PairingParams | None = None,
    plan_params: PlanParams | None = None,
) -> PairingResult:
    """Recommend unit-community pairings, and judge them by re-planning.

    Parameters
    ----------
    dataset
        A validated dataset, or a folder to load one from.
    params
        The recommendation's parameters (defaults if ``None``).
    plan_params
        The plan's parameters (ties' radius, weights ...; defaults if ``None``).

    Returns
    -------
    PairingResult

    Raises
    ------
    DatasetError
        If the dataset (or the units' cap column) does not validate.
    ParameterError
        If the scope names a district, street or community the dataset lacks.
    InfeasibleError
        If no choice gives every community in scope ``min_partners`` within the caps;
        it names the communities.

    Examples
    --------
    >>> r = recommend_pairings("tests/data/example/dataset")
    >>> r.summary["short_after"], r.gain >= 0
    (0, True)
    """
    params = params or PairingParams()
    plan_params = plan_params or PlanParams()
    chosen, judged = recommend(
        dataset,
        params.scope,
        plan_params,
        prepare=lambda ds, scope_mask: _start(ds, scope_mask, params),
        find=lambda start, _before: _valued(start, params, plan_params),
        choose=lambda valued: _choose(valued, params),
        with_ties=_with_pairings,
        stages=("values", "choose"),
    )
    return _result(chosen, judged, params, plan_params)


@dataclass(frozen=True)
class _Start:
    """The pairings a recommendation starts from and the room they leave.

    ``base`` is the dataset with the pairings that stay (all of them, or with
    ``reconsider`` those outside the scope); ``old`` and ``kept`` are the (unit, community)
    indices of the dataset's pairings and of those that stay.
    """

    dataset: Dataset
    base: Dataset
    scope_mask: np.ndarray
    unit_mask: np.ndarray
    caps: np.ndarray
    old: set[tuple[int, int]]
    kept: set[tuple[int, int]]
    base_count: np.ndarray
    base_load: np.ndarray


def _pair_indices(ds: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """The unit and community index of each of the dataset's pairings."""
    unit_index = {u: i for i, u in enumerate(ds.units["unit_id"].tolist())}
    comm_index = {c: i for i, c in enumerate(ds.communities["community_id"].tolist())}
    pu = ds.pairings["unit_id"].map(unit_index).to_numpy(dtype=np.int64)
    pc = ds.pairings["community_id"].map(comm_index).to_numpy(dtype=np.int64)
    return pu, pc


def _start(ds: Dataset, scope_mask: np.ndarray, params: PairingParams) -> _Start:
    """The units' caps, the candidate units and the pairings that stay."""
    comms, units = ds.communities, ds.units
    caps = unit_caps(ds, params.cap_column, params.max_communities)
    unit_mask = (
        units["kind"].isin(params.unit_kinds).to_numpy(dtype=bool)
        if params.unit_kinds
        else np.ones(len(units), dtype=bool)
    )
    pu, pc = _pair_indices(ds)
    old = set(zip(pu.tolist(), pc.tolist(), strict=True))
    base = ds
    if params.reconsider:
        keep = ~scope_mask[pc]
        base = ds.replace(pairings=ds.pairings[keep].reset_index(drop=True))
        pu, pc = pu[keep], pc[keep]
    return _Start(
        dataset=ds,
        base=base,
        scope_mask=scope_mask,
        unit_mask=unit_mask,
        caps=caps,
        old=old,
        kept=set(zip(pu.tolist(), pc.tolist(), strict=True)),
        base_count=np.bincount(pc, minlength=len(comms)),
        base_load=np.bincount(pu, minlength=len(units)),
    )


@dataclass(frozen=True)
class _Valued:
    """The candidates, the value each was given (``mode``: exact or proxy) and the unmet
    hours per (community, category) of the plan without them."""

    start: _Start
    cands: Candidates
    adds_arcs: np.ndarray
    mode: str
    values: np.ndarray
    served: list[dict[str, int]]
    unmet: dict[tuple[int, str], int]


def _valued(start: _Start, params: PairingParams, plan_params: PlanParams) -> _Valued:
    """Find the candidates and value them, exactly or by the proxy."""
    problem = build_problem(start.base, plan_params)
    base_flow = solve_flow(problem)
    cands = find_candidates(problem, start.base, start.scope_mask, start.unit_mask, params.max_km,
                            start.old if params.reconsider else None)  # fmt: skip
    adds_arcs = np.bincount(cands.arc_pair, minlength=len(cands)) > 0
    mode = params.value
    if mode == "auto":
        mode = "exact" if int(adds_arcs.sum()) <= params.exact_limit else "proxy"
    if mode == "exact":
        values, served = exact_gains(problem, cands, base_flow.flow, np.flatnonzero(adds_arcs))
    else:
        values, served = proxy_values(problem, cands, base_flow.flow)
    unmet: dict[tuple[int, str], int] = {}
    covered = np.bincount(problem.arcs.demand, weights=base_flow.flow,
                          minlength=len(problem.demand_ids))  # fmt: skip
    resid = problem.demand_hours - covered.astype(np.int64)
    for d in np.flatnonzero(resid > 0).tolist():
        cell = (int(problem.demand_community[d]), problem.categories[problem.demand_category[d]])
        unmet[cell] = unmet.get(cell, 0) + int(resid[d])
    return _Valued(start, cands, adds_arcs, mode, values, served, unmet)


@dataclass(frozen=True)
class _Chosen:
    """The chosen candidates (``pick``, indices), the value the model gave the set and the
    dataset's pairings after (``table``; ``status`` existing or new per row)."""

    valued: _Valued
    pick: np.ndarray
    model_value: float
    table: pd.DataFrame
    status: list[str]


def _choose(valued: _Valued, params: PairingParams) -> _Chosen:
    """Choose the pairings (:func:`choose_pairings`) and list the pairings after."""
    start, cands = valued.start, valued.cands
    units, comms = start.dataset.units, start.dataset.communities
    chosen, model_value = choose_pairings(cands, valued.values, start.base_count, start.base_load,
                                          start.caps, start.scope_mask,
                                          comms["district"].to_numpy(object), params, units, comms,
                                          valued.served, valued.unmet)  # fmt: skip
    pick = np.flatnonzero(chosen)
    new_rows = pd.DataFrame(
        {
            "unit_id": units["unit_id"].to_numpy(object)[cands.unit[pick]],
            "community_id": comms["community_id"].to_numpy(object)[cands.community[pick]],
        }
    )
    base_pairs = start.base.pairings[["unit_id", "community_id"]]
    table = pd.concat([base_pairs, new_rows], ignore_index=True)
    status = ["existing"] * len(base_pairs) + [
        "existing" if e else "new" for e in cands.existing[pick].tolist()
    ]
    return _Chosen(valued, pick, model_value, table, status)


def _with_pairings(chosen: _Chosen) -> Dataset:
    """The dataset with the pairings after."""
    ds = chosen.valued.start.dataset
    # Extra columns of the dataset's pairings (notes) are kept for the rows that stay.
    return ds.replace(
        source=f"{ds.source} (recommended pairings)",
        pairings=chosen.table.astype({"unit_id": object, "community_id": object}),
    )


def _result(
    chosen: _Chosen, judged: Judgement, params: PairingParams, plan_params: PlanParams
) -> PairingResult:
    """The result's tables and summary."""
    start, pick = chosen.valued.start, chosen.pick
    rec = _new_rows(chosen)
    dropped = sorted(start.old - start.kept - {
        (int(chosen.valued.cands.unit[k]), int(chosen.valued.cands.community[k]))
        for k in pick.tolist()
    })  # fmt: skip
    if dropped:
        rec = pd.concat([rec, _dropped_rows(start.dataset, dropped, chosen.valued.mode)],
                        ignore_index=True)  # fmt: skip
    rec = rec.reset_index(drop=True)
    before_pu, before_pc = _pair_indices(start.dataset)
    n_comms, n_units = len(start.dataset.communities), len(start.dataset.units)
    before_count = np.bincount(before_pc, minlength=n_comms)
    after_count = start.base_count + np.bincount(chosen.valued.cands.community[pick],
                                                 minlength=n_comms)  # fmt: skip
    before_load = np.bincount(before_pu, minlength=n_units)
    after_load = start.base_load + np.bincount(chosen.valued.cands.unit[pick], minlength=n_units)
    figures = _figures(chosen, rec, len(dropped), before_count, after_count, params)
    return PairingResult(
        pairings=chosen.table.assign(status=chosen.status),
        recommendations=rec,
        districts=_district_table(start, before_count, after_count, params.min_partners),
        units=_unit_table(start, before_load, after_load),
        comparison=judged.comparison(),
        summary=judged.summary(
            params.scope,
            figures,
            params.to_dict(),
            plan_params,
            {"largest_unit_load": int(after_load.max(initial=0))},
        ),
        dataset=judged.with_ties,
        before=judged.before,
        after=judged.after,
    )


def _new_rows(chosen: _Chosen) -> pd.DataFrame:
    """The recommendations' rows of the new pairings, most valuable first."""
    v, pick = chosen.valued, chosen.pick
    cands, units, comms = v.cands, v.start.dataset.units, v.start.dataset.communities
    rec = pd.DataFrame(
        {
            "status": np.where(cands.existing[pick], "kept", "new"),
            "unit_id": units["unit_id"].to_numpy(object)[cands.unit[pick]],
            "unit_name": units["name"].to_numpy(object)[cands.unit[pick]],
            "community_id": comms["community_id"].to_numpy(object)[cands.community[pick]],
            "community_name": comms["name"].to_numpy(object)[cands.community[pick]],
            "district": comms["district"].to_numpy(object)[cands.community[pick]],
            "km": np.round(cands.km[pick], 4),
            "value": np.round(v.values[pick], 6),
            "value_kind": v.mode,
            "served_hours": [sum(v.served[k].values()) for k in pick.tolist()],
            "served": [_served_text(v.served[k]) for k in pick.tolist()],
        }
    )
    return rec[rec["status"] == "new"].sort_values(
        ["value", "unit_id", "community_id"], ascending=[False, True, True], kind="stable"
    )


def _dropped_rows(ds: Dataset, dropped: list[tuple[int, int]], mode: str) -> pd.DataFrame:
    """The recommendations' rows of the pairings ``reconsider`` dropped."""
    units, comms = ds.units, ds.communities
    du = np.array([u for u, _ in dropped], dtype=np.int64)
    dc = np.array([c for _, c in dropped], dtype=np.int64)
    return pd.DataFrame(
        {
            "status": "dropped",
            "unit_id": units["unit_id"].to_numpy(object)[du],
            "unit_name": units["name"].to_numpy(object)[du],
            "community_id": comms["community_id"].to_numpy(object)[dc],
            "community_name": comms["name"].to_numpy(object)[dc],
            "district": comms["district"].to_numpy(object)[dc],
            "km": np.round(
                haversine_km(
                    units["lat"].to_numpy(float)[du],
                    units["lon"].to_numpy(float)[du],
                    comms["lat"].to_numpy(float)[dc],
                    comms["lon"].to_numpy(float)[dc],
                ),
                4,
            ),
            "value": np.nan,
            "value_kind": mode,
            "served_hours": 0,
            "served": "",
        }
    )


def _district_table(
    start: _Start, before_count: np.ndarray, after_count: np.ndarray, min_partners: int
) -> pd.DataFrame:
    """Per district in scope: pairings before and after, per community, and short."""
    district = start.dataset.communities["district"].to_numpy(object)
    scope_mask = start.scope_mask
    rows = []
    for name in sorted(set(district[scope_mask].tolist())):
        m = scope_mask & (district == name)
        rows.append(
            {
                "district": name,
                "communities": int(m.sum()),
                "pairings_before": int(before_count[m].sum()),
                "pairings_after": int(after_count[m].sum()),
                "per_community_before": round(float(before_count[m].mean()), 4),
                "per_community_after": round(float(after_count[m].mean()), 4),
                "short_before": int((before_count[m] < min_partners).sum()),
                "short_after": int((after_count[m] < min_partners).sum()),
            }
        )
    return pd.DataFrame(rows)


def _unit_table(start: _Start, before_load: np.ndarray, after_load: np.ndarray) -> pd.DataFrame:
    """Per unit paired before or after, or a candidate: its cap and loads."""
    units = start.dataset.units
    show = (before_load > 0) | (after_load > 0) | start.unit_mask
    return pd.DataFrame(
        {
            "unit_id": units["unit_id"].to_numpy(object)[show],
            "kind": units["kind"].to_numpy(object)[show],
            "level": units["level"].to_numpy(object)[show],
            "cap": start.caps[show],
            "load_before": before_load[show],
            "load_after": after_load[show],
            "new": (after_load - start.base_load)[show],
        }
    )


def _figures(
    chosen: _Chosen,
    rec: pd.DataFrame,
    dropped: int,
    before_count: np.ndarray,
    after_count: np.ndarray,
    params: PairingParams,
) -> dict[str, Any]:
    """The summary's figures of the pairings (before the objectives)."""
    v, scope_mask = chosen.valued, chosen.valued.start.scope_mask
    return {
        "min_partners": params.min_partners,
        "candidates": len(v.cands),
        "candidates_adding_arcs": int(v.adds_arcs.sum()),
        "value_kind": v.mode,
        "new_pairings": int((rec["status"] == "new").sum()),
        "dropped_pairings": dropped,
        "pairings_before": len(v.start.dataset.pairings),
        "pairings_after": len(chosen.table),
        "short_before": int((before_count[scope_mask] < params.min_partners).sum()),
        "short_after": int((after_count[scope_mask] < params.min_partners).sum()),
        "sum_of_values": round(float(v.values[chosen.pick].sum()), 6),
        "total_value": round(float(chosen.model_value), 6),
    }


def _served_text(served: dict[str, int]) -> str:
    return ";".join(f"{c}:{h}" for c, h in served.items())
