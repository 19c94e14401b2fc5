"""``/runs/{id}/diff``: one run against another, through ``matcher.analysis.compare``.

A key scoped to districts compares only its districts: the assignments and demands of
other districts are left out of both plans, and the KPIs are the scoped ones.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.db.models import Run
from api.deps import SessionDep, Viewer
from api.errors import responses
from api.routes.reports import run_tables
from api.routes.results import succeeded_run
from api.schemas import scope_kpis
from matcher.analysis.compare import PlanRecord, compare_plans

__all__ = ["router"]

router = APIRouter(
    prefix="/runs", tags=["results"], responses=responses(400, 401, 403, 413, 404, 409, 422)
)

RunId = Annotated[str, Path(min_length=1, max_length=32, description="A run's id.")]


class DiffPublic(BaseModel):
    """A run compared with a reference run (``against``)."""

    plans: list[str] = Field(description="Run ids: the reference first, then this run.")
    reference: str
    kpis: dict[str, dict[str, Any]] = Field(description="KPI values by run.")
    deltas: dict[str, dict[str, Any]] = Field(description="Numeric KPIs minus the reference's.")
    diff_counts: dict[str, dict[str, Any]] = Field(
        description="Assignments added, removed, changed; demands whose status changed."
    )
    assignment_changes: list[dict[str, Any]] = Field(
        description="Assignments added, removed or changed in hours (keyed by supplier, "
        "demand and tie), with the hours before and after."
    )
    demand_changes: list[dict[str, Any]] = Field(
        description="Demands whose covered hours or status changed."
    )


def _record(session: Session, run: Run, districts: list[str] | None) -> PlanRecord:
    tables = run_tables(session, run, districts)
    kpis = scope_kpis(tables.kpis, districts) or {}
    return PlanRecord(run.id, kpis, tables.assignments, tables.demand_status)


@router.get("/{run_id}/diff", response_model=DiffPublic, summary="Compare two runs' plans")
def diff(
    run_id: RunId,
    session: SessionDep,
    who: Viewer,
    against: Annotated[
        str, Query(min_length=1, max_length=32, description="The reference run's id.")
    ],
) -> DiffPublic:
    """This run's plan against the ``against`` run's: KPIs with deltas, assignments
    added, removed and changed in hours, demands whose status changed. Both runs must
    have succeeded (409 otherwise). The diff of a run with itself is empty."""
    reference = succeeded_run(session, against)
    run = succeeded_run(session, run_id)
    records = [_record(session, r, who.districts) for r in (reference, run)]
    data = compare_plans(records).to_dict()
    return DiffPublic(**data)
