"""Signing in and out, the language switch, and a user's own account page."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from api.console import accounts
from api.console.deps import ConsoleDep, UserDep
from api.console.pages import LANG_COOKIE, page, page_lang, safe_next
from api.console.sessions import SESSION_COOKIE
from api.deps import SessionDep, SettingsDep
from api.middleware import client_address, rate_text
from api.routes.console import console_router
from matcher.i18n import LANGS, N_, render, translator

__all__ = ["SIGN_IN_REFUSALS", "router"]

router = console_router()

SIGN_IN_REFUSALS = {
    "wrong": N_("The user name or the password is not right."),
    "locked": N_(
        "Too many wrong passwords: this account is locked until {until}. An administrator "
        "can unlock it sooner."
    ),
    "disabled": N_("This account is disabled. Ask an administrator."),
    "busy": N_("Too many sign-in attempts from this address ({limit}); try again in {wait} s."),
}
"""Why a sign-in is refused, for people."""

Username = Annotated[str, Form(max_length=200)]
Password = Annotated[str, Form(max_length=accounts.PASSWORD_MAX * 4)]
Next = Annotated[str, Form(max_length=2000)]


@router.get("/sign-in")
def sign_in_page(
    request: Request, session: SessionDep, state: ConsoleDep, next: str = ""
) -> Response:
    """The sign-in form (straight on for a reader already signed in)."""
    if state.sessions.user(session, request.cookies.get(SESSION_COOKIE)) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return page(request, "console/sign_in.html", {"next": safe_next(next), "username": ""})


@router.post("/sign-in")
def sign_in(
    request: Request,
    session: SessionDep,
    state: ConsoleDep,
    settings: SettingsDep,
    username: Username = "",
    password: Password = "",
    next: Next = "",
) -> Response:
    """Check the password; start a session, or show the form again with why not."""
    t = translator(page_lang(request))
    target = safe_next(next)
    limits = request.app.state.rate_limits
    if limits is not None:
        refused = limits.hit_public("sign_in", client_address(request.scope))
        if refused is not None:
            item, wait = refused
            message = t(SIGN_IN_REFUSALS["busy"]).format(limit=rate_text(item), wait=wait)
            return page(
                request,
                "console/sign_in.html",
                {"next": target, "username": username, "error": message},
                status=429,
                headers={"Retry-After": str(wait)},
            )
    outcome = accounts.authenticate(
        session,
        state.passwords,
        username.strip(),
        password,
        lock_after=settings.sign_in_lock_after,
        lock_s=settings.sign_in_lock_s,
    )
    if outcome.user is None:
        session.commit()  # the wrong password counts even though the page says no
        reason = outcome.refusal or "wrong"
        fmt_until = ""
        if outcome.locked_until is not None:
            from api.console.pages import Formats

            fmt_until = Formats(page_lang(request), settings.display_timezone).when(
                outcome.locked_until
            )
        message = t(SIGN_IN_REFUSALS[reason]).format(until=fmt_until)
        status = {"wrong": 401, "locked": 423, "disabled": 403}[reason]
        return page(
            request,
            "console/sign_in.html",
            {"next": target, "username": username, "error": message},
            status=status,
        )
    response = RedirectResponse(target, status_code=303)
    state.sessions.start(response, outcome.user)
    return response


@router.post("/sign-out")
def sign_out(request: Request, session: SessionDep, state: ConsoleDep, user: UserDep) -> Response:
    """End every session of the user (this browser's and any other) and go to the
    sign-in page."""
    accounts.end_sessions(user)
    response = RedirectResponse("/console/sign-in", status_code=303)
    state.sessions.end(response)
    return response


@router.get("/lang/{lang}")
def switch_language(
    request: Request,
    lang: Annotated[str, Path(pattern="^(" + "|".join(LANGS) + ")$")],
    settings: SettingsDep,
    next: str = "",
) -> Response:
    """Remember the reader's language (a year, in a cookie) and go back."""
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(
        LANG_COOKIE,
        lang,
        max_age=365 * 24 * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
    )
    return response


@router.get("/account")
def account_page(request: Request, user: UserDep) -> Response:
    """The signed-in user's account: who they are, their scope, a new password."""
    return page(request, "console/account.html", {"errors": {}, "done": False})


@router.post("/account/password")
def change_password(
    request: Request,
    session: SessionDep,
    state: ConsoleDep,
    user: UserDep,
    current: Password = "",
    new: Password = "",
    again: Password = "",
) -> Response:
    """Change one's own password; every session ends, this one starts anew."""
    lang = page_lang(request)
    t = translator(lang)
    errors: dict[str, str] = {}
    if not state.passwords.verify(user.password_hash, current):
        errors["current"] = t(accounts.WRONG_CURRENT)
    elif new != again:
        errors["again"] = t(N_("the two new passwords differ"))
    else:
        try:
            accounts.set_password(session, state.passwords, user, new)
        except ValueError as exc:
            errors["new"] = str(render(exc.args[0], lang))
    if errors:
        return page(request, "console/account.html", {"errors": errors, "done": False}, status=422)
    request.state.user = accounts.UserView.of(user)
    response = page(request, "console/account.html", {"errors": {}, "done": True})
    state.sessions.start(response, user)
    return response
