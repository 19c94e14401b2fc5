"""Protection of every form against cross-site request forgery: a per-browser random
cookie and, in each form, a token that is the cookie's HMAC under the service's secret.

Another site can make a browser send the cookie, but cannot read the page that holds
the token, nor compute it. The cookie is ``HttpOnly`` and ``SameSite=Lax``; the token
travels in a form field (:data:`FIELD`, file uploads included) or, for htmx requests, in
the :data:`HEADER` header. A missing or wrong token is 403 (``csrf_failed``).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from starlette.requests import Request
from starlette.responses import Response

from api.errors import ApiError
from matcher.i18n import N_, Text

__all__ = ["CSRF_COOKIE", "FIELD", "HEADER", "Csrf"]

CSRF_COOKIE = "matcher_csrf"
FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
_VALUE = re.compile(r"^[A-Za-z0-9_-]{43}$")


class Csrf:
    """The tokens of one secret.

    >>> c = Csrf("k" * 32)
    >>> c.valid("a" * 43, c.token("a" * 43)), c.valid("a" * 43, "forged")
    (True, False)
    """

    def __init__(self, secret: str, *, secure: bool = False) -> None:
        self.key = hashlib.sha256(("matcher.console.csrf:" + secret).encode()).digest()
        self.secure = secure

    def token(self, cookie: str) -> str:
        """The form token for a browser's cookie value."""
        return hmac.new(self.key, cookie.encode(), hashlib.sha256).hexdigest()

    def valid(self, cookie: str | None, token: str | None) -> bool:
        """Whether ``token`` is the one of ``cookie`` (constant time)."""
        if not cookie or not token or _VALUE.match(cookie) is None:
            return False
        return hmac.compare_digest(self.token(cookie), token)

    def cookie_of(self, request: Request) -> str:
        """The browser's cookie value, or a new one (then kept on ``request.state`` to
        be set on the response by :meth:`keep`)."""
        value = request.cookies.get(CSRF_COOKIE)
        if value is not None and _VALUE.match(value):
            return value
        made: str | None = getattr(request.state, "new_csrf_cookie", None)
        if made is None:
            made = secrets.token_urlsafe(32)
            request.state.new_csrf_cookie = made
        return made

    def keep(self, request: Request, response: Response) -> None:
        """Set a cookie made while the page was rendered."""
        made = getattr(request.state, "new_csrf_cookie", None)
        if made is not None:
            response.set_cookie(
                CSRF_COOKIE, made, path="/", httponly=True, samesite="lax", secure=self.secure
            )

    async def check(self, request: Request) -> None:
        """403 unless the request carries the token of its cookie (in the form or the
        header)."""
        token = request.headers.get(HEADER)
        if token is None:
            content_type = request.headers.get("content-type", "")
            if content_type.startswith(
                ("application/x-www-form-urlencoded", "multipart/form-data")
            ):
                form = await request.form()
                field = form.get(FIELD)
                token = field if isinstance(field, str) else None
        if not self.valid(request.cookies.get(CSRF_COOKIE), token):
            raise ApiError(
                403,
                "csrf_failed",
                Text(
                    N_(
                        "this form has expired or did not come from this site; reload the "
                        "page and send it again"
                    )
                ),
            )
