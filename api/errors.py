"""Errors the routes raise on purpose, and the handlers that turn every error into JSON."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from matcher.i18n import LANGS, negotiate, render

log = logging.getLogger("matcher.api")


def request_lang(request: Request) -> str:
    """The language to answer ``request`` in: its ``?lang=`` if a catalogue speaks it,
    else its ``Accept-Language`` header, else English."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    return negotiate(request.headers.get("accept-language"))


class ApiError(Exception):
    """An error response: HTTP status, a stable code, a message and optional items."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        errors: list[dict[str, Any]] | None = None,
        truncated: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.truncated = truncated
        self.headers = headers


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """The methods the OpenAPI schema documents for a concrete request path."""
    table: list[tuple[re.Pattern[str], list[str]]] | None = getattr(app.state, "allow_map", None)
    if table is None:
        table = []
        for template, operations in app.openapi().get("paths", {}).items():
            regex = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
            table.append((re.compile(f"^{regex}$"), sorted(m.upper() for m in operations)))
        app.state.allow_map = table
    for compiled, methods in table:
        if compiled.match(path):
            return methods
    return []


def not_found(what: str, ident: object) -> ApiError:
    """A 404 for a missing ``what`` with id ``ident``."""
    return ApiError(404, "not_found", f"no {what} with id {ident!r}")


def _body(
    code: str, detail: str, errors: Any = None, truncated: int | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"detail": detail, "code": code}
    if errors is not None:
        body["errors"] = errors
    if truncated is not None:
        body["truncated"] = truncated
    return body


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
}


def _message(error: Any) -> str:
    """A validation error's message; an unknown integer rule says which rules exist."""
    loc = tuple(str(p) for p in error.get("loc", ()))
    if error.get("type") == "extra_forbidden" and loc[:2] == ("body", "integer_rules"):
        from api.schemas import IntegerRulesCreate

        known = ", ".join(IntegerRulesCreate.model_fields)
        return f"integer rule {loc[-1]!r} is not available (the planner has: {known})"
    return str(error.get("msg", ""))


def _field(error: Any) -> str | None:
    """The dotted field of a validation error; a tagged union's missing or unknown tag
    names its discriminator (``kind``)."""
    path = [str(p) for p in error.get("loc", ())[1:]]
    if str(error.get("type", "")).startswith("union_tag_"):
        path.append(str((error.get("ctx") or {}).get("discriminator", "")).strip("'\""))
    return ".".join(p for p in path if p) or None


def install_handlers(app: FastAPI) -> None:
    """Make every error a JSON body ``{"detail", "code", ...}``; never a bare 500 page."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        body = render(_body(exc.code, exc.detail, exc.errors, exc.truncated), request_lang(request))
        return JSONResponse(
            body,
            status_code=exc.status,
            headers=exc.headers,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            allowed = allowed_methods(app, request.url.path)
            headers["Allow"] = ", ".join(allowed)
            detail = f"method {request.method} is not allowed here; use {', '.join(allowed)}"
        return JSONResponse(_body(code, detail), status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "field": _field(e),
                "message": _message(e),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        first = errors[0] if errors else {"field": None, "message": "invalid request"}
        where = f" ({first['field']})" if first.get("field") else ""
        return JSONResponse(
            _body("invalid_request", f"invalid request{where}: {first['message']}", errors),
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return JSONResponse(
            _body("internal_error", f"internal error: {type(exc).__name__}"), status_code=500
        )


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error responses (all share the ``ErrorPublic`` body)."""
    from api.schemas import ErrorPublic

    words = {
        400: "Bad request",
        401: "No valid API key",
        403: "The key's role or district scope does not allow this",
        404: "Not found",
        409: "Conflicts with the resource's state",
        413: "Request body too large",
        415: "Unsupported content type",
        422: "Invalid input",
        429: "Too many requests (a rate limit, or too many queued runs); retry after "
        "the seconds in Retry-After",
    }
    retry = {
        "Retry-After": {
            "description": "Seconds to wait before trying again",
            "schema": {"type": "integer", "minimum": 1},
        }
    }
    return {
        c: {
            "model": ErrorPublic,
            "description": words.get(c, "Error"),
            **({"headers": retry} if c == 429 else {}),
        }
        for c in codes
    }
