"""Explanations of a succeeded run (``matcher.explain``): bottlenecks, one demand's
explanation, and plain-language summaries.

Computed on request from the stored run (its tables, parameters and dataset); nothing is
cached in the store. A key scoped to districts reads the bottlenecks of its districts'
suppliers, the explanations of its districts' demands (what their nearest suppliers
serve instead is listed only within its districts) and its districts' summaries.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api import store
from api.db.models import DatasetRow, DemandStatus, Run
from api.deps import SessionDep, Viewer
from api.errors import ApiError, not_found, responses
from api.routes.reports import run_tables
from api.routes.results import _scope, succeeded_run
from api.schemas import DemandStatusPublic, Page
from matcher.errors import MatcherError
from matcher.explain import (
    ExplainError,
    ExplainParams,
    bottlenecks,
    demand_explanation,
    summaries,
)
from matcher.report import PlanTables

router = APIRouter(
    prefix="/runs", tags=["explanations"], responses=responses(400, 401, 403, 413, 404, 409, 422)
)

RunId = Annotated[str, Path(min_length=1, max_length=32, description="A run's id.")]
DemandId = Annotated[str, Path(min_length=1, max_length=200, description="A demand's id.")]
District = Annotated[str | None, Query(max_length=200, description="Only this district.")]


class BottleneckPublic(BaseModel):
    """The marginal value of one more hour of a skill at the suppliers of a district."""

    rank: int = Field(description="1 = the most valuable hour.")
    skill: str
    district: str = Field(description="The suppliers' district (home community's, else unit's).")
    marginal_value: float = Field(
        description="What one more hour of the skill at the best supplier of the district "
        "adds to the optimal objective (0: it would stay unused)."
    )
    suppliers: int = Field(description="Suppliers of the district with the skill.")
    supplier_hours: int = Field(description="Their hours.")
    supplier_kind: str | None = Field(description="Where to add the hour (null when worth 0).")
    supplier_id: str | None
    demand_id: str | None = Field(description="The demand the new hour serves.")
    community_id: str | None
    gaining_demand_id: str | None = Field(
        description="The demand whose covered hours rise (null: the hour replaces a worse one)."
    )
    gaining_community_id: str | None
    moves: str | None = Field(description="The hours that move, e.g. '+1 K1->D3; -1 K2->D3'.")


class DemandDetailPublic(DemandStatusPublic):
    """A demand's status, with its community's name."""

    community_name: str


class ValuedAssignmentPublic(BaseModel):
    """An assignment with the value it adds to the objective."""

    supplier_kind: str
    supplier_id: str
    unit_id: str
    demand_id: str
    community_id: str
    district: str
    category: str
    priority: int
    hours: int
    km: float
    tie: str
    hour_score: float = Field(description="priority_weight * priority - travel_cost_per_km * km.")
    value: float = Field(description="hours * hour_score.")


class NearestSupplierPublic(BaseModel):
    """A supplier near a demand, and where its hours went."""

    rank: int
    supplier_kind: str
    supplier_id: str
    unit_id: str
    km: float
    tie: str = Field(description="Its tie to the demand's community ('' when none).")
    eligible: bool = Field(description="Whether it may serve the demand (skill and tie).")
    hour_score: float = Field(description="What an hour from it would score at this demand.")
    hours: int
    hours_here: int
    hours_elsewhere: int
    hours_left: int
    serves_instead: str


class DemandExplanationPublic(BaseModel):
    """Why a demand got the hours it got."""

    demand: DemandDetailPublic
    reason_text: str = Field(description="The reason in plain English ('' when met).")
    assignments: list[ValuedAssignmentPublic] = Field(description="Who serves it.")
    nearest: list[NearestSupplierPublic] = Field(
        description="The nearest suppliers that could serve it (or, when none could, the "
        "nearest with its skill)."
    )
    elsewhere: list[ValuedAssignmentPublic] = Field(
        description="What those suppliers serve instead."
    )


class SummaryPublic(BaseModel):
    """A plain-language summary of a district or a community."""

    scope: Literal["district", "community"]
    id: str
    name: str
    lang: Literal["en", "zh"]
    text: str


def _stored_plan(session: Session, run: Run) -> tuple[PlanTables, Any]:
    row = session.get(DatasetRow, run.dataset_id)
    if row is None:
        raise ApiError(409, "no_dataset", f"the dataset of run {run.id} is gone")
    return run_tables(session, run), store.load_dataset(session, run.dataset_id, row.name)


def _rows(frame: pd.DataFrame, empty_is_null: bool = False) -> list[dict[str, Any]]:
    """A frame's rows as JSON-ready dicts (with ``""`` as null when asked)."""
    return [
        {str(k): (None if empty_is_null and v == "" else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


@router.get("/{run_id}/bottlenecks", response_model=Page[BottleneckPublic])
def get_bottlenecks(
    run_id: RunId,
    session: SessionDep,
    who: Viewer,
    district: District = None,
    limit: Annotated[int, Query(ge=1, le=10000, description="Rows per page.")] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1, description="Rows to skip.")] = 0,
) -> dict[str, Any]:
    """The marginal value of one more hour of each skill in each district, ranked (the
    most valuable first), with the supplier to add it at and the demands that would take
    it. 409 for a run whose labour model has integer rules (it has no marginal values)."""
    run = succeeded_run(session, run_id)
    districts = _scope(who, district)
    tables, dataset = _stored_plan(session, run)
    try:
        table = bottlenecks(tables, dataset)
    except ExplainError as exc:
        raise ApiError(409, "no_marginal_values", f"run {run_id}: {exc}") from None
    except MatcherError as exc:
        raise ApiError(409, "explain_failed", f"run {run_id} cannot be explained: {exc}") from None
    if districts is not None:
        table = table[table["district"].isin(districts)]
    rows = _rows(table, empty_is_null=True)
    return {
        "items": rows[offset : offset + limit],
        "total": len(rows),
        "limit": limit,
        "offset": offset,
    }


@router.get("/{run_id}/demands/{demand_id}/explanation", response_model=DemandExplanationPublic)
def get_demand_explanation(
    run_id: RunId,
    demand_id: DemandId,
    session: SessionDep,
    who: Viewer,
    nearest: Annotated[int, Query(ge=1, le=100, description="Suppliers to list.")] = 5,
) -> dict[str, Any]:
    """Why one demand got the hours it got: its status and reason, who serves it (with
    the value each assignment adds), the nearest suppliers that could have served it and
    what they serve instead. 404 for a demand not in the run; 403 for a demand outside a
    district-scoped key's districts."""
    run = succeeded_run(session, run_id)
    found = session.execute(
        select(DemandStatus.district).where(
            DemandStatus.run_id == run_id, DemandStatus.demand_id == demand_id
        )
    ).scalar_one_or_none()
    if found is None:
        raise not_found(f"demand in run {run_id}", demand_id)
    if not who.can_read_district(found):
        raise ApiError(
            403,
            "forbidden_district",
            f"demand {demand_id} is in district {found}; this key may read only districts "
            f"{', '.join(who.districts or [])}",
        )
    tables, dataset = _stored_plan(session, run)
    try:
        ex = demand_explanation(tables, dataset, demand_id, ExplainParams(nearest=nearest))
    except MatcherError as exc:
        raise ApiError(409, "explain_failed", f"run {run_id} cannot be explained: {exc}") from None
    if who.districts is not None:
        ex = ex.scoped(who.districts)
    out = ex.to_dict()
    out["demand"]["funded"] = out["demand"].get("funded") or ""
    out["demand"]["reason"] = out["demand"].get("reason") or ""
    return out


@router.get("/{run_id}/summaries", response_model=list[SummaryPublic])
def get_summaries(
    run_id: RunId,
    session: SessionDep,
    who: Viewer,
    district: District = None,
    lang: Annotated[Literal["en", "zh"], Query(description="Language.")] = "en",
    scope: Annotated[
        Literal["district", "community"] | None,
        Query(description="Only district or only community summaries."),
    ] = None,
) -> list[dict[str, Any]]:
    """A few sentences per district and per community: hours demanded and covered,
    demands met, partial and unmet, the largest shortfalls with their main reason, the
    units giving the most hours and (districts) the bottleneck skill."""
    run = succeeded_run(session, run_id)
    districts = _scope(who, district)
    tables, dataset = _stored_plan(session, run)
    try:
        table = summaries(tables, dataset, ExplainParams(langs=(lang,)))
    except MatcherError as exc:
        raise ApiError(409, "explain_failed", f"run {run_id} cannot be explained: {exc}") from None
    if districts is not None:
        comm = dataset.communities
        inside = set(comm.loc[comm["district"].isin(districts), "community_id"].astype(str))
        keep = ((table["scope"] == "district") & table["id"].isin(districts)) | (
            (table["scope"] == "community") & table["id"].isin(inside)
        )
        table = table[keep]
    if scope is not None:
        table = table[table["scope"] == scope]
    return _rows(table)
