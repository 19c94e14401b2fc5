"""``/cycles/{id}/comments``, ``/objections`` and ``/versions``: the discussion of the
draft, the answers to the public notice's objections and the published versions.

Objections are filed without a key under ``/public`` (:mod:`api.routes.public`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.cycles import core, discussion, notice
from api.cycles.access import ActorDep
from api.cycles.schemas_notice import (
    CommentCreate,
    CommentPublic,
    ObjectionAnswerCreate,
    ObjectionPublic,
    ProjectPublic,
    VersionDetail,
    VersionPublic,
)
from api.deps import SessionDep
from api.errors import responses
from api.routes.cycles import CYCLE_RESPONSES, CycleId

__all__ = ["router"]

router = APIRouter(prefix="/cycles", tags=["cycles"], responses=CYCLE_RESPONSES)

ObjectionId = Annotated[int, Path(ge=1, le=2**31 - 1, description="An objection's id.")]
VersionNo = Annotated[int, Path(ge=1, le=100000, description="A published version's number.")]


@router.post(
    "/{cycle_id}/comments",
    status_code=201,
    response_model=CommentPublic,
    responses=responses(409, 422),
)
def add_comment(
    cycle_id: CycleId, body: CommentCreate, session: SessionDep, actor: ActorDep
) -> CommentPublic:
    """Comment on the draft or one of its projects (communities, units and planners, in
    ``discussion``); a community key narrowed to communities only on theirs."""
    cycle = core.get_cycle(session, cycle_id, actor)
    row = discussion.add_comment(
        session, cycle, actor, kind=body.kind, body=body.body, demand_id=body.demand_id
    )
    return CommentPublic.from_row(row)


@router.get("/{cycle_id}/comments", response_model=list[CommentPublic])
def list_comments(cycle_id: CycleId, session: SessionDep, actor: ActorDep) -> list[CommentPublic]:
    """The discussion's comments, oldest first."""
    cycle = core.get_cycle(session, cycle_id, actor)
    return [CommentPublic.from_row(r) for r in discussion.list_comments(session, cycle, actor)]


@router.get("/{cycle_id}/objections", response_model=list[ObjectionPublic])
def list_objections(
    cycle_id: CycleId, session: SessionDep, actor: ActorDep
) -> list[ObjectionPublic]:
    """The objections to the public notice, oldest first; the objector's contact is
    shown to planners and admins only."""
    cycle = core.get_cycle(session, cycle_id, actor)
    rows = notice.list_objections(session, cycle, actor)
    return [ObjectionPublic.from_row(r, contact=actor.is_planner) for r in rows]


@router.post(
    "/{cycle_id}/objections/{objection_id}/answer",
    response_model=ObjectionPublic,
    responses=responses(409, 422),
)
def answer_objection(
    cycle_id: CycleId,
    objection_id: ObjectionId,
    body: ObjectionAnswerCreate,
    session: SessionDep,
    actor: ActorDep,
) -> ObjectionPublic:
    """Answer an objection (planners, in ``public_notice``; once). The answer and
    whether it is upheld are published."""
    cycle = core.get_cycle(session, cycle_id, actor)
    row = notice.answer_objection(
        session, cycle, actor, objection_id, answer=body.answer, upheld=body.upheld
    )
    return ObjectionPublic.from_row(row, contact=actor.is_planner)


@router.get("/{cycle_id}/versions", response_model=list[VersionPublic])
def list_versions(cycle_id: CycleId, session: SessionDep, actor: ActorDep) -> list[VersionPublic]:
    """The published versions of the project list, oldest first."""
    cycle = core.get_cycle(session, cycle_id, actor)
    return [VersionPublic.from_row(v, n) for v, n in notice.list_versions(session, cycle, actor)]


@router.get("/{cycle_id}/versions/{version}", response_model=VersionDetail)
def read_version(
    cycle_id: CycleId, version: VersionNo, session: SessionDep, actor: ActorDep
) -> VersionDetail:
    """A published version: its projects (no cadre named) and its diff against the
    version before (null for the first)."""
    cycle = core.get_cycle(session, cycle_id, actor)
    row, projects = notice.get_version(session, cycle, actor, version)
    head = VersionPublic.from_row(row, len(projects))
    return VersionDetail(
        **head.model_dump(),
        diff=row.diff,
        items=[ProjectPublic.from_row(p) for p in projects],
    )
