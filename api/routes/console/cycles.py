"""Cycles: the list in the person's scope, one cycle's page with its phases, dates and
the moves the person may make, and a planner's form to open a cycle."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.console.deps import ConsoleActorDep
from api.console.forms import field_errors, name_list, refused_status
from api.console.pages import page, page_lang
from api.crud import list_datasets
from api.cycles import core
from api.cycles.schemas import CycleCreate, CyclePublic
from api.deps import SessionDep
from api.errors import ApiError
from api.routes.console import console_router
from matcher.cycle.phases import PHASES, TRANSITIONS
from matcher.cycle.roles import ACTION_NAMES, can
from matcher.i18n import render

__all__ = ["router"]

router = console_router()

CycleId = Annotated[str, Path(min_length=1, max_length=32)]
PAGE_ROWS = 50

MOVES: tuple[str, ...] = tuple(dict.fromkeys(t.action for t in TRANSITIONS))
"""Every move between phases (a button on the cycle's page when the person may)."""
NEEDS_REASON = frozenset({"return", "withdraw", "revise"})
"""Moves that ask for a reason (shown with the move in the audit log)."""


@router.get("/cycles")
def cycles_page(
    request: Request, session: SessionDep, actor: ConsoleActorDep, offset: int = 0
) -> Response:
    """The cycles in the person's scope, newest first, and (for planners) the form to
    open one."""
    offset = max(0, offset)
    rows, total = core.list_cycles(
        session, actor, district=None, period=None, limit=PAGE_ROWS, offset=offset
    )
    return page(
        request,
        "cycles/list.html",
        {
            "cycles": [CyclePublic.from_row(c, actor) for c in rows],
            "total": total,
            "offset": offset,
            "limit": PAGE_ROWS,
            "may_create": actor.is_planner,
            "datasets": _datasets(session) if actor.is_planner else [],
            "form": {},
            "errors": {},
        },
    )


def _datasets(session: SessionDep) -> list[tuple[str, str]]:
    """The stored datasets a cycle may start from: id and name."""
    rows, _total = list_datasets(session, limit=200, offset=0)
    return [(d.id, f"{d.name or d.id} ({d.id})") for d in rows]


@router.post("/cycles")
async def create_cycle(request: Request, session: SessionDep, actor: ConsoleActorDep) -> Response:
    """Open a cycle from the form (the JSON API's checks, the same service)."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    streets = name_list(values.get("streets", ""))
    starts = {p: values[f"start_{p}"] for p in PHASES if values.get(f"start_{p}")}
    skipped = [p for p in PHASES if values.get(f"skip_{p}") == "on"]
    lang = page_lang(request)
    try:
        body = CycleCreate(
            district=values.get("district", ""),
            streets=streets,
            period=values.get("period", ""),
            dataset_id=values.get("dataset_id", ""),
            skipped=skipped,
            starts={k: dt.date.fromisoformat(v) for k, v in starts.items()},
        )
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
    except (ValidationError, ValueError, ApiError) as exc:
        session.rollback()
        errors, message = field_errors(exc, lang)
        rows, total = core.list_cycles(
            session, actor, district=None, period=None, limit=PAGE_ROWS, offset=0
        )
        return page(
            request,
            "cycles/list.html",
            {
                "cycles": [CyclePublic.from_row(c, actor) for c in rows],
                "total": total,
                "offset": 0,
                "limit": PAGE_ROWS,
                "may_create": actor.is_planner,
                "datasets": _datasets(session),
                "form": values,
                "errors": errors,
                "error": message,
            },
            status=refused_status(exc),
        )
    return RedirectResponse(f"/console/cycles/{cycle.id}", status_code=303)


@router.get("/cycles/{cycle_id}")
def cycle_page(
    request: Request, cycle_id: CycleId, session: SessionDep, actor: ConsoleActorDep
) -> Response:
    """A cycle: its phase and dates, where it has been, and what the person may do."""
    cycle = core.get_cycle(session, cycle_id, actor)
    return _cycle_page(request, session, actor, cycle_id, cycle)


def _cycle_page(
    request: Request,
    session: SessionDep,
    actor: ConsoleActorDep,
    cycle_id: str,
    cycle: object,
    *,
    error: str = "",
    form: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    view = CyclePublic.from_row(core.get_cycle(session, cycle_id, actor), actor)
    moves = [m for m in view.moves if can(actor.role, view.phase, m)]
    return page(
        request,
        "cycles/detail.html",
        {
            "cycle": view,
            "moves": moves,
            "needs_reason": NEEDS_REASON,
            "action_names": ACTION_NAMES,
            "error": error,
            "form": form or {},
        },
        status=status,
    )


@router.post("/cycles/{cycle_id}/moves/{action}")
async def move_cycle(
    request: Request,
    cycle_id: CycleId,
    action: Annotated[str, Path(pattern="^(" + "|".join(MOVES) + ")$")],
    session: SessionDep,
    actor: ConsoleActorDep,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Move the cycle on; refused moves show the cycle again with why."""
    cycle = core.get_cycle(session, cycle_id, actor)
    try:
        core.move(session, cycle, actor, action, reason.strip())
    except ApiError as exc:
        session.rollback()
        if exc.status in (403,):
            raise
        return _cycle_page(
            request,
            session,
            actor,
            cycle_id,
            cycle,
            error=str(render(exc.detail, page_lang(request))),
            form={"reason": reason, "action": action},
            status=exc.status,
        )
    return RedirectResponse(f"/console/cycles/{cycle_id}", status_code=303)
