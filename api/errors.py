"""Errors the routes raise on purpose, and the handlers that turn every error into JSON."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Protocol

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from matcher.errors import DatasetError, ParameterError, ValidationIssue
from matcher.i18n import LANGS, N_, SOURCE_LANG, Text, negotiate, render, translator

__all__ = [
    "ApiError",
    "ErrorPages",
    "LangText",
    "allowed_methods",
    "expected_text",
    "install_handlers",
    "invalid_request",
    "issue_dict",
    "no_results",
    "not_found",
    "parameter_text",
    "request_lang",
    "responses",
    "validation_message",
    "validation_text",
]

log = logging.getLogger("matcher.api")


def request_lang(request: Request) -> str:
    """The language to answer ``request`` in: its ``?lang=`` if a catalogue speaks it,
    else its ``Accept-Language`` header, else English."""
    asked = request.query_params.get("lang")
    if asked in LANGS:
        return asked
    return negotiate(request.headers.get("accept-language"))


class LangText(Text):
    """A text the library builds for each language itself (an issue's whole sentence, a
    parameter error), carried like a :class:`~matcher.i18n.Text`: it is its English
    text, and the error handlers render it in the request's language.

    >>> issue = ValidationIssue("demands.csv", 4, "priority", "x", "a whole number")
    >>> LangText(issue.text).render("en")
    "demands.csv, row 4, column 'priority': got 'x', expected a whole number"
    """

    build: Callable[[str], str]

    def __new__(cls, build: Callable[[str], str]) -> LangText:  # noqa: D102 (the class says it)
        english = build(SOURCE_LANG)
        self = str.__new__(cls, english)
        self.message = english
        self.args = {}
        self.build = build
        return self

    def render(self, lang: str = SOURCE_LANG) -> str:
        """The text in ``lang``."""
        return self.build(lang)

    def __reduce__(self) -> tuple[object, ...]:
        # copied or pickled as its English (the function is not data)
        return (str, (str.__str__(self),))


def issue_dict(issue: ValidationIssue) -> dict[str, Any]:
    """A validation issue as an ``errors[]`` item whose ``expected`` and ``message`` are
    rendered in the request's language (the codes, file, row, column and value stay)."""
    out = issue.to_dict()
    out["expected"] = LangText(issue.expected_text)
    out["message"] = LangText(issue.text)
    return out


def issue_where(issue: ValidationIssue) -> LangText:
    """Where a dataset issue is and what was expected, in the reader's language."""

    def build(lang: str) -> str:
        _ = translator(lang)
        return _("{where}: expected {expected}").format(
            where=issue.where(lang), expected=issue.expected_text(lang)
        )

    return LangText(build)


def invalid_dataset(exc: DatasetError, one: str, many: str) -> ApiError:
    """The 422 ``invalid_dataset`` of a dataset that does not validate, every issue in
    ``errors[]``: ``one`` (with ``{issue}``) names the only error in the summary, ``many``
    (with ``{n}``) counts several. Both are marked texts (``N_``)."""
    n = len(exc.issues) + exc.truncated
    detail = (
        Text(one, issue=issue_where(exc.issues[0])) if n == 1 and exc.issues else Text(many, n=n)
    )
    return ApiError(
        422,
        "invalid_dataset",
        detail,
        errors=[issue_dict(i) for i in exc.issues],
        truncated=exc.truncated,
    )


def parameter_text(exc: ParameterError) -> LangText:
    """A parameter error's whole message, rendered in the request's language."""
    return LangText(exc.render)


def expected_text(exc: ParameterError) -> LangText | str:
    """What a parameter error expected, rendered in the request's language."""
    expected = exc.expected
    return LangText(expected.render) if isinstance(expected, Text) else expected


@dataclass(eq=False)  # eq=False: compared and hashed by identity, as exceptions are
class ApiError(Exception):
    """An error response: HTTP status, a stable code, a message and optional items.

    ``detail`` and the items' texts may be :class:`~matcher.i18n.Text`: they are
    rendered in the request's language (:func:`request_lang`); codes never change.
    """

    status: int
    code: str
    detail: str
    errors: list[dict[str, Any]] | None = None
    truncated: int | None = None
    headers: dict[str, str] | None = None

    def __post_init__(self) -> None:
        super().__init__(self.detail)  # str(exc) and exc.args stay the message


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


# Whole sentences for the things the routes look up (a sentence is translated whole).
_NOT_FOUND = {
    "run": N_("no run with id {ident}"),
    "dataset": N_("no dataset with id {ident}"),
    "key": N_("no key with id {ident}"),
    "recommendation run": N_("no recommendation run with id {ident}"),
}


def not_found(what: str, ident: object) -> ApiError:
    """A 404 for a missing ``what`` with id ``ident``: ``no run with id 'abc'``.

    ``what`` is one of the nouns above, or any other noun (a :class:`Text` is rendered in
    the request's language, a plain string is shown as it is)."""
    shown = repr(ident)
    message = _NOT_FOUND.get(what) if not isinstance(what, Text) else None
    if message is not None:
        return ApiError(404, "not_found", Text(message, ident=shown))
    return ApiError(404, "not_found", Text(N_("no {what} with id {ident}"), what=what, ident=shown))


def no_results(run_id: str, status: str) -> ApiError:
    """A 409 for the results of run ``run_id``, which is ``status``, not succeeded."""
    return ApiError(
        409,
        "no_results",
        Text(
            N_("run {id} is {status}; results exist once it has succeeded"),
            id=run_id,
            status=status,
        ),
    )


def _body(
    code: str, detail: str, errors: Any = None, truncated: int | None = None
) -> dict[str, Any]:
    """The JSON body of an error (its texts not yet rendered)."""
    body: dict[str, Any] = {"detail": detail, "code": code}
    if errors is not None:
        body["errors"] = errors
    if truncated is not None:
        body["truncated"] = truncated
    return body


# Starlette's own details (an unknown path's 404, a form it cannot parse) are the HTTP
# phrases: these are shown in the request's language.
_PHRASES = {
    HTTPStatus.BAD_REQUEST.phrase: N_("Bad Request"),
    HTTPStatus.UNAUTHORIZED.phrase: N_("Unauthorized"),
    HTTPStatus.FORBIDDEN.phrase: N_("Forbidden"),
    HTTPStatus.NOT_FOUND.phrase: N_("Not Found"),
    HTTPStatus.NOT_ACCEPTABLE.phrase: N_("Not Acceptable"),
    HTTPStatus.CONFLICT.phrase: N_("Conflict"),
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE.phrase: N_("Content Too Large"),
    HTTPStatus.UNSUPPORTED_MEDIA_TYPE.phrase: N_("Unsupported Media Type"),
    HTTPStatus.UNPROCESSABLE_ENTITY.phrase: N_("Unprocessable Content"),
    HTTPStatus.TOO_MANY_REQUESTS.phrase: N_("Too Many Requests"),
    HTTPStatus.INTERNAL_SERVER_ERROR.phrase: N_("Internal Server Error"),
}

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


# Chinese (and any catalogue's) texts of pydantic's common errors, keyed by error type;
# the English is pydantic's own message, kept as it is. Placeholders are the error's
# ``ctx`` values; a type not listed here keeps pydantic's English message.
_PYDANTIC: dict[str, str] = {
    "missing": N_("Field required"),
    "extra_forbidden": N_("Extra inputs are not permitted"),
    "int_parsing": N_("Input should be a valid integer, unable to parse string as an integer"),
    "int_type": N_("Input should be a valid integer"),
    "int_from_float": N_("Input should be a valid integer, got a number with a fractional part"),
    "float_parsing": N_("Input should be a valid number, unable to parse string as a number"),
    "float_type": N_("Input should be a valid number"),
    "finite_number": N_("Input should be a finite number"),
    "bool_parsing": N_("Input should be a valid boolean, unable to interpret input"),
    "bool_type": N_("Input should be a valid boolean"),
    "string_type": N_("Input should be a valid string"),
    "list_type": N_("Input should be a valid list"),
    "dict_type": N_("Input should be a valid dictionary"),
    "model_attributes_type": N_(
        "Input should be a valid dictionary or object to extract fields from"
    ),
    "model_type": N_("Input should be a valid dictionary or instance of {class_name}"),
    "greater_than": N_("Input should be greater than {gt}"),
    "greater_than_equal": N_("Input should be greater than or equal to {ge}"),
    "less_than": N_("Input should be less than {lt}"),
    "less_than_equal": N_("Input should be less than or equal to {le}"),
    "multiple_of": N_("Input should be a multiple of {multiple_of}"),
    "string_too_short": N_("String should have at least {min_length} characters"),
    "string_too_long": N_("String should have at most {max_length} characters"),
    "string_pattern_mismatch": N_("String should match pattern '{pattern}'"),
    "too_short": N_("The list should have at least {min_length} items, not {actual_length}"),
    "too_long": N_("The list should have at most {max_length} items, not {actual_length}"),
    "literal_error": N_("Input should be {expected}"),
    "enum": N_("Input should be {expected}"),
    "json_invalid": N_("Invalid JSON: {error}"),
    "union_tag_invalid": N_(
        "Input tag '{tag}' found using {discriminator} does not match any of the expected "
        "tags: {expected_tags}"
    ),
    "union_tag_not_found": N_("Unable to extract tag using discriminator {discriminator}"),
    "datetime_parsing": N_("Input should be a valid datetime, {error}"),
}
_OR = re.compile(r"(?<=') or (?=')")


def _ctx_value(value: Any) -> str:
    """A context value as pydantic's English shows it (a bound of 0.0 is ``0``)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def validation_message(error: Any, lang: str = SOURCE_LANG) -> str:
    """A pydantic validation error's message in ``lang``: pydantic's own English, or
    the catalogue's text of its type filled with the error's context values; an unknown
    integer rule says which rules exist."""
    loc = tuple(str(p) for p in error.get("loc", ()))
    kind = str(error.get("type", ""))
    _ = translator(lang)
    if kind == "extra_forbidden" and loc[:2] == ("body", "integer_rules"):
        from api.schemas import IntegerRulesCreate

        return _("integer rule {rule} is not available (the planner has: {known})").format(
            rule=repr(loc[-1]), known=", ".join(IntegerRulesCreate.model_fields)
        )
    if kind == "string_pattern_mismatch" and loc == ("query", "lang"):
        return _("{lang} is not a language of the planner ({langs})").format(
            lang=repr(error.get("input")), langs=", ".join(LANGS)
        )
    english = str(error.get("msg", ""))
    message = _PYDANTIC.get(kind)
    if lang == SOURCE_LANG or message is None:
        return english
    ctx = {k: _ctx_value(v) for k, v in (error.get("ctx") or {}).items()}
    if "expected" in ctx:  # pydantic's "'a', 'b' or 'c'": no English "or" in a translation
        ctx["expected"] = _OR.sub(", ", ctx["expected"])
    try:
        return _(message).format(**ctx)
    except (KeyError, IndexError, ValueError):  # a context pydantic changed: its English
        return english


def validation_text(error: Any) -> LangText:
    """:func:`validation_message`, rendered in the request's language."""
    return LangText(lambda lang: validation_message(error, lang))


def invalid_request(errors: list[dict[str, Any]], dataset: bool = False) -> Text:
    """The ``detail`` of a 422 for invalid input: its first error, naming its field
    (``invalid request (params.max_travel_km): ...``); ``dataset``: the body was a JSON
    dataset (``invalid JSON dataset (tables): ...``)."""
    first = errors[0] if errors else {"field": None, "message": Text(N_("invalid input"))}
    field, message = first.get("field"), first["message"]
    if dataset:
        if field:
            return Text(
                N_("invalid JSON dataset ({field}): {message}"), field=field, message=message
            )
        return Text(N_("invalid JSON dataset: {message}"), message=message)
    if field:
        return Text(N_("invalid request ({field}): {message}"), field=field, message=message)
    return Text(N_("invalid request: {message}"), message=message)


def _field(error: Any) -> str | None:
    """The dotted field of a validation error; a tagged union's missing or unknown tag
    names its discriminator (``kind``)."""
    path = [str(p) for p in error.get("loc", ())[1:]]
    if str(error.get("type", "")).startswith("union_tag_"):
        path.append(str((error.get("ctx") or {}).get("discriminator", "")).strip("'\""))
    return ".".join(p for p in path if p) or None


class ErrorPages(Protocol):
    """Who answers errors as pages instead of JSON (the console, for its own paths)."""

    def wants(self, request: Request) -> bool:
        """Whether ``request``'s errors are pages."""
        ...

    def page(
        self,
        request: Request,
        status: int,
        code: str,
        detail: str,
        errors: list[dict[str, Any]] | None,
        headers: dict[str, str] | None,
    ) -> Response:
        """The error page (``detail`` and the errors' texts not yet rendered)."""
        ...


def _page(
    request: Request,
    status: int,
    code: str,
    detail: str,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response | None:
    """The error as a page if the app's :class:`ErrorPages` wants this request's."""
    pages: ErrorPages | None = getattr(request.app.state, "error_pages", None)
    if pages is None or not pages.wants(request):
        return None
    return pages.page(request, status, code, detail, errors, headers)


def install_handlers(app: FastAPI) -> None:
    """Make every error a JSON body ``{"detail", "code", ...}``; never a bare 500 page.
    Paths whose errors an :class:`ErrorPages` at ``app.state.error_pages`` wants (the
    console's) get its page instead, with the same status and code."""

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        page = _page(request, exc.status, exc.code, exc.detail, exc.errors, exc.headers)
        if page is not None:
            return page
        body = render(_body(exc.code, exc.detail, exc.errors, exc.truncated), request_lang(request))
        return JSONResponse(
            body,
            status_code=exc.status,
            headers=exc.headers,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = _CODES.get(exc.status_code, "error")
        detail: str = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if not isinstance(detail, Text) and detail in _PHRASES:
            detail = Text(_PHRASES[detail])
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            allowed = allowed_methods(app, request.url.path)
            headers["Allow"] = ", ".join(allowed)
            detail = Text(
                N_("method {method} is not allowed here; use {allowed}"),
                method=request.method,
                allowed=", ".join(allowed),
            )
        page = _page(request, exc.status_code, code, detail, None, headers)
        if page is not None:
            return page
        body = render(_body(code, detail), request_lang(request))
        return JSONResponse(body, status_code=exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        lang = request_lang(request)
        errors = [
            {
                "loc": [str(p) for p in e.get("loc", ())],
                "field": _field(e),
                "message": validation_message(e, lang),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        page = _page(request, 422, "invalid_request", invalid_request(errors), errors)
        if page is not None:
            return page
        body = render(_body("invalid_request", invalid_request(errors), errors), lang)
        return JSONResponse(body, status_code=422)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error", exc_info=exc)
        detail = Text(N_("internal error: {error}"), error=type(exc).__name__)
        page = _page(request, 500, "internal_error", detail)
        if page is not None:
            return page
        return JSONResponse(
            render(_body("internal_error", detail), request_lang(request)), status_code=500
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
