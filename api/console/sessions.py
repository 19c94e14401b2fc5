"""The console's session cookie: signed, holding only a user id and a session
version, expiring; and the key that signs it.

The cookie is ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (no other site's form
or frame sends it), ``Secure`` when ``MATCHER_SECURE_COOKIES`` says the console is served
over HTTPS, and expires after ``MATCHER_SESSION_MAX_AGE_S`` (the signature carries its
time: a copied cookie stops working too). A user's session version goes up when they
sign out, change their password or are disabled, which ends every cookie issued before.
"""

from __future__ import annotations

import secrets

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.db.models import ServiceSecret, User, utcnow
from api.settings import Settings

__all__ = ["SESSION_COOKIE", "Sessions", "service_secret"]

SESSION_COOKIE = "matcher_session"
_SALT = "matcher.console.session"


def service_secret(settings: Settings, engine: Engine, name: str = "console") -> str:
    """``MATCHER_SECRET_KEY``, else the store's own random key (made on first use and
    kept, so that every process of one store signs alike)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    with Session(engine) as session:
        row = session.get(ServiceSecret, name)
        if row is not None:
            return row.value
        session.add(ServiceSecret(name=name, value=secrets.token_urlsafe(48), created_at=utcnow()))
        try:
            session.commit()
        except IntegrityError:  # another process made it first: use theirs
            session.rollback()
        value = session.execute(
            select(ServiceSecret.value).where(ServiceSecret.name == name)
        ).scalar_one()
        return str(value)


class Sessions:
    """Issues and reads session cookies.

    >>> s = Sessions("k" * 32, max_age_s=60)
    >>> s.read(s.value(7, 3))
    (7, 3)
    >>> s.read("x" + s.value(7, 3)[1:]) is None  # the data altered
    True
    """

    def __init__(self, secret: str, *, max_age_s: int, secure: bool = False) -> None:
        self.serializer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.max_age_s = max_age_s
        self.secure = secure

    def value(self, user_id: int, version: int) -> str:
        """The signed cookie value for a user at a session version."""
        return self.serializer.dumps([user_id, version])

    def read(self, value: str | None) -> tuple[int, int] | None:
        """The user id and version of a cookie, or ``None`` if it is missing, forged,
        malformed or older than the session's age."""
        if not value or len(value) > 512:
            return None
        try:
            data = self.serializer.loads(value, max_age=self.max_age_s)
        except BadSignature:  # SignatureExpired is one too
            return None
        if (
            not isinstance(data, list)
            or len(data) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in data)
        ):
            return None
        return data[0], data[1]

    def user(self, session: Session, value: str | None) -> User | None:
        """The live user a cookie names: existing, not disabled, same version."""
        ids = self.read(value)
        if ids is None:
            return None
        user = session.get(User, ids[0])
        if user is None or user.disabled_at is not None or user.session_version != ids[1]:
            return None
        return user

    def start(self, response: Response, user: User) -> None:
        """Set the cookie of a new session of ``user`` on ``response``."""
        response.set_cookie(
            SESSION_COOKIE,
            self.value(user.id, user.session_version),
            max_age=self.max_age_s,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.secure,
        )

    def end(self, response: Response) -> None:
        """Remove the cookie (the version is raised separately, to end it everywhere)."""
        response.delete_cookie(
            SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=self.secure
        )
