"""The console's request dependencies: the signed-in user, their actor, the form
token check on every write, the admin check."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.console.accounts import UserView, actor_of
from api.console.pages import sign_in_required
from api.console.sessions import SESSION_COOKIE
from api.console.state import ConsoleState
from api.cycles.access import Actor
from api.db.models import User
from api.deps import SessionDep
from api.errors import ApiError
from matcher.i18n import N_, Text

__all__ = [
    "AdminDep",
    "ConsoleActorDep",
    "ConsoleDep",
    "UserDep",
    "console_state",
    "current_user",
    "protect_forms",
]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def console_state(request: Request) -> ConsoleState:
    """The app's :class:`ConsoleState`."""
    state: ConsoleState = request.app.state.console
    return state


ConsoleDep = Annotated[ConsoleState, Depends(console_state)]


async def protect_forms(request: Request) -> None:
    """Every request but a read must carry the form token (403 ``csrf_failed``)."""
    if request.method not in _SAFE_METHODS:
        await console_state(request).csrf.check(request)


def current_user(request: Request, session: SessionDep) -> User:
    """The signed-in user (else the sign-in page: the error handler redirects)."""
    user = console_state(request).sessions.user(session, request.cookies.get(SESSION_COOKIE))
    if user is None:
        raise sign_in_required()
    request.state.user = UserView.of(user)
    return user


UserDep = Annotated[User, Depends(current_user)]


def console_actor(user: UserDep) -> Actor:
    """The signed-in user as the cycle's rules see them."""
    return actor_of(user)


ConsoleActorDep = Annotated[Actor, Depends(console_actor)]


def admin_user(user: UserDep) -> User:
    """The signed-in user if they are an admin, else 403."""
    if user.role != "admin":
        raise ApiError(403, "forbidden_role", Text(N_("this page is for administrators only")))
    return user


AdminDep = Annotated[User, Depends(admin_user)]
