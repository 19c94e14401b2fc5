"""Pure ASGI middleware: request bodies above a size (413), requests past the rate
limits (429 with Retry-After), and the security headers of every response (a Content
Security Policy built from the page actually served, ``nosniff``, no framing)."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from limits import RateLimitItem, parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import request_lang
from matcher.i18n import N_, Text

__all__ = [
    "API_POLICY",
    "DOCS_SOURCES",
    "SELF_SOURCES",
    "AddressRateLimit",
    "BodySizeLimit",
    "BodyTooLarge",
    "RateLimits",
    "RefuseNul",
    "SecurityHeaders",
    "client_address",
    "html_policy",
    "inline_hashes",
    "rate_text",
    "reply",
]


def _too_large_text(max_bytes: int) -> Text:
    return Text(
        N_(
            "the request body is larger than the limit of {max_bytes} bytes "
            "(MATCHER_MAX_BODY_BYTES)"
        ),
        max_bytes=max_bytes,
    )


class BodyTooLarge(HTTPException):
    """Raised inside the app when a streamed body passes the limit (rendered as 413)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, _too_large_text(max_bytes))


class _HttpMiddleware:
    """A pure ASGI middleware acting on HTTP requests only: other scopes (lifespan,
    websockets) pass through untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass a non-HTTP scope on, hand an HTTP request to :meth:`http`."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one HTTP request (``self.app`` serves it when it is let through)."""
        raise NotImplementedError


NUL = "\x00"
_NUL_TEXT = N_("text may not contain the NUL character (U+0000)")


def _nul_path(value: Any, where: str) -> str | None:
    """Where in a parsed JSON value a string (or key) holds a NUL, if anywhere."""
    if isinstance(value, str):
        return where if NUL in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if NUL in str(key):
                return where
            found = _nul_path(item, f"{where}.{key}" if where else str(key))
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _nul_path(item, f"{where}.{i}" if where else str(i))
            if found is not None:
                return found
    return None


class RefuseNul(_HttpMiddleware):
    """Refuse a NUL character (U+0000) in the path, the query, or a JSON or form body
    with 422 naming where it is: PostgreSQL cannot store one in text, and no field of
    the service has a use for it (uploaded files are checked by their readers)."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Look at the path and query first, then at a JSON or form body."""
        field = self._in_url(scope)
        if field is not None:
            await self._refuse(scope, send, field)
            return
        kind = _content_type(scope)
        if kind not in ("application/json", "application/x-www-form-urlencoded"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body"))
        body = b"".join(chunks)
        field = _nul_in_body(body, kind)
        if field is not None:
            await self._refuse(scope, send, field)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _in_url(scope: Scope) -> str | None:
        if NUL in scope.get("path", ""):
            return "path"
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
                if NUL in name or NUL in value:
                    return name.replace(NUL, "") or "query"
        return None

    @staticmethod
    async def _refuse(scope: Scope, send: Send, field: str) -> None:
        await reply(
            scope,
            send,
            422,
            "invalid_request",
            Text(_NUL_TEXT),
            [(b"connection", b"close")],
            [{"field": field, "message": Text(_NUL_TEXT)}],
        )


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return str(value.decode("latin-1")).split(";")[0].strip().lower()
    return ""


def _nul_in_body(body: bytes, kind: str) -> str | None:
    """The field of a JSON or form body that holds a NUL, if one does."""
    if kind == "application/json":
        if b"\\u0000" not in body and b"\x00" not in body:
            return None
        try:
            parsed = json.loads(body)
        except ValueError:
            return None  # the route's own parser names what is wrong
        return _nul_path(parsed, "body")
    if b"%00" not in body and b"\x00" not in body:
        return None
    for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
        if NUL in name or NUL in value:
            return name.replace(NUL, "") or "body"
    return None


class BodySizeLimit(_HttpMiddleware):
    """Refuse bodies over ``max_bytes``: by ``Content-Length`` before reading, and by
    counting the bytes of a streamed (chunked) body as they arrive."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        super().__init__(app)
        self.max_bytes = max_bytes

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a request body over the limit before the route reads it."""
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    await self._reply(
                        scope, send, 400, "bad_request", Text(N_("Content-Length is not a number"))
                    )
                    return
                if length > self.max_bytes:
                    await self._too_large(scope, send)
                    return
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await self._too_large(scope, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        await self._reply(scope, send, 413, "payload_too_large", _too_large_text(self.max_bytes))

    @staticmethod
    async def _reply(scope: Scope, send: Send, status: int, code: str, detail: str) -> None:
        # the body was not read: close the connection rather than read it to reuse it
        await reply(scope, send, status, code, detail, [(b"connection", b"close")])


async def reply(
    scope: Scope,
    send: Send,
    status: int,
    code: str,
    detail: str,
    headers: list[tuple[bytes, bytes]] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> None:
    """Send a JSON error ``{"detail", "code"}`` (and ``errors``) as the whole response;
    a :class:`~matcher.i18n.Text` detail or item message in the request's language
    (``?lang=``, ``Accept-Language``), as the app's own errors."""
    lang = request_lang(Request(scope))
    if isinstance(detail, Text):
        detail = detail.render(lang)
    payload: dict[str, Any] = {"detail": detail, "code": code}
    if errors:
        payload["errors"] = [
            {k: v.render(lang) if isinstance(v, Text) else v for k, v in e.items()} for e in errors
        ]
    body = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RateLimits:
    """The service's three rate limits, counted by the ``limits`` library (a moving
    window: a request counts for exactly the window after it).

    Parameters
    ----------
    per_key, per_address, failed_auth
        Rates as the library writes them (``"600/minute"``, ``"10/second;600/minute"``).
    storage
        The library's storage URI (``memory://``: this process; ``redis://...``: shared).
    public
        The public's writes (no key), by kind (``objections``, ``ratings``), each with its
        rate per client address.
    """

    def __init__(
        self,
        per_key: str,
        per_address: str,
        failed_auth: str,
        storage: str,
        public: Mapping[str, str] | None = None,
    ) -> None:
        self.per_key = parse_many(per_key)
        self.per_address = parse_many(per_address)
        self.failed_auth = parse_many(failed_auth)
        self.public = {kind: parse_many(rate) for kind, rate in (public or {}).items()}
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage))

    def _retry_after(self, item: RateLimitItem, *ids: str) -> int:
        """Whole seconds until ``item`` admits a request again (at least 1)."""
        reset = self.limiter.get_window_stats(item, *ids).reset_time
        return max(1, math.ceil(reset - time.time()))

    def _hit(self, items: list[RateLimitItem], *ids: str) -> tuple[RateLimitItem, int] | None:
        for item in items:
            if not self.limiter.hit(item, *ids):
                return item, self._retry_after(item, *ids)
        return None

    def hit_address(self, address: str) -> tuple[RateLimitItem, int] | None:
        """Count a request from ``address``; the limit passed and seconds to wait if
        it is refused, else ``None``."""
        return self._hit(self.per_address, "address", address)

    def hit_public(self, kind: str, address: str) -> tuple[RateLimitItem, int] | None:
        """Count a public write of ``kind`` from ``address``; as :meth:`hit_address`."""
        return self._hit(self.public.get(kind, []), "public", kind, address)

    def hit_key(self, key_id: int) -> tuple[RateLimitItem, int] | None:
        """Count a request with key ``key_id``; as :meth:`hit_address`."""
        return self._hit(self.per_key, "key", str(key_id))

    def auth_blocked(self, address: str) -> tuple[RateLimitItem, int] | None:
        """Whether ``address`` has sent its allowance of bad keys (without counting)."""
        for item in self.failed_auth:
            if not self.limiter.test(item, "failed_auth", address):
                return item, self._retry_after(item, "failed_auth", address)
        return None

    def note_failed_auth(self, address: str) -> None:
        """Count a bad key sent from ``address``."""
        for item in self.failed_auth:
            self.limiter.hit(item, "failed_auth", address)


def client_address(scope: Scope) -> str:
    """The client's address as the server sees it (uvicorn rewrites it from
    ``X-Forwarded-For`` only for proxies in ``FORWARDED_ALLOW_IPS``)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def rate_text(item: RateLimitItem) -> str:
    """A limit as the settings write it: ``600/minute``, ``30/2 minutes``."""
    unit = item.GRANULARITY.name
    return (
        f"{item.amount}/{unit}"
        if item.multiples == 1
        else f"{item.amount}/{item.multiples} {unit}s"
    )


class AddressRateLimit(_HttpMiddleware):
    """Refuse requests from a client address past its rate (429 with Retry-After), before
    any routing, key lookup or body reading."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        super().__init__(app)
        self.limits = limits

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse an address over its rate limit before anything else runs."""
        refused = self.limits.hit_address(client_address(scope))
        if refused is not None:
            item, wait = refused
            await reply(
                scope,
                send,
                429,
                "rate_limited",
                Text(
                    N_(
                        "too many requests from this address (the limit is {limit}, "
                        "MATCHER_RATE_LIMIT_PER_ADDRESS); retry in {wait} s"
                    ),
                    limit=rate_text(item),
                    wait=wait,
                ),
                [(b"retry-after", str(wait).encode())],
            )
            return
        await self.app(scope, receive, send)


_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.I | re.S)
_STYLE = re.compile(r"<style\b[^>]*>(.*?)</style\s*>", re.I | re.S)
_STYLE_ATTR = re.compile(r"""\sstyle\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.I)
_SRC = re.compile(r"\bsrc\s*=", re.I)
_INLINE_SCAN_BYTES = 256 * 1024

# JSON, CSV, Parquet: nothing in them may run or load anything if opened as a page.
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
# FastAPI's /docs and /redoc pages load Swagger UI and ReDoc from jsDelivr (ReDoc its
# fonts from Google Fonts, and its search index in a blob: worker); both libraries set
# styles as they render, so these pages alone keep inline styles. Their inline scripts
# are allowed by hash, like the report's.
DOCS_SOURCES = {
    "script-src": "https://cdn.jsdelivr.net",
    "style-src": "'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com",
    "font-src": "https://fonts.gstatic.com",
    "img-src": "'self' https://fastapi.tiangolo.com https://cdn.redoc.ly",
    "connect-src": "'self'",
    "worker-src": "blob:",
    "form-action": "'self'",
}


def _sha256(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def inline_hashes(page: str) -> tuple[list[str], list[str], list[str]]:
    """CSP hash sources of a page's inline ``<script>`` blocks (those without ``src``),
    ``<style>`` blocks and ``style`` attributes, in order of appearance, each once."""
    scripts = [_sha256(m[2]) for m in _SCRIPT.finditer(page) if not _SRC.search(m[1])]
    styles = [_sha256(m[1]) for m in _STYLE.finditer(page)]
    # a map repeats a few style values on thousands of marks: hash each value once
    values = _unique([m[1] if m[2] is None else m[2] for m in _STYLE_ATTR.finditer(page)])
    attrs = [_sha256(html.unescape(v or "")) for v in values]
    return _unique(scripts), _unique(styles), _unique(attrs)


SELF_SOURCES = {
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "connect-src": "'self'",
    "frame-src": "'self'",
}
"""What the console's pages load from the service itself: htmx and its script, the
stylesheet, the polls of htmx, an embedded report (nothing from anywhere else)."""


def html_policy(page: bytes, docs: bool = False, own: bool = False, framed: bool = False) -> str:
    """The Content-Security-Policy of an HTML page: nothing but its own inline blocks,
    allowed by their SHA-256 (a changed or injected block does not run), and no framing.
    ``docs``: FastAPI's Swagger UI and ReDoc pages, with the sources they load. ``own``:
    a console page, which also loads :data:`SELF_SOURCES` from the service. ``framed``:
    a page the console shows in a frame (the report), framed by the service alone."""
    scripts, styles, attrs = inline_hashes(page.decode("utf-8", "replace"))
    directives = {
        "default-src": "'none'",
        "script-src": " ".join(scripts) or "'none'",
        "style-src": " ".join([*styles, *(["'unsafe-hashes'", *attrs] if attrs else [])])
        or "'none'",
        "img-src": "data:",
        "base-uri": "'none'",
        # the service's own forms (the public notice's objection form) post to it
        "form-action": "'self'",
        "frame-ancestors": "'self'" if framed else "'none'",
    }
    if own:
        for name, source in SELF_SOURCES.items():
            directives[name] = " ".join(
                s for s in (source, directives.get(name, "")) if s and s != "'none'"
            )
    if docs:
        directives["style-src"] = ""  # hashes would switch 'unsafe-inline' off
        for name, sources in DOCS_SOURCES.items():
            directives[name] = " ".join(
                s for s in (directives.get(name, ""), sources) if s and s != "'none'"
            )
    return "; ".join(f"{name} {value}" for name, value in directives.items())


class SecurityHeaders(_HttpMiddleware):
    """Headers on every response: ``X-Content-Type-Options: nosniff``,
    ``Referrer-Policy: no-referrer``, ``X-Frame-Options: DENY`` and a
    Content-Security-Policy; an HTML page's policy allows exactly its own inline blocks,
    so its body is held until complete and hashed (the pages are built in memory
    anyway)."""

    def __init__(
        self,
        app: ASGIApp,
        docs_paths: frozenset[str] = frozenset(),
        own_prefixes: tuple[str, ...] = (),
    ) -> None:
        super().__init__(app)
        self.docs_paths = docs_paths
        self.own_prefixes = own_prefixes

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Add the security headers to every response."""
        held: Message | None = None
        chunks: list[bytes] = []
        framed = False

        async def secured_send(message: Message) -> None:
            nonlocal held, framed
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = "no-referrer"
                # a route may let the service frame its page (SAMEORIGIN), nobody else
                framed = headers.get("x-frame-options", "").upper() == "SAMEORIGIN"
                headers["X-Frame-Options"] = "SAMEORIGIN" if framed else "DENY"
                if headers.get("content-type", "").lower().startswith("text/html"):
                    held = message
                    return
                headers["Content-Security-Policy"] = API_POLICY
            elif message["type"] == "http.response.body" and held is not None:
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                page = b"".join(chunks)
                docs = scope["path"] in self.docs_paths
                own = bool(self.own_prefixes) and scope["path"].startswith(self.own_prefixes)
                # a city's report is megabytes (about 35 ms a MiB to scan): off the event
                # loop, so /health and other requests keep answering meanwhile
                policy = (
                    await run_in_threadpool(html_policy, page, docs, own, framed)
                    if len(page) > _INLINE_SCAN_BYTES
                    else html_policy(page, docs, own, framed)
                )
                MutableHeaders(scope=held)["Content-Security-Policy"] = policy
                start, held = held, None
                await send(start)
                message = {"type": "http.response.body", "body": page}
            await send(message)

        await self.app(scope, receive, secured_send)
