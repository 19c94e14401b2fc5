"""The home page: what waits for the signed-in person."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from api import crud
from api.console.deps import ConsoleActorDep
from api.console.pages import page
from api.console.waiting import ACTION_PAGES, waiting_for
from api.cycles import core
from api.deps import SessionDep
from api.routes.console import console_router
from api.routes.console.runs import STATUS_NAMES
from matcher.cycle.roles import ACTION_NAMES

__all__ = ["router"]

router = console_router()


@router.get("")
def console_root() -> Response:
    """``/console`` is the home page."""
    return RedirectResponse("/console/", status_code=307)


HOME_ROWS = 10
"""Cycles (and, for planners, runs) a home page lists."""


@router.get("/")
def home(request: Request, session: SessionDep, actor: ConsoleActorDep) -> Response:
    """What waits for the signed-in person, cycle by cycle; their newest cycles and,
    for planners, the newest runs."""
    cycles, total = core.list_cycles(
        session, actor, district=None, period=None, limit=HOME_ROWS, offset=0
    )
    runs = (
        crud.list_plan_runs(session, crud.RunFilters(), HOME_ROWS, 0)[0] if actor.is_planner else []
    )
    return page(
        request,
        "console/home.html",
        {
            "waiting": waiting_for(session, actor),
            "action_names": ACTION_NAMES,
            "action_pages": ACTION_PAGES,
            "cycles": cycles,
            "cycles_total": total,
            "runs": runs,
            "run_status": STATUS_NAMES,
        },
    )
