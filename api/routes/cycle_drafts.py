"""``/cycles/{id}/runs``, ``/cycles/{id}/draft``, ``/cycles/{id}/edits``: plan runs on
the cycle's lists, the run adopted as the draft, its edits and the stable plan against
the cycle before."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from api.cycles import core, drafts
from api.cycles.access import Actor, ActorDep
from api.cycles.schemas_drafts import (
    AdoptCreate,
    CycleRunCreate,
    DraftEditsCreate,
    DraftPublic,
    EditPublic,
    EditResult,
    StableCreate,
)
from api.db.models import CycleEdit, Run
from api.deps import Principal, SessionDep, SettingsDep, current_principal
from api.errors import responses
from api.routes.cycles import CYCLE_RESPONSES, CycleId
from api.routes.runs import ACCEPTED
from api.schemas import RunPublic

__all__ = ["router"]

router = APIRouter(prefix="/cycles/{cycle_id}", tags=["cycles"], responses=CYCLE_RESPONSES)


def _result(session: SessionDep, row: CycleEdit) -> EditResult:
    before = session.get(Run, row.run_before) if row.run_before else None
    after = session.get(Run, row.run_after)
    return EditResult(
        edit_id=row.id,
        run_id=row.run_after,
        run_before=row.run_before,
        churn=row.churn,
        objective_before=before.objective if before is not None else None,
        objective_after=after.objective if after is not None else None,
    )


@router.post(
    "/runs",
    status_code=202,
    response_model=RunPublic,
    responses={**ACCEPTED, **responses(409, 422)},
)
def queue_cycle_run(
    cycle_id: CycleId,
    body: CycleRunCreate,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    who: Annotated[Principal, Depends(current_principal)],
) -> RunPublic:
    """Queue a plan run on the cycle's lists (planners, in planning); 202 with
    ``Location``."""
    actor = Actor.of(who)
    cycle = core.get_cycle(session, cycle_id, actor)
    run = drafts.queue_run(
        request, session, settings, cycle, actor, body.model_dump(exclude_unset=True)
    )
    response.headers["Location"] = f"/runs/{run.id}"
    return RunPublic.from_row(run)


@router.post("/draft", response_model=DraftPublic, responses=responses(409, 422))
def adopt_draft(
    cycle_id: CycleId, body: AdoptCreate, session: SessionDep, actor: ActorDep
) -> DraftPublic:
    """Adopt a succeeded plan run of the cycle's lists as the draft (the reviews given
    so far are voided)."""
    cycle = core.get_cycle(session, cycle_id, actor)
    drafts.adopt_run(session, cycle, actor, body.run_id)
    return DraftPublic(**drafts.draft_projects(session, cycle, actor))


@router.get("/draft", response_model=DraftPublic, responses=responses(409))
def read_draft(cycle_id: CycleId, session: SessionDep, actor: ActorDep) -> DraftPublic:
    """The draft project list: with its suppliers for planners and reviewers, the public
    list (units only) for everyone else."""
    cycle = core.get_cycle(session, cycle_id, actor)
    return DraftPublic(**drafts.draft_projects(session, cycle, actor))


@router.post(
    "/draft/edits", status_code=201, response_model=EditResult, responses=responses(409, 422)
)
def edit_draft(
    cycle_id: CycleId, body: DraftEditsCreate, session: SessionDep, actor: ActorDep
) -> EditResult:
    """Edit the draft (exclude, pin, move hours) by a stable re-plan stored as a new run
    and adopted; the reviews given so far are voided."""
    cycle = core.get_cycle(session, cycle_id, actor)
    row = drafts.edit(
        session,
        cycle,
        actor,
        [e.model_dump(exclude_none=True) for e in body.edits],
        body.change_penalty,
    )
    return _result(session, row)


@router.post(
    "/draft/stable", status_code=201, response_model=EditResult, responses=responses(409, 422)
)
def stable_draft(
    cycle_id: CycleId, body: StableCreate, session: SessionDep, actor: ActorDep
) -> EditResult:
    """Plan the cycle's lists keeping the cycle before's published list where it can
    (``change_penalty`` per hour changed), adopted as the draft; 409 when the cycle
    has no cycle before with a published list."""
    cycle = core.get_cycle(session, cycle_id, actor)
    from api.cycles.access import authorize

    authorize(actor, cycle, "edit_draft")
    previous = drafts.previous_version_run(session, cycle)
    row = drafts.stable_plan(session, cycle, actor, previous, body.change_penalty)
    return _result(session, row)


@router.get("/edits", response_model=list[EditPublic])
def read_edits(cycle_id: CycleId, session: SessionDep, actor: ActorDep) -> list[EditPublic]:
    """The edits made to the draft, oldest first (planners and reviewers)."""
    cycle = core.get_cycle(session, cycle_id, actor)
    return [EditPublic.from_row(r) for r in drafts.list_edits(session, cycle, actor)]
