"""Users and API keys (administrators only): the users with their role, scope and
state; a new user; a user's page to reset the password, unlock, disable or enable, and
change the role and scope; the API keys, a new key (shown once) and revoking one.

Every change is written to the audit log (no cycle, private), never a password or a key.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Request
from fastapi.responses import RedirectResponse, Response

from api import crud
from api.console import accounts
from api.console import users as admin
from api.console.deps import AdminDep, ConsoleActorDep, ConsoleDep
from api.console.forms import field_errors, name_list, refused_status
from api.console.pages import page, page_lang
from api.db.models import User, utcnow
from api.deps import SessionDep
from api.errors import ApiError, not_found
from api.routes.console import console_router
from api.schemas import KeyPublic
from api.security import KEY_ROLES, create_key
from matcher.i18n import N_, render, translator

__all__ = ["router"]

router = console_router()

UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
KeyId = Annotated[int, Path(ge=1, le=2**31 - 1)]

FIELD_MAX = 4000
"""Longest text kept from a field (a scope list of many names fits)."""

DONE = {
    "created": N_("The user is created."),
    "password": N_("The password is reset; every session of this user has ended."),
    "unlocked": N_("The user is unlocked."),
    "disabled": N_("The user is disabled; every session of this user has ended."),
    "enabled": N_("The user may sign in again."),
    "role": N_("The role and scope are changed; every session of this user has ended."),
    "revoked": N_("The key is revoked."),
}
"""What the page says after a change."""


async def _fields(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v[:FIELD_MAX] for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _scopes(values: dict[str, str], prefix: str = "") -> dict[str, list[str] | None]:
    return {s: name_list(values.get(prefix + s, "")) for s in admin.SCOPES}


def _user_row(user: User) -> dict[str, Any]:
    now = utcnow()
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        **{s: getattr(user, s) for s in admin.SCOPES},
        "locked_until": user.locked_until
        if user.locked_until is not None and user.locked_until > now
        else None,
        "disabled_at": user.disabled_at,
        "created_at": user.created_at,
        "password_changed_at": user.password_changed_at,
    }


def _list_page(  # noqa: PLR0913  # the page's parts, by name
    request: Request,
    session: SessionDep,
    *,
    user_form: dict[str, str] | None = None,
    user_errors: dict[str, str] | None = None,
    user_error: str = "",
    key_form: dict[str, str] | None = None,
    key_errors: dict[str, str] | None = None,
    key_error: str = "",
    new_key: dict[str, Any] | None = None,
    done: str = "",
    status: int = 200,
) -> Response:
    t = translator(page_lang(request))
    return page(
        request,
        "users/list.html",
        {
            "users": [_user_row(u) for u in accounts.list_users(session)],
            "keys": [KeyPublic.from_row(k) for k in crud.list_keys(session)],
            "user_roles": [(r, t(_role_label(r))) for r in accounts.USER_ROLES],
            "key_roles": [(r, t(_role_label(r))) for r in KEY_ROLES],
            "user_form": user_form or {},
            "user_errors": user_errors or {},
            "user_error": user_error,
            "key_form": key_form or {},
            "key_errors": key_errors or {},
            "key_error": key_error,
            "new_key": new_key,
            "done": t(DONE[done]) if done in DONE else "",
            "now": utcnow(),
        },
        status=status,
    )


_KEY_ROLE_NAMES = {"viewer": N_("viewer (reads plans)")}


def _role_label(role: str) -> str:
    from api.console.pages import ROLE_NAMES

    return ROLE_NAMES.get(role) or _KEY_ROLE_NAMES.get(role, role)


@router.get("/users")
def users_page(request: Request, session: SessionDep, _admin: AdminDep, done: str = "") -> Response:
    """The users and the API keys, with the forms to add one."""
    return _list_page(request, session, done=done)


@router.post("/users")
async def create_user(
    request: Request,
    session: SessionDep,
    state: ConsoleDep,
    actor: ConsoleActorDep,
    _admin: AdminDep,
) -> Response:
    """A new user (the password twice); the list again with why not, what was typed
    kept (but the passwords)."""
    values = await _fields(request)
    lang = page_lang(request)
    t = translator(lang)
    username = values.get("username", "").strip()
    password = values.get("password", "")
    kept = {k: v for k, v in values.items() if k not in ("password", "password2")}
    if password != values.get("password2", ""):
        return _list_page(
            request,
            session,
            user_form=kept,
            user_errors={"password2": t(N_("the two passwords differ"))},
            user_error=t(N_("Please correct the fields marked below.")),
            status=422,
        )
    scopes = _scopes(values)
    try:
        user = accounts.create_user(
            session,
            state.passwords,
            username,
            password,
            values.get("role", ""),
            display_name=values.get("display_name", ""),
            **scopes,
        )
        admin.note(
            session, actor, "create_user", f"user {user.username}", after=admin.scope_of(user)
        )
    except (ValueError, ApiError) as exc:
        session.rollback()
        errors, message = field_errors(exc, lang)
        return _list_page(
            request,
            session,
            user_form=kept,
            user_errors=errors,
            user_error=message,
            status=refused_status(exc),
        )
    return RedirectResponse(f"/console/users/{user.id}?done=created", status_code=303)


def _get_user(session: SessionDep, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise not_found("user", user_id)
    return user


def _user_page(  # noqa: PLR0913  # the page's parts, by name
    request: Request,
    session: SessionDep,
    actor: ConsoleActorDep,
    user: User,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str = "",
    error_at: str = "",
    done: str = "",
    status: int = 200,
) -> Response:
    t = translator(page_lang(request))
    row = _user_row(user)
    scope_form = {
        "role": user.role,
        **{s: ", ".join(getattr(user, s) or []) for s in admin.SCOPES},
    }
    return page(
        request,
        "users/detail.html",
        {
            "person": row,
            "is_self": actor.user_id == user.id,
            "user_roles": [(r, t(_role_label(r))) for r in accounts.USER_ROLES],
            "form": {**scope_form, **(form or {})},
            "errors": errors or {},
            "error": error,
            "error_at": error_at,
            "done": t(DONE[done]) if done in DONE else "",
        },
        status=status,
    )


@router.get("/users/{user_id}")
def user_page(
    request: Request,
    user_id: UserId,
    session: SessionDep,
    actor: ConsoleActorDep,
    _admin: AdminDep,
    done: str = "",
) -> Response:
    """One user, with the forms that change their access."""
    return _user_page(request, session, actor, _get_user(session, user_id), done=done)


def _done(user: User, what: str) -> Response:
    return RedirectResponse(f"/console/users/{user.id}?done={what}", status_code=303)


@router.post("/users/{user_id}/password")
async def reset_password(
    request: Request,
    user_id: UserId,
    session: SessionDep,
    state: ConsoleDep,
    actor: ConsoleActorDep,
    _admin: AdminDep,
) -> Response:
    """A new password for the user (twice); every session of theirs ends."""
    user = _get_user(session, user_id)
    values = await _fields(request)
    lang = page_lang(request)
    t = translator(lang)
    errors: dict[str, str] = {}
    if values.get("password", "") != values.get("password2", ""):
        errors["password2"] = t(N_("the two passwords differ"))
    else:
        try:
            accounts.set_password(session, state.passwords, user, values.get("password", ""))
        except ValueError as exc:
            errors["password"] = str(render(exc.args[0], lang))
    if errors:
        session.rollback()
        return _user_page(
            request,
            session,
            actor,
            user,
            errors=errors,
            error=t(N_("Please correct the fields marked below.")),
            error_at="password",
            status=422,
        )
    admin.note(session, actor, "reset_password", f"user {user.username}")
    return _done(user, "password")


@router.post("/users/{user_id}/unlock")
def unlock_user(
    user_id: UserId, session: SessionDep, actor: ConsoleActorDep, _admin: AdminDep
) -> Response:
    """Lift the lock that wrong passwords put on the account."""
    user = _get_user(session, user_id)
    accounts.unlock(user)
    admin.note(session, actor, "unlock_user", f"user {user.username}")
    return _done(user, "unlocked")


@router.post("/users/{user_id}/disable")
def disable_user(
    request: Request,
    user_id: UserId,
    session: SessionDep,
    actor: ConsoleActorDep,
    _admin: AdminDep,
) -> Response:
    """The user can no longer sign in; their sessions end (not one's own account)."""
    user = _get_user(session, user_id)
    try:
        admin.disable(session, actor, user)
    except ApiError as exc:
        session.rollback()
        return _refused(request, session, actor, user, exc, "state")
    return _done(user, "disabled")


@router.post("/users/{user_id}/enable")
def enable_user(
    user_id: UserId, session: SessionDep, actor: ConsoleActorDep, _admin: AdminDep
) -> Response:
    """Let a disabled user sign in again."""
    user = _get_user(session, user_id)
    admin.enable(session, actor, user)
    return _done(user, "enabled")


def _refused(
    request: Request,
    session: SessionDep,
    actor: ConsoleActorDep,
    user: User,
    exc: Exception,
    at: str,
    form: dict[str, str] | None = None,
) -> Response:
    errors, message = field_errors(exc, page_lang(request))
    return _user_page(
        request,
        session,
        actor,
        user,
        form=form,
        errors=errors,
        error=message,
        error_at=at,
        status=refused_status(exc),
    )


@router.post("/users/{user_id}/role")
async def change_role(
    request: Request,
    user_id: UserId,
    session: SessionDep,
    actor: ConsoleActorDep,
    _admin: AdminDep,
) -> Response:
    """Another role or scope for the user (not one's own)."""
    user = _get_user(session, user_id)
    values = await _fields(request)
    form = {k: values.get(k, "") for k in ("role", *admin.SCOPES)}
    try:
        admin.set_role(session, actor, user, form["role"], _scopes(values))
    except (ValueError, ApiError) as exc:
        session.rollback()
        return _refused(request, session, actor, user, exc, "role", form)
    return _done(user, "role")


@router.post("/users/keys")
async def make_key(
    request: Request, session: SessionDep, actor: ConsoleActorDep, _admin: AdminDep
) -> Response:
    """A new API key: the page shows it this once."""
    values = await _fields(request)
    lang = page_lang(request)
    form = {
        k: values.get(k, "") for k in ("key_name", "key_role", *(f"key_{s}" for s in admin.SCOPES))
    }
    scopes = _scopes(values, "key_")
    try:
        row, token = create_key(
            session,
            form["key_role"],
            form["key_name"].strip()[:200],
            scopes["districts"],
            streets=scopes["streets"],
            communities=scopes["communities"],
            units=scopes["units"],
        )
        admin.note(
            session, actor, "create_key", f"key {row.id} {row.prefix}…", after=admin.scope_of(row)
        )
    except (ValueError, ApiError) as exc:
        session.rollback()
        errors, message = field_errors(exc, lang)
        return _list_page(
            request,
            session,
            key_form=form,
            key_errors={f"key_{k}": v for k, v in errors.items()},
            key_error=message,
            status=refused_status(exc),
        )
    session.commit()
    return _list_page(
        request,
        session,
        new_key={"id": row.id, "name": row.name, "token": token},
    )


@router.post("/users/keys/{key_id}/revoke")
def revoke_key(
    key_id: KeyId, session: SessionDep, actor: ConsoleActorDep, _admin: AdminDep
) -> Response:
    """Revoke a key: it stops working at once."""
    admin.revoke_key(session, actor, key_id)
    return RedirectResponse("/console/users?done=revoked#keys", status_code=303)
