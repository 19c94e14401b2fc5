"""The home page: what waits for the signed-in person."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from api.console.deps import ConsoleActorDep
from api.console.pages import page
from api.console.waiting import waiting_for
from api.deps import SessionDep
from api.routes.console import console_router
from matcher.cycle.roles import ACTION_NAMES

__all__ = ["router"]

router = console_router()


@router.get("")
def console_root() -> Response:
    """``/console`` is the home page."""
    return RedirectResponse("/console/", status_code=307)


@router.get("/")
def home(request: Request, session: SessionDep, actor: ConsoleActorDep) -> Response:
    """What waits for the signed-in person, cycle by cycle."""
    return page(
        request,
        "console/home.html",
        {"waiting": waiting_for(session, actor), "action_names": ACTION_NAMES},
    )
