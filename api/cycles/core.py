"""Cycles: made, listed, read, and moved between phases.

A move is one row of :data:`matcher.cycle.phases.TRANSITIONS`, allowed by
:mod:`matcher.cycle.roles`; what a move needs or does besides changing the phase is one
entry of :data:`ON_MOVE` (the lists' snapshot when planning opens, the draft before it
is submitted, a review's decision, the published version, the points at closing).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from api.cycles import audit
from api.cycles.access import Actor, authorize, forbidden_role, in_scope, may_read
from api.db.models import Cycle, CycleEdit, CycleReview, CycleVersion, DatasetRow, utcnow
from api.db.session import rowcount
from api.errors import ApiError, not_found
from matcher.cycle.phases import Schedule
from matcher.errors import ParameterError, PhaseError
from matcher.i18n import N_, Text

__all__ = [
    "ON_MOVE",
    "REVIEW_PHASES",
    "create_cycle",
    "dataset_in_use",
    "get_cycle",
    "list_cycles",
    "move",
    "parameter_error",
    "run_in_use",
    "schedule_of",
    "valid_approvals",
]

REVIEW_PHASES = ("street_review", "district_review")
"""The two reviews (两审): each approves or returns the draft."""


def parameter_error(exc: ParameterError, status: int = 422) -> ApiError:
    """A library's refusal of a value as the service's error naming the field."""
    from api.errors import parameter_text

    return ApiError(
        status,
        "invalid_parameter",
        parameter_text(exc),
        [{"field": exc.name, "value": str(exc.value)[:200], "message": parameter_text(exc)}],
    )


def schedule_of(cycle: Cycle) -> Schedule:
    """The library's schedule of a stored cycle."""
    return Schedule.of(
        cycle.period,
        cycle.skipped,
        {p: dt.date.fromisoformat(d) for p, d in (cycle.starts or {}).items()},
    )


def create_cycle(  # noqa: PLR0913 -- a cycle's fields, all keyword-only
    session: Session,
    actor: Actor,
    *,
    district: str,
    period: str,
    dataset_id: str,
    streets: Sequence[str] | None = None,
    skipped: Sequence[str] = (),
    starts: dict[str, dt.date] | None = None,
    options: dict[str, Any] | None = None,
    previous_cycle_id: str | None = None,
) -> Cycle:
    """A new cycle in ``collecting``, its lists starting from a stored dataset.

    Raises 422 for a bad period, phase left out or start day (naming the field), 404 for
    an unknown dataset, 403 outside the key's scope."""
    try:
        schedule = Schedule.of(period, skipped, starts)
    except ParameterError as exc:
        raise parameter_error(exc) from None
    if session.get(DatasetRow, dataset_id) is None:
        raise not_found("dataset", dataset_id)
    cycle = Cycle(
        id=uuid.uuid4().hex,
        district=district,
        streets=sorted(set(streets)) if streets else None,
        period=schedule.period,
        phase="collecting",
        skipped=sorted(schedule.skipped),
        starts={p: d.isoformat() for p, d in schedule.starts.items()},
        base_dataset_id=dataset_id,
        previous_cycle_id=previous_cycle_id,
        options=dict(options or {}),
        created_by=actor.key_id,
        created_at=utcnow(),
        phase_since=utcnow(),
    )
    if not actor.is_planner:
        raise forbidden_role(actor, "create_cycle", ("planner", "admin"))
    may_read(actor, cycle)
    session.add(cycle)
    session.flush()
    audit.record(
        session,
        actor,
        "create_cycle",
        cycle_id=cycle.id,
        target=f"cycle:{cycle.id}",
        after={
            "district": cycle.district,
            "streets": cycle.streets,
            "period": cycle.period,
            "skipped": cycle.skipped,
            "starts": cycle.starts,
            "dataset_id": dataset_id,
            "previous_cycle_id": previous_cycle_id,
        },
        visibility="public",
    )
    return cycle


def get_cycle(session: Session, cycle_id: str, actor: Actor) -> Cycle:
    """The cycle, if the actor's scope covers it (404 / 403)."""
    cycle = session.get(Cycle, cycle_id)
    if cycle is None:
        raise ApiError(404, "not_found", Text(N_("no cycle with id {ident}"), ident=repr(cycle_id)))
    may_read(actor, cycle)
    return cycle


def list_cycles(
    session: Session,
    actor: Actor,
    *,
    district: str | None,
    period: str | None,
    limit: int,
    offset: int,
) -> tuple[list[Cycle], int]:
    """A page of the cycles in the actor's districts, newest first, and their total."""
    where: list[ColumnElement[bool]] = []
    if actor.districts is not None:
        where.append(Cycle.district.in_(list(actor.districts)))
    if district is not None:
        where.append(Cycle.district == district)
    if period is not None:
        where.append(Cycle.period == period)
    rows = session.execute(
        select(Cycle).where(*where).order_by(Cycle.created_at.desc(), Cycle.id)
    ).scalars()
    visible = [c for c in rows if in_scope(actor, c)]
    return visible[offset : offset + limit], len(visible)


def valid_approvals(session: Session, cycle: Cycle) -> dict[str, CycleReview | None]:
    """Each review phase the cycle uses, with its approval of the current draft that no
    edit has voided (``None`` when there is none)."""
    out: dict[str, CycleReview | None] = {}
    for phase in REVIEW_PHASES:
        if phase in cycle.skipped:
            continue
        out[phase] = session.execute(
            select(CycleReview)
            .where(
                CycleReview.cycle_id == cycle.id,
                CycleReview.phase == phase,
                CycleReview.decision == "approve",
                CycleReview.voided_at.is_(None),
                CycleReview.run_id == cycle.draft_run_id,
            )
            .order_by(CycleReview.id.desc())
            .limit(1)
        ).scalar_one_or_none()
    return out


def _review(session: Session, cycle: Cycle, actor: Actor, action: str, reason: str) -> None:
    """A review's decision: kept (with the draft it saw) and logged for the reviewers."""
    if action == "return" and not reason.strip():
        raise ApiError(
            422,
            "invalid_parameter",
            Text(N_("a returned list needs a reason")),
            [{"field": "reason", "message": Text(N_("required when returning the list"))}],
        )
    decision = "approve" if action == "approve" else "return"
    session.add(
        CycleReview(
            cycle_id=cycle.id,
            phase=cycle.phase,
            decision=decision,
            reason=reason,
            run_id=cycle.draft_run_id,
            by_key=actor.key_id,
            at=utcnow(),
        )
    )
    audit.record(
        session,
        actor,
        f"review_{decision}",
        cycle_id=cycle.id,
        target=f"cycle:{cycle.id}",
        after={
            "phase": cycle.phase,
            "decision": decision,
            "reason": reason,
            "run": cycle.draft_run_id,
        },
        visibility="reviewers",
    )


def _needs_reason(session: Session, cycle: Cycle, actor: Actor, action: str, reason: str) -> None:
    if not reason.strip():
        raise ApiError(
            422,
            "invalid_parameter",
            Text(N_("this move needs a reason")),
            [{"field": "reason", "message": Text(N_("required for {action}"), action=action)}],
        )


def _open_planning(session: Session, cycle: Cycle, actor: Actor, action: str, reason: str) -> None:
    from api.cycles.lists import snapshot

    snapshot(session, cycle, actor)


def _needs_draft(session: Session, cycle: Cycle, actor: Actor, action: str, reason: str) -> None:
    if cycle.draft_run_id is None:
        raise ApiError(
            409,
            "no_draft",
            Text(N_("cycle {id} has no draft project list: adopt a run first"), id=cycle.id),
        )


def _publish(session: Session, cycle: Cycle, actor: Actor, action: str, reason: str) -> None:
    from api.cycles.notice import publish

    publish(session, cycle, actor)


def _close(session: Session, cycle: Cycle, actor: Actor, action: str, reason: str) -> None:
    from api.cycles.evaluation import close

    close(session, cycle, actor)


Hook = Callable[[Session, Cycle, Actor, str, str], None]

ON_MOVE: dict[tuple[str, str], Hook] = {
    ("collecting", "open_planning"): _open_planning,
    ("planning", "submit"): _needs_draft,
    ("street_review", "approve"): _review,
    ("street_review", "return"): _review,
    ("district_review", "approve"): _review,
    ("district_review", "return"): _review,
    ("public_notice", "withdraw"): _needs_reason,
    ("published", "revise"): _needs_reason,
}
"""What a move needs or does, by (phase it leaves, action), before the phase changes."""

ON_ENTER: dict[str, Hook] = {"published": _publish, "closed": _close}
"""What entering a phase does, whichever move leads there (publishing freezes a
version; closing computes the points)."""


def move(session: Session, cycle: Cycle, actor: Actor, action: str, reason: str = "") -> str:
    """Take the move ``action``: allowed by the role table (403 / 409), by the
    transitions (409), and by its hooks; returns the new phase. The change and its audit
    entry land together, and a concurrent move of the same cycle loses with 409."""
    authorize(actor, cycle, action)
    try:
        target = schedule_of(cycle).after(cycle.phase, action)
    except PhaseError as exc:
        raise ApiError(
            409,
            "phase_conflict",
            exc.args[0],
            [{"field": "phase", "value": exc.phase, "allowed": list(exc.allowed)}],
        ) from None
    source = cycle.phase
    hook = ON_MOVE.get((source, action))
    if hook is not None:
        hook(session, cycle, actor, action, reason)
    enter = ON_ENTER.get(target)
    if enter is not None:
        enter(session, cycle, actor, action, reason)
    now = utcnow()
    done = session.execute(
        update(Cycle)
        .where(Cycle.id == cycle.id, Cycle.phase == source)
        .values(phase=target, phase_since=now)
        .execution_options(synchronize_session=False)
    )
    if rowcount(done) != 1:
        raise ApiError(
            409,
            "concurrent_change",
            Text(N_("cycle {id} changed meanwhile; read it again"), id=cycle.id),
        )
    cycle.phase, cycle.phase_since = target, now
    audit.record(
        session,
        actor,
        action,
        cycle_id=cycle.id,
        target=f"cycle:{cycle.id}",
        before={"phase": source},
        after={"phase": target},
        visibility="public",
    )
    return target


def run_in_use(session: Session, run_id: str) -> str | None:
    """The id of a cycle that uses the run (its draft, an edit's run before or after, a
    review's, a published version's), or ``None``: such a run may not be deleted."""
    queries = (
        select(Cycle.id).where(Cycle.draft_run_id == run_id),
        select(CycleVersion.cycle_id).where(CycleVersion.run_id == run_id),
        select(CycleEdit.cycle_id).where(
            or_(CycleEdit.run_before == run_id, CycleEdit.run_after == run_id)
        ),
        select(CycleReview.cycle_id).where(CycleReview.run_id == run_id),
    )
    for query in queries:
        found = session.execute(query.limit(1)).scalar_one_or_none()
        if found is not None:
            return str(found)
    return None


def dataset_in_use(session: Session, dataset_id: str) -> str | None:
    """The id of a cycle whose lists start from or were snapshot as the dataset, or
    ``None``: such a dataset may not be deleted."""
    found = session.execute(
        select(Cycle.id)
        .where(or_(Cycle.base_dataset_id == dataset_id, Cycle.dataset_id == dataset_id))
        .limit(1)
    ).scalar_one_or_none()
    return None if found is None else str(found)
