"""The append-only audit log: every action on a cycle, who took it, when, the state
before and after, and who may read the entry.

:func:`record` is the only writer; nothing updates or deletes an entry (and the store's
triggers refuse to, see migration 0006). Visibility: ``private`` (planners and admins),
``reviewers`` (also the street and district reviewers), ``public`` (everyone, on the
public notice page).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from api.cycles.access import Actor
from api.db.models import AuditEntry, utcnow

__all__ = ["VISIBILITIES", "entries", "readable", "record", "search"]

VISIBILITIES = ("private", "reviewers", "public")
"""Who may read an entry, from the fewest readers to everyone."""

_READS: dict[str, tuple[str, ...]] = {
    "planner": VISIBILITIES,
    "admin": VISIBILITIES,
    "street_reviewer": ("reviewers", "public"),
    "district_reviewer": ("reviewers", "public"),
}


def readable(role: str) -> tuple[str, ...]:
    """The visibilities ``role`` reads (everyone else: public entries only)."""
    return _READS.get(role, ("public",))


def _plain(value: Any) -> Any:
    """``value`` as JSON the store keeps as it is (dates and numpy numbers as text)."""
    return None if value is None else json.loads(json.dumps(value, default=str))


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    cycle_id: str | None,
    target: str = "",
    before: Any = None,
    after: Any = None,
    visibility: str = "private",
) -> AuditEntry:
    """Append one entry (in the caller's transaction: it lands with the change or not
    at all; it is written with the session's next flush, in the order of the calls)."""
    if visibility not in VISIBILITIES:
        raise ValueError(visibility)
    entry = AuditEntry(
        cycle_id=cycle_id,
        at=utcnow(),
        key_id=actor.key_id,
        user_id=actor.user_id,
        role=actor.role,
        action=action,
        target=target[:400],
        before=_plain(before),
        after=_plain(after),
        visibility=visibility,
    )
    session.add(entry)
    return entry


def entries(
    session: Session, cycle_id: str, visibilities: Sequence[str], limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    """A page of a cycle's entries of the given visibilities, oldest first, and their
    total."""
    from sqlalchemy import func

    where = (AuditEntry.cycle_id == cycle_id, AuditEntry.visibility.in_(list(visibilities)))
    total = session.execute(select(func.count()).select_from(AuditEntry).where(*where)).scalar_one()
    rows = session.execute(
        select(AuditEntry).where(*where).order_by(AuditEntry.id).limit(limit).offset(offset)
    ).scalars()
    return list(rows), int(total)


def search(
    session: Session,
    actor: Actor,
    cycle_ids: Sequence[str],
    *,
    with_admin: bool,
    action: str,
    role: str,
    limit: int,
    offset: int,
) -> tuple[list[AuditEntry], int]:
    """A page of the entries of ``cycle_ids`` (and, ``with_admin``, those of no cycle:
    the administration of users and keys) that the actor's role reads, newest first,
    filtered by ``action`` and ``role`` when given, and their total."""
    in_cycles: ColumnElement[bool] = AuditEntry.cycle_id.in_(list(cycle_ids))
    where: list[ColumnElement[bool]] = [
        AuditEntry.visibility.in_(list(readable(actor.role))),
        or_(in_cycles, AuditEntry.cycle_id.is_(None)) if with_admin else in_cycles,
    ]
    if action:
        where.append(AuditEntry.action == action)
    if role:
        where.append(AuditEntry.role == role)
    total = session.execute(select(func.count()).select_from(AuditEntry).where(*where)).scalar_one()
    rows = session.execute(
        select(AuditEntry).where(*where).order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    ).scalars()
    return list(rows), int(total)
