"""Results of a succeeded run: tables as JSON pages, CSV and Parquet; KPIs; GeoJSON.

A key scoped to districts reads only rows of those districts.
"""

from __future__ import annotations

import io
import json
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api import crud, store
from api.db.models import Assignment, DatasetRow, DemandStatus, Funding, Lead, Run
from api.deps import Principal, RunId, SessionDep, Viewer, district_scope
from api.errors import ApiError, no_results, responses
from api.routes.runs import get_run
from api.schemas import (
    AssignmentPublic,
    DemandStatusPublic,
    FundingPublic,
    LeadPublic,
    Page,
    scope_kpis,
)
from matcher.i18n import N_, Text
from matcher.inputs.io import frame_csv_text
from matcher.report import export

__all__ = ["check_dataset", "router", "succeeded_run"]

router = APIRouter(
    prefix="/runs", tags=["results"], responses=responses(400, 401, 403, 413, 404, 409, 422)
)

District = Annotated[str | None, Query(max_length=200, description="Only this district.")]

# The spec's column order for downloads (the JSON adds district and the like).
ASSIGNMENT_CSV = [c for c in store.ASSIGNMENT_FIELDS if c != "district"]
DEMAND_STATUS_CSV = store.DEMAND_STATUS_FIELDS
FUNDING_CSV = ["resource_id", "unit_id", "demand_id", "community_id", "amount"]
LEAD_CSV = ["demand_id", "unit_id", "effort", "cost"]

_CSV = {"content": {"text/csv": {"schema": {"type": "string"}}}, "description": "CSV"}
_PARQUET = {
    "content": {
        "application/vnd.apache.parquet": {"schema": {"type": "string", "format": "binary"}}
    },
    "description": "Parquet",
}
_GEOJSON = {
    "content": {"application/geo+json": {"schema": {"type": "object"}}},
    "description": "RFC 7946 FeatureCollection",
}


def succeeded_run(session: Session, run_id: str) -> Run:
    """The run, which must have succeeded (404 if missing, 409 if not succeeded)."""
    run = get_run(session, run_id)
    if run.status != "succeeded":
        raise no_results(run_id, run.status)
    return run


def check_dataset(session: Session, run: Run) -> None:
    """409 when the dataset the run planned has been deleted since."""
    if session.get(DatasetRow, run.dataset_id) is None:
        raise ApiError(409, "no_dataset", Text(N_("the dataset of run {id} is gone"), id=run.id))


def _download(frame: pd.DataFrame, fmt: str, name: str) -> Response:
    if fmt == "csv":
        # Formula cells neutralised as in the command line's files (matcher.csvsafe).
        data = frame_csv_text(frame).encode("utf-8")
        media = "text/csv; charset=utf-8"
    else:
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        data = buffer.getvalue()
        media = "application/vnd.apache.parquet"
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


class TableFilters(BaseModel):
    """Filters of a result table's rows (all optional; combined with AND)."""

    model_config = ConfigDict(extra="forbid")

    district: str | None = Field(default=None, max_length=200, description="Only this district.")
    community_id: str | None = Field(
        default=None, max_length=200, description="Only this community."
    )
    category: str | None = Field(default=None, max_length=200, description="Only this category.")


class UnitFilters(TableFilters):
    """Filters of assignments, funding and leads."""

    unit_id: str | None = Field(default=None, max_length=200, description="Only this unit.")


class StatusFilters(TableFilters):
    """Filters of demand_status."""

    status: Literal["met", "partial", "unmet"] | None = Field(
        default=None, description="Only demands with this status."
    )


class _Page(BaseModel):
    limit: int = Field(default=100, ge=1, le=10000, description="Rows per page.")
    offset: int = Field(default=0, ge=0, le=2**31 - 1, description="Rows to skip.")


class PagedUnitFilters(UnitFilters, _Page):
    """Filters of assignments, funding and leads, and a page."""


class PagedStatusFilters(StatusFilters, _Page):
    """Filters of demand_status, and a page."""


def _filters(filters: BaseModel) -> dict[str, str | None]:
    values: dict[str, str | None] = filters.model_dump(
        exclude={"district", "limit", "offset"}, exclude_none=True
    )
    return values


def _add_table_routes(
    name: str,
    model: Any,
    by_status: bool,
    public: type[BaseModel],
    fields: list[str],
    csv_fields: list[str],
    what: str,
) -> None:
    """Register ``/runs/{id}/NAME`` (JSON pages), ``NAME.csv`` and ``NAME.parquet``."""
    filter_model: type[BaseModel] = StatusFilters if by_status else UnitFilters
    paged_model: type[BaseModel] = PagedStatusFilters if by_status else PagedUnitFilters

    def query_for(
        session: Session, run_id: str, who: Principal, filters: TableFilters, columns: list[str]
    ) -> crud.ResultQuery:
        """The rows a request reads: 404/409 unless the run succeeded, 403 for a district
        the key may not read."""
        succeeded_run(session, run_id)
        districts = district_scope(who, filters.district)
        return crud.ResultQuery(model, columns, run_id, _filters(filters), districts)

    def page(
        run_id: RunId,
        session: SessionDep,
        who: Viewer,
        filters: PagedUnitFilters,  # replaced below by the table's filter model
    ) -> Any:
        query = query_for(session, run_id, who, filters, fields)
        items, total = crud.result_page(session, query, filters.limit, filters.offset)
        return {"items": items, "total": total, "limit": filters.limit, "offset": filters.offset}

    def download(fmt: str) -> Any:
        def route(
            run_id: RunId,
            session: SessionDep,
            who: Viewer,
            filters: UnitFilters,  # replaced below by the table's filter model
        ) -> Response:
            frame = crud.result_frame(session, query_for(session, run_id, who, filters, csv_fields))
            for column in csv_fields:
                if column in ("funds", "km", "amount", "effort", "cost"):
                    frame[column] = frame[column].astype("float64")
            return _download(frame, fmt, name)

        route.__annotations__["filters"] = Annotated[filter_model, Query()]
        return route

    page.__annotations__["filters"] = Annotated[paged_model, Query()]
    router.add_api_route(
        f"/{{run_id}}/{name}",
        page,
        methods=["GET"],
        response_model=Page[public],  # type: ignore[valid-type]
        summary=f"The plan's {name}, as JSON pages",
        description=f"{what} Filtered, paginated, in the plan's order; a district-scoped key "
        "reads only its districts' rows.",
        name=f"{name}_json",
    )
    for fmt, spec in (("csv", _CSV), ("parquet", _PARQUET)):
        router.add_api_route(
            f"/{{run_id}}/{name}.{fmt}",
            download(fmt),
            methods=["GET"],
            response_class=Response,
            responses={200: spec},
            summary=f"The plan's {name} as {fmt.upper()}",
            description=f"{what} As a {fmt.upper()} download ({name}.{fmt}), filtered.",
            name=f"{name}_{fmt}",
        )


_add_table_routes(
    "assignments",
    Assignment,
    False,
    AssignmentPublic,
    store.ASSIGNMENT_FIELDS,
    ASSIGNMENT_CSV,
    "Who gives how many hours to which demand, through which tie.",
)
_add_table_routes(
    "demand_status",
    DemandStatus,
    True,
    DemandStatusPublic,
    DEMAND_STATUS_CSV,
    DEMAND_STATUS_CSV,
    "Every demand's covered hours, status and reason.",
)
_add_table_routes(
    "funding",
    Funding,
    False,
    FundingPublic,
    store.FUNDING_FIELDS,
    FUNDING_CSV,
    "Funds granted to demands by funds resources (empty without the funds rule).",
)
_add_table_routes(
    "leads",
    Lead,
    False,
    LeadPublic,
    store.LEAD_FIELDS,
    LEAD_CSV,
    "The lead unit chosen per demand (empty without lead_options.csv).",
)


# ---- KPIs and map ---------------------------------------------------------------------


@router.get("/{run_id}/kpis", response_model=dict[str, Any])
def kpis(
    run_id: RunId, session: SessionDep, who: Viewer, district: District = None
) -> dict[str, Any]:
    """The plan's KPIs (``kpis.json``). With ``district``, or for a district-scoped key,
    only the solver's figures and those districts' coverage."""
    run = succeeded_run(session, run_id)
    return scope_kpis(run.kpis or {}, district_scope(who, district)) or {}


@router.get("/{run_id}/communities.geojson", response_class=Response, responses={200: _GEOJSON})
def communities_geojson(
    run_id: RunId, session: SessionDep, who: Viewer, district: District = None
) -> Response:
    """Communities with their coverage as an RFC 7946 FeatureCollection (``[lon, lat]``)."""
    run = succeeded_run(session, run_id)
    districts = district_scope(who, district)
    check_dataset(session, run)
    communities = store.load_frames(session, run.dataset_id)["communities"]
    fields = ["community_id", "hours", "covered_hours"]
    status = crud.result_frame(session, crud.ResultQuery(DemandStatus, fields, run_id, {}, None))
    collection = export.communities_geojson(communities, status, districts)
    body = json.dumps(collection, ensure_ascii=False)
    return Response(body, media_type="application/geo+json")
