"""The console's users: Argon2id password hashes, sign-in with a lock, sessions that a
password change or a sign-out everywhere ends.

A user has the role and scopes of a cycle key (:mod:`matcher.cycle.roles`: community,
unit, planner, street reviewer, district reviewer, admin), so the console acts through
the same :class:`~api.cycles.access.Actor` and the same rules as the API.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.cycles.access import Actor
from api.db.models import User, utcnow
from api.security import check_districts, check_names
from matcher.cycle.roles import ROLES as CYCLE_ROLES
from matcher.i18n import N_, Text

__all__ = [
    "PASSWORD_MAX",
    "PASSWORD_MIN",
    "USERNAME_PATTERN",
    "USER_ROLES",
    "WRONG_CURRENT",
    "Passwords",
    "SignIn",
    "UserView",
    "actor_of",
    "authenticate",
    "check_password",
    "create_user",
    "end_sessions",
    "find_user",
    "list_users",
    "set_password",
    "unlock",
]

USER_ROLES: tuple[str, ...] = tuple(r for r in CYCLE_ROLES if r != "public")
"""The roles a user may have: the cycle's, but the public (which needs no account)."""

USERNAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.@-]{1,63}$"
"""A user name: 2 to 64 letters, digits and ``_ . @ -``, starting with a letter or digit
(a name people can type, and show without escaping surprises)."""

PASSWORD_MIN = 10
"""Shortest password accepted (NIST SP 800-63B asks for at least 8)."""
PASSWORD_MAX = 256
"""Longest password accepted: Argon2 takes any length, but a megabyte password would
still be read, kept and hashed."""

# Argon2id's passes and lanes (RFC 9106's second recommendation, OWASP's minimum with
# 19 MiB): the memory is a setting, bounded there.
_TIME_COST = 2
_PARALLELISM = 1
# A stored hash is verified only if it asks for no more than this; a hash written with
# larger parameters (a restore from elsewhere, a tampered row) is refused rather than
# allowed to take the server's memory.
_MAX_MEMORY_KIB = 256 * 1024
_MAX_TIME_COST = 10


class Passwords:
    """Hashes and checks passwords with Argon2id (argon2-cffi), at most ``at_once``
    at a time in this process, so that sign-ins cannot exhaust the memory.

    >>> pw = Passwords(memory_kib=8 * 1024, at_once=1)
    >>> h = pw.hash("correct horse battery")
    >>> pw.verify(h, "correct horse battery"), pw.verify(h, "wrong")
    (True, False)
    """

    def __init__(self, memory_kib: int = 19 * 1024, at_once: int = 2) -> None:
        self.hasher = argon2.PasswordHasher(
            time_cost=_TIME_COST,
            memory_cost=memory_kib,
            parallelism=_PARALLELISM,
            type=argon2.Type.ID,
        )
        self.gate = threading.BoundedSemaphore(at_once)
        # what an unknown user name is checked against: the same work as a known one,
        # so the time taken does not tell which names exist
        self._dummy = self.hash("no such user: the time is spent all the same")

    def hash(self, password: str) -> str:
        """The Argon2id hash of ``password`` (a new random salt each time)."""
        with self.gate:
            return self.hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        """Whether ``password`` matches ``stored`` (constant time in the password)."""
        try:
            params = argon2.extract_parameters(stored)
        except InvalidHashError:
            return False
        if params.memory_cost > _MAX_MEMORY_KIB or params.time_cost > _MAX_TIME_COST:
            return False
        with self.gate:
            try:
                return self.hasher.verify(stored, password)
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False

    def verify_nobody(self, password: str) -> None:
        """Spend a verification's time for a user name that does not exist."""
        self.verify(self._dummy, password)

    def needs_rehash(self, stored: str) -> bool:
        """Whether ``stored`` was made with other parameters than the current ones."""
        return self.hasher.check_needs_rehash(stored)


def check_password(password: str, username: str = "") -> Text | None:
    """Why ``password`` is refused, or ``None`` if it is acceptable."""
    if len(password) < PASSWORD_MIN:
        return Text(N_("a password needs at least {n} characters"), n=PASSWORD_MIN)
    if len(password) > PASSWORD_MAX:
        return Text(N_("a password may have at most {n} characters"), n=PASSWORD_MAX)
    if username and password.casefold() == username.casefold():
        return Text(N_("the password must not be the user name"))
    return None


def _username(username: str) -> str:
    if re.fullmatch(USERNAME_PATTERN, username) is None:
        raise ValueError(
            Text(
                N_(
                    "a user name has 2 to 64 letters, digits and _ . @ -, starting with a "
                    "letter or digit; got {value}"
                ),
                value=repr(username),
            )
        )
    return username


def _scope(values: list[Any] | None) -> tuple[str, ...] | None:
    """A stored scope as the views hold it (``None``: no narrowing)."""
    return None if values is None else tuple(str(v) for v in values)


def create_user(  # noqa: PLR0913 -- a user's fields, the scopes keyword-only
    session: Session,
    passwords: Passwords,
    username: str,
    password: str,
    role: str,
    *,
    display_name: str = "",
    districts: list[str] | None = None,
    streets: list[str] | None = None,
    communities: list[str] | None = None,
    units: list[str] | None = None,
) -> User:
    """Store a new user (flushed, not committed).

    Raises
    ------
    ValueError
        A bad user name, a refused password, an unknown role, an empty scope, or a
        user name already taken; the message is a :class:`~matcher.i18n.Text`.
    """
    _username(username)
    if role not in USER_ROLES:
        raise ValueError(
            Text(
                N_("role must be one of {roles}, got {role}"),
                roles=", ".join(USER_ROLES),
                role=repr(role),
            )
        )
    refused = check_password(password, username)
    if refused is not None:
        raise ValueError(refused)
    if find_user(session, username) is not None:
        raise ValueError(Text(N_("the user name {name} is taken"), name=repr(username)))
    now = utcnow()
    user = User(
        username=username,
        display_name=display_name.strip()[:200],
        password_hash=passwords.hash(password),
        role=role,
        districts=check_districts(districts),
        streets=check_names(streets, "streets"),
        communities=check_names(communities, "communities"),
        units=check_names(units, "units"),
        session_version=1,
        failed_sign_ins=0,
        created_at=now,
        password_changed_at=now,
    )
    session.add(user)
    session.flush()
    return user


def find_user(session: Session, username: str) -> User | None:
    """The user named ``username`` (exactly), or ``None``."""
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def list_users(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.execute(select(User).order_by(User.username)).scalars())


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt came to: the user, or why not (``wrong``, ``locked``,
    ``disabled``) and until when a locked account stays locked."""

    user: User | None
    refusal: str | None = None
    locked_until: datetime | None = None


def authenticate(
    session: Session,
    passwords: Passwords,
    username: str,
    password: str,
    *,
    lock_after: int,
    lock_s: int,
    now: datetime | None = None,
) -> SignIn:
    """Check a sign-in. Wrong passwords are counted on the account; the
    ``lock_after``-th in a row locks it for ``lock_s`` seconds, during which even the
    right password is refused (and not checked: a locked account tells nothing).
    The caller commits whatever the outcome (the count must be kept)."""
    now = now or utcnow()
    user = find_user(session, username) if len(password) <= PASSWORD_MAX else None
    if user is None:
        passwords.verify_nobody(password[:PASSWORD_MAX])
        return SignIn(None, "wrong")
    if user.locked_until is not None and user.locked_until > now:
        return SignIn(None, "locked", user.locked_until)
    if not passwords.verify(user.password_hash, password):
        user.failed_sign_ins += 1
        if user.failed_sign_ins >= lock_after:
            user.failed_sign_ins = 0
            user.locked_until = now + timedelta(seconds=lock_s)
            return SignIn(None, "locked", user.locked_until)
        return SignIn(None, "wrong")
    if user.disabled_at is not None:
        return SignIn(None, "disabled")
    user.failed_sign_ins = 0
    user.locked_until = None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)
    return SignIn(user)


def set_password(session: Session, passwords: Passwords, user: User, password: str) -> None:
    """Give ``user`` a new password and end every session of theirs.

    Raises
    ------
    ValueError
        The password is refused (:func:`check_password`).
    """
    refused = check_password(password, user.username)
    if refused is not None:
        raise ValueError(refused)
    user.password_hash = passwords.hash(password)
    user.password_changed_at = utcnow()
    end_sessions(user)


WRONG_CURRENT = N_("the current password is not right")
"""Why a change of one's own password is refused when the current one is wrong."""


def end_sessions(user: User) -> None:
    """End every session of ``user`` (the cookies carry the old version)."""
    user.session_version += 1


def unlock(user: User) -> None:
    """Lift a lock and forget the wrong passwords counted."""
    user.locked_until = None
    user.failed_sign_ins = 0


@dataclass(frozen=True)
class UserView:
    """What pages show of the signed-in user: a plain copy, readable after the
    request's session has closed (an error page is rendered then)."""

    id: int
    username: str
    display_name: str
    role: str
    districts: tuple[str, ...] | None
    streets: tuple[str, ...] | None
    communities: tuple[str, ...] | None
    units: tuple[str, ...] | None
    password_changed_at: datetime

    @classmethod
    def of(cls, user: User) -> UserView:
        """The view of a stored user."""
        return cls(
            user.id,
            user.username,
            user.display_name,
            user.role,
            _scope(user.districts),
            _scope(user.streets),
            _scope(user.communities),
            _scope(user.units),
            user.password_changed_at,
        )


def actor_of(user: User) -> Actor:
    """The actor a signed-in user acts as: their role and scopes, as a key's."""
    return Actor(
        user.role,
        None,
        _scope(user.districts),
        _scope(user.streets),
        _scope(user.communities),
        _scope(user.units),
        user_id=user.id,
    )
