"""The administration of users and API keys from the console: scope changes, disabling,
revoking keys, each written to the audit log (``cycle_id`` null, ``private``) so that
who changed whose access, and when, can be traced. No entry holds a password or a key.

The password and sign-in rules are :mod:`api.console.accounts`'; the keys are
:mod:`api.security`'s.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.console.accounts import USER_ROLES, end_sessions
from api.cycles import audit
from api.cycles.access import Actor
from api.db.models import ApiKey, User, utcnow
from api.errors import ApiError, not_found
from api.security import check_districts
from matcher.i18n import N_, Text

__all__ = [
    "SCOPES",
    "USER_ACTION_NAMES",
    "disable",
    "display_names",
    "enable",
    "note",
    "revoke_key",
    "scope_of",
    "set_role",
]

SCOPES: tuple[str, ...] = ("districts", "streets", "communities", "units")
"""The scopes of a user or a key, from the widest."""

USER_ACTION_NAMES: dict[str, str] = {
    "create_user": N_("user created"),
    "reset_password": N_("password reset"),
    "unlock_user": N_("user unlocked"),
    "disable_user": N_("user disabled"),
    "enable_user": N_("user enabled"),
    "change_user_role": N_("role or scope changed"),
    "create_key": N_("API key created"),
    "revoke_key": N_("API key revoked"),
}
"""The audit log's administration actions for people."""


def scope_of(row: User | ApiKey) -> dict[str, Any]:
    """A user's or key's role and scopes, as the audit log keeps them."""
    return {"role": row.role, **{s: getattr(row, s) for s in SCOPES}}


def note(
    session: Session,
    actor: Actor,
    action: str,
    target: str,
    *,
    before: Any = None,
    after: Any = None,
) -> None:
    """An administration entry of the audit log (no cycle, planners and admins read it)."""
    audit.record(
        session,
        actor,
        action,
        cycle_id=None,
        target=target,
        before=before,
        after=after,
        visibility="private",
    )


_OWN = {
    "disable": N_("you cannot disable your own account; ask another administrator"),
    "role": N_("you cannot change your own role or scope; ask another administrator"),
}


def _not_self(actor: Actor, user: User, what: str) -> None:
    if actor.user_id == user.id:
        raise ApiError(409, "own_account", Text(_OWN[what]))


def set_role(
    session: Session,
    actor: Actor,
    user: User,
    role: str,
    scopes: dict[str, list[str] | None],
) -> None:
    """Give ``user`` another role or scope (an admin may not change their own: 409).

    Raises
    ------
    ValueError
        An unknown role or a blank name (the message is a :class:`~matcher.i18n.Text`).
    """
    if role not in USER_ROLES:
        raise ValueError(
            Text(
                N_("role must be one of {roles}, got {role}"),
                roles=", ".join(USER_ROLES),
                role=repr(role),
            )
        )
    _not_self(actor, user, "role")
    before = scope_of(user)
    user.role = role
    user.districts = check_districts(scopes.get("districts"))
    for name in SCOPES[1:]:
        values = scopes.get(name)
        setattr(user, name, None if values is None else sorted(set(values)))
    # the pages read the scope at every request; the open sessions end all the same,
    # so that nobody keeps a page rendered for the old role
    end_sessions(user)
    note(
        session,
        actor,
        "change_user_role",
        f"user {user.username}",
        before=before,
        after=scope_of(user),
    )


def disable(session: Session, actor: Actor, user: User) -> None:
    """Disable ``user``: they cannot sign in, and their sessions end (not oneself: 409)."""
    _not_self(actor, user, "disable")
    if user.disabled_at is None:
        user.disabled_at = utcnow()
    end_sessions(user)
    note(session, actor, "disable_user", f"user {user.username}")


def enable(session: Session, actor: Actor, user: User) -> None:
    """Let a disabled user sign in again."""
    user.disabled_at = None
    note(session, actor, "enable_user", f"user {user.username}")


def revoke_key(session: Session, actor: Actor, key_id: int) -> ApiKey:
    """Revoke a key: it stops working at once (404 for an unknown key; revoking a
    revoked key changes nothing)."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise not_found("key", key_id)
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        note(session, actor, "revoke_key", f"key {row.id} {row.prefix}…", before=scope_of(row))
    return row


def display_names(session: Session, ids: set[int]) -> dict[int, str]:
    """The names pages show for users (display name, else user name)."""
    if not ids:
        return {}
    rows = session.execute(select(User).where(User.id.in_(list(ids)))).scalars()
    return {u.id: u.display_name or u.username for u in rows}
