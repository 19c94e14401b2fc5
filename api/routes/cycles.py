"""``/cycles``: quarterly cycles, their phase moves and their audit log.

The lists, the draft, the discussion, the notice, the deliveries and the evaluation have
routes of their own (``cycle_*.py``); each calls :mod:`api.cycles` and nothing else.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.cycles import audit, core
from api.cycles.access import ActorDep
from api.cycles.schemas import AuditPublic, CycleCreate, CyclePublic, MoveCreate, Period
from api.deps import RowsLimit, RowsOffset, SessionDep
from api.errors import responses
from api.schemas import Page
from matcher.cycle.phases import TRANSITIONS

__all__ = ["CYCLE_RESPONSES", "PUBLIC_RESPONSES", "CycleId", "router"]

CYCLE_RESPONSES = responses(400, 401, 403, 404, 409, 413, 422)
"""The errors every cycle route may answer (a wrong role or scope 403, a phase 409)."""

PUBLIC_RESPONSES = responses(400, 404, 409, 413, 422, 429)
"""The errors every public route may answer (no key: no 401 nor 403 but a bad token)."""

router = APIRouter(prefix="/cycles", tags=["cycles"], responses=CYCLE_RESPONSES)

CycleId = Annotated[str, Path(min_length=1, max_length=32, description="A cycle's id.")]
"""A cycle's id in a route's path."""

Move = Annotated[
    str,
    Path(
        pattern="^(" + "|".join(dict.fromkeys(t.action for t in TRANSITIONS)) + ")$",
        description="A move between phases (docs/cycle.md).",
    ),
]


@router.post("", status_code=201, response_model=CyclePublic, responses=responses(422))
def create_cycle(body: CycleCreate, session: SessionDep, actor: ActorDep) -> CyclePublic:
    """Open a cycle in ``collecting`` (planners and admins); its lists start from a
    stored dataset (its demands: those of the cycle's communities)."""
    cycle = core.create_cycle(
        session,
        actor,
        district=body.district,
        period=body.period,
        dataset_id=body.dataset_id,
        streets=body.streets,
        skipped=body.skipped,
        starts={str(k): v for k, v in body.starts.items()},
        options=body.options,
    )
    return CyclePublic.from_row(cycle, actor)


@router.get("", response_model=Page[CyclePublic])
def list_cycles(
    session: SessionDep,
    actor: ActorDep,
    limit: RowsLimit = 50,
    offset: RowsOffset = 0,
    district: Annotated[str | None, Query(max_length=200)] = None,
    period: Period | None = None,
) -> Page[CyclePublic]:
    """The cycles in the caller's scope, newest first."""
    rows, total = core.list_cycles(
        session, actor, district=district, period=period, limit=limit, offset=offset
    )
    return Page(
        items=[CyclePublic.from_row(r, actor) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/{cycle_id}", response_model=CyclePublic)
def read_cycle(cycle_id: CycleId, session: SessionDep, actor: ActorDep) -> CyclePublic:
    """A cycle, with the moves its phase allows and what the caller may do now."""
    return CyclePublic.from_row(core.get_cycle(session, cycle_id, actor), actor)


@router.post(
    "/{cycle_id}/moves/{action}", response_model=CyclePublic, responses=responses(409, 422)
)
def move_cycle(
    cycle_id: CycleId,
    action: Move,
    session: SessionDep,
    actor: ActorDep,
    body: MoveCreate | None = None,
) -> CyclePublic:
    """Move the cycle on (``submit``, ``approve``, ``return``, ``publish`` ...): 403 for
    a role that may not, 409 naming the phase and what it allows, 422 for a missing
    reason."""
    cycle = core.get_cycle(session, cycle_id, actor)
    core.move(session, cycle, actor, action, body.reason if body else "")
    return CyclePublic.from_row(cycle, actor)


@router.get("/{cycle_id}/audit", response_model=Page[AuditPublic])
def read_audit(
    cycle_id: CycleId,
    session: SessionDep,
    actor: ActorDep,
    limit: RowsLimit = 100,
    offset: RowsOffset = 0,
) -> Page[AuditPublic]:
    """The cycle's audit log, oldest first: every entry for planners, the reviewers'
    and public ones for reviewers, the public ones for everyone else."""
    cycle = core.get_cycle(session, cycle_id, actor)
    rows, total = audit.entries(session, cycle.id, audit.readable(actor.role), limit, offset)
    return Page(
        items=[AuditPublic.from_row(r) for r in rows], total=total, limit=limit, offset=offset
    )
