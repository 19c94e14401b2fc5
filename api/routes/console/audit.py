"""The audit log: every entry the person may read (their role's visibilities, the cycles
of their scope; the administration of users and keys for administrators only), newest
first, by page, filtered by cycle, action and role; and one cycle's log on its tab."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.console.deps import ConsoleActorDep
from api.console.pages import ROLE_NAMES, page, page_lang
from api.console.users import USER_ACTION_NAMES, display_names
from api.cycles import audit, core
from api.cycles.access import Actor
from api.cycles.schemas import CyclePublic
from api.db.models import AuditEntry
from api.deps import SessionDep
from api.routes.console import console_router
from api.routes.public import ACTION_NAMES as RECORD_NAMES
from matcher.cycle.roles import ACTION_NAMES as CYCLE_ACTION_NAMES
from matcher.cycle.roles import ROLES
from matcher.i18n import N_, translator

__all__ = ["ACTION_LABELS", "router"]

router = console_router()

CycleId = Annotated[str, Path(min_length=1, max_length=32)]
Filter = Annotated[str, Query(max_length=64)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
Limit = Annotated[int, Query(ge=1, le=200)]

ACTION_LABELS: dict[str, str] = {**CYCLE_ACTION_NAMES, **RECORD_NAMES, **USER_ACTION_NAMES}
"""Each action of the log for people: what was done (the public record's words first,
then the cycle's moves, then the administration's)."""

SHOWN_CHARS = 300
"""A before/after value longer than this is cut on the table (the whole in a fold)."""


def _visible_cycles(session: Session, actor: Actor) -> list[Any]:
    rows, _total = core.list_cycles(
        session, actor, district=None, period=None, limit=10**6, offset=0
    )
    return rows


def _compact(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)


def _rows(session: Session, entries: list[AuditEntry], lang: str) -> list[dict[str, Any]]:
    t = translator(lang)
    names = display_names(session, {e.user_id for e in entries if e.user_id is not None})
    out = []
    for e in entries:
        before, after = _compact(e.before), _compact(e.after)
        out.append(
            {
                "id": e.id,
                "at": e.at,
                "cycle_id": e.cycle_id,
                "role": e.role,
                "user": names.get(e.user_id, f"#{e.user_id}") if e.user_id is not None else None,
                "key_id": e.key_id,
                "action": e.action,
                "action_name": t(ACTION_LABELS[e.action])
                if e.action in ACTION_LABELS
                else e.action,
                "target": e.target,
                "before": before,
                "after": after,
                "long": len(before) > SHOWN_CHARS or len(after) > SHOWN_CHARS,
                "visibility": e.visibility,
            }
        )
    return out


def _filters_base(path: str, **kept: str) -> str:
    from urllib.parse import urlencode

    query = urlencode({k: v for k, v in kept.items() if v})
    return f"{path}?{query}&" if query else f"{path}?"


def _render(  # noqa: PLR0913  # the page's parts, by name
    request: Request,
    session: Session,
    actor: Actor,
    *,
    cycle: CyclePublic | None,
    cycles: list[Any],
    cycle_ids: list[str],
    cycle_filter: str,
    action: str,
    role: str,
    limit: int,
    offset: int,
) -> Response:
    lang = page_lang(request)
    t = translator(lang)
    entries, total = audit.search(
        session,
        actor,
        cycle_ids,
        with_admin=actor.role == "admin" and cycle is None and not cycle_filter,
        action=action,
        role=role,
        limit=limit,
        offset=offset,
    )
    path = request.url.path
    return page(
        request,
        "audit/list.html",
        {
            "cycle": cycle,
            "cycles": [("", t(N_("all cycles")))]
            + [(c.id, f"{c.period} · {c.district} ({c.id})") for c in cycles],
            "entries": _rows(session, entries, lang),
            "total": total,
            "offset": offset,
            "limit": limit,
            "filters": {"cycle": cycle_filter, "action": action, "role": role},
            "actions": [
                ("", t(N_("all actions"))),
                *sorted(((k, t(v)) for k, v in ACTION_LABELS.items()), key=lambda kv: kv[1]),
            ],
            "roles": [("", t(N_("all roles")))] + [(r, t(ROLE_NAMES.get(r, r))) for r in ROLES],
            "base": _filters_base(path, cycle=cycle_filter, action=action, role=role),
            "shown_chars": SHOWN_CHARS,
        },
    )


@router.get("/audit")
def audit_page(
    request: Request,
    session: SessionDep,
    actor: ConsoleActorDep,
    cycle: Filter = "",
    action: Filter = "",
    role: Filter = "",
    offset: Offset = 0,
    limit: Limit = 50,
) -> Response:
    """The entries of every cycle in the person's scope that their role reads."""
    cycles = _visible_cycles(session, actor)
    ids = [c.id for c in cycles]
    if cycle:
        ids = [core.get_cycle(session, cycle, actor).id]  # 404 / 403 as everywhere
    return _render(
        request,
        session,
        actor,
        cycle=None,
        cycles=cycles,
        cycle_ids=ids,
        cycle_filter=cycle,
        action=action,
        role=role,
        limit=limit,
        offset=offset,
    )


@router.get("/cycles/{cycle_id}/audit")
def cycle_audit_page(
    request: Request,
    cycle_id: CycleId,
    session: SessionDep,
    actor: ConsoleActorDep,
    action: Filter = "",
    role: Filter = "",
    offset: Offset = 0,
    limit: Limit = 50,
) -> Response:
    """One cycle's entries that the person's role reads (the cycle's tabs above)."""
    row = core.get_cycle(session, cycle_id, actor)
    return _render(
        request,
        session,
        actor,
        cycle=CyclePublic.from_row(row, actor),
        cycles=[],
        cycle_ids=[row.id],
        cycle_filter="",
        action=action,
        role=role,
        limit=limit,
        offset=offset,
    )
