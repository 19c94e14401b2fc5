"""``/runs/{id}/diff``: one run against another, through ``matcher.analysis.compare``.

A key scoped to districts compares only its districts: the assignments and demands of
other districts are left out of both plans, and the KPIs are the scoped ones.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.artifacts import stored_plan
from api.db.models import Run
from api.deps import RunId, SessionDep, Viewer
from api.errors import responses
from api.routes.results import succeeded_run
from api.schemas import scope_kpis
from matcher.analysis.compare import compare_plans
from matcher.plans.result import Plan

__all__ = ["router"]

router = APIRouter(
    prefix="/runs", tags=["results"], responses=responses(400, 401, 403, 413, 404, 409, 422)
)


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


def _plan(session: Session, run: Run, districts: list[str] | None) -> Plan:
    plan = stored_plan(session, run, districts)
    return replace(plan, label=run.id, kpis=scope_kpis(plan.kpis, districts) or {})


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
    records = [_plan(session, r, who.districts) for r in (reference, run)]
    data = compare_plans(records).to_dict()
    return DiffPublic(**data)
