"""A run's HTML report (``matcher.report``), optionally compared with another run.

The report shows city-wide figures (totals, every district's coverage, the map of every
community), so a key scoped to districts is refused with 403 rather than shown a page that
would leak other districts' results; such keys read their districts' rows through the
result tables and the GeoJSON.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sqlalchemy.orm import Session

from api import store
from api.db.models import Assignment, DatasetRow, DemandStatus, Run
from api.deps import SessionDep, Viewer
from api.errors import ApiError, responses
from api.routes.results import ASSIGNMENT_CSV, DEMAND_STATUS_CSV, _frame, succeeded_run
from matcher.errors import MatcherError
from matcher.report import PlanTables, build_report

router = APIRouter(
    prefix="/runs", tags=["reports"], responses=responses(400, 401, 403, 413, 404, 409, 422)
)

RunId = Annotated[str, Path(min_length=1, max_length=32, description="A run's id.")]
Against = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=32,
        description="Another succeeded run to compare with (KPIs with deltas, demands "
        "whose coverage changed, assignments added and removed).",
    ),
]

_HTML = {
    "content": {"text/html": {"schema": {"type": "string"}}},
    "description": "One self-contained HTML page (no network needed to view it)",
}


def run_tables(session: Session, run: Run, districts: list[str] | None = None) -> PlanTables:
    """A stored run as the report reads it: its tables (only ``districts``' rows when
    given), KPIs and parameters."""
    assignments = _frame(session, Assignment, ASSIGNMENT_CSV, run.id, {}, districts)
    status = _frame(session, DemandStatus, DEMAND_STATUS_CSV, run.id, {}, districts)
    assignments["km"] = assignments["km"].astype("float64")
    status["funds"] = status["funds"].astype("float64")
    dataset = session.get(DatasetRow, run.dataset_id)
    return PlanTables(
        label=run.label or f"run {run.id[:8]}",
        assignments=assignments,
        demand_status=status,
        kpis=dict(run.kpis or {}),
        params=dict(run.params or {}),
        dataset_source=dataset.name if dataset is not None else "",
        dataset_hash=dataset.content_hash if dataset is not None else "",
    )


@router.get(
    "/{run_id}/report",
    response_class=Response,
    responses={200: _HTML},
    summary="The plan's HTML report",
)
def report(run_id: RunId, session: SessionDep, who: Viewer, against: Against = None) -> Response:
    """One self-contained HTML page: KPIs, a map of the communities by coverage, coverage
    by district and category, supply against demand per skill, supplier utilization, the
    largest unmet demands with their reasons, and with ``against`` a comparison with
    another run. Keys scoped to districts get 403 (the report shows every district)."""
    if who.districts is not None:
        raise ApiError(
            403,
            "forbidden_report",
            "the report shows every district's results; this key may read only districts "
            f"{', '.join(who.districts)}: read them from /runs/{{id}}/demand_status, "
            "/assignments or /communities.geojson instead",
        )
    run = succeeded_run(session, run_id)
    row = session.get(DatasetRow, run.dataset_id)
    if row is None:
        raise ApiError(409, "no_dataset", f"the dataset of run {run_id} is gone")
    other = None
    if against is not None:
        other = run_tables(session, succeeded_run(session, against))
    this = run_tables(session, run)
    dataset = store.load_dataset(session, run.dataset_id, row.name)
    try:
        page = build_report(this, dataset, other=other)
    except MatcherError as exc:
        raise ApiError(409, "report_failed", f"the report of run {run_id} failed: {exc}") from None
    return Response(page, media_type="text/html; charset=utf-8")
