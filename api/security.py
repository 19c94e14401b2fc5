"""API keys: random tokens, kept only as SHA-256 hex."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import CYCLE_KEY_ROLES, ApiKey, utcnow
from matcher.i18n import N_, Text

__all__ = [
    "KEY_ROLES",
    "ROLE_RANK",
    "TOKEN_PREFIX",
    "allows",
    "check_districts",
    "check_names",
    "create_key",
    "find_key",
    "hash_key",
    "new_token",
]

ROLE_RANK = {"viewer": 0, "planner": 1, "admin": 2}
"""The roles of the plan API, each with the rights of those below it."""

KEY_ROLES: tuple[str, ...] = (*ROLE_RANK, *CYCLE_KEY_ROLES)
"""Every role a key may have: the plan API's, and the cycle's (which read no runs)."""
TOKEN_PREFIX = "mk_"


def hash_key(token: str) -> str:
    """The SHA-256 hex digest of a key (what the store keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A new key: 32 random bytes, URL-safe, with a recognisable prefix."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_key(
    session: Session,
    role: str,
    name: str = "",
    districts: list[str] | None = None,
    *,
    streets: list[str] | None = None,
    communities: list[str] | None = None,
    units: list[str] | None = None,
) -> tuple[ApiKey, str]:
    """Store a new key; returns its row and the token (shown once, never stored).

    ``districts`` of ``None`` reads every district; a list reads only those. A cycle's
    key may be narrowed further to ``streets`` (a street reviewer), ``communities`` (a
    community) or ``units`` (a unit).

    Raises
    ------
    ValueError
        If ``role`` is not viewer, planner or admin, or ``districts`` is an empty list
        or names an empty district: an empty scope would otherwise be stored as no
        scope and read every district. The message is a :class:`~matcher.i18n.Text`.
    """
    if role not in KEY_ROLES:
        raise ValueError(
            Text(
                N_("role must be one of {roles}, got {role}"),
                roles=", ".join(KEY_ROLES),
                role=repr(role),
            )
        )
    scope = check_districts(districts)
    token = new_token()
    row = ApiKey(
        name=name,
        prefix=token[:10],
        key_hash=hash_key(token),
        role=role,
        districts=scope,
        streets=check_names(streets, "streets"),
        communities=check_names(communities, "communities"),
        units=check_names(units, "units"),
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row, token


def check_districts(districts: list[str] | None) -> list[str] | None:
    """A key's district scope as stored: ``None`` (every district) or the sorted,
    distinct, stripped names.

    Raises
    ------
    ValueError
        If the list is empty or a name is blank.
    """
    if districts is None:
        return None
    names = [str(d).strip() for d in districts]
    if not names:
        raise ValueError(
            Text(N_("districts must name at least one district; leave it out for all districts"))
        )
    if any(not n for n in names):
        raise ValueError(Text(N_("districts must not contain an empty district name")))
    return sorted(set(names))


def check_names(values: list[str] | None, field: str) -> list[str] | None:
    """A narrower scope as stored: ``None``, or sorted distinct stripped names."""
    if values is None:
        return None
    names = sorted({str(v).strip() for v in values})
    if not names or any(not n for n in names):
        raise ValueError(Text(N_("{field} must name at least one, and no empty name"), field=field))
    return names


def find_key(session: Session, token: str) -> ApiKey | None:
    """The live key with this token, or ``None`` (compared in constant time)."""
    digest = hash_key(token)
    row = session.execute(
        select(ApiKey).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))
    ).scalar_one_or_none()
    if row is None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return row


def allows(role: str, needed: str) -> bool:
    """Whether ``role`` includes the rights of ``needed`` (viewer < planner < admin)."""
    return ROLE_RANK.get(role, -1) >= ROLE_RANK[needed]
