"""Rendering the console's pages: one Jinja2 environment over ``api/templates``, the
reader's language, dates and numbers in their locale, the form token, and error pages.

Every text on a page goes through ``_`` (the reader's catalogue: ``make messages``
extracts ``_("...")`` from the templates too); everything shown is escaped (autoescape),
so a name holding ``<script>`` is shown as text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import jinja2
from babel.dates import format_date
from babel.numbers import format_decimal, format_percent
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.console.csrf import CSRF_COOKIE, FIELD, HEADER, Csrf
from api.errors import ApiError
from matcher.cycle.phases import PHASE_NAMES
from matcher.i18n import LANGS, N_, Text, negotiate, render, translator
from matcher.inputs.aliases import category_name, district_name, tie_name
from matcher.plans.reasons import reason_text, status_name

__all__ = [
    "CSRF_COOKIE",
    "LANG_COOKIE",
    "LOCALES",
    "NAV",
    "ROLE_NAMES",
    "STATIC",
    "SUPPLIER_KINDS",
    "TEMPLATES",
    "ConsoleErrorPages",
    "Formats",
    "cell",
    "code_text",
    "page",
    "page_lang",
    "safe_next",
    "sign_in_required",
    "sign_in_url",
]

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
STATIC = Path(__file__).resolve().parent.parent / "static"
PREFIX = "/console"

LANG_COOKIE = "matcher_lang"
"""Remembers the language a reader chose with the switch."""
DEFAULT_LANG = "zh"
"""The console speaks Chinese unless asked otherwise."""
LOCALES = {"zh": "zh_Hans_CN", "en": "en_US"}
"""The Babel locale that formats dates and numbers for each language."""
LANG_NAMES = {"zh": "中文", "en": "English"}
"""Each language in itself (the switch)."""

ROLE_NAMES = {
    "community": N_("community"),
    "unit": N_("unit"),
    "planner": N_("planner"),
    "street_reviewer": N_("street reviewer"),
    "district_reviewer": N_("district reviewer"),
    "admin": N_("administrator"),
    "public": N_("the public"),
}
"""Each role for people."""

NAV: tuple[tuple[str, str, tuple[str, ...] | None], ...] = (
    ("/console/", N_("Home"), None),
    ("/console/cycles", N_("Cycles"), None),
    ("/console/runs", N_("Runs"), ("planner", "admin")),
    ("/console/audit", N_("Audit log"), None),
    ("/console/users", N_("Users and keys"), ("admin",)),
)
"""The menu: path, label, and the roles that see it (``None``: every role)."""

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def page_lang(request: Request) -> str:
    """The reader's language: ``?lang=``, else the switch's cookie, else
    ``Accept-Language``, else Chinese."""
    for asked in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if asked in LANGS:
            return str(asked)
    return negotiate(request.headers.get("accept-language"), default=DEFAULT_LANG)


def safe_next(target: str | None, default: str = PREFIX + "/") -> str:
    """``target`` if it is a path of the console, else ``default``: a link may say
    where to go after signing in, never to another site (``//evil``, ``https://``)."""
    if (
        not target
        or not target.startswith(PREFIX)
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 32 for c in target)
    ):
        return default
    return target


def sign_in_url(request: Request) -> str:
    """The sign-in page, to come back to ``request``'s page afterwards."""
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return f"{PREFIX}/sign-in?next={quote(safe_next(here), safe='')}"


class Formats:
    """Dates, times and numbers in the reader's locale and time zone.

    >>> f = Formats("zh", "Asia/Shanghai")
    >>> f.number(12345.678, 1), f.when(dt.datetime(2026, 12, 6, 2, 30))
    ('12,345.7', '2026年12月6日 10:30')
    >>> Formats("en", "Asia/Shanghai").day(dt.date(2026, 12, 6))
    'Dec 6, 2026'
    """

    def __init__(self, lang: str, zone: str) -> None:
        self.locale = LOCALES.get(lang, "en_US")
        self.zone = ZoneInfo(zone)

    def when(self, value: dt.datetime | None) -> str:
        """A stored UTC time in the reader's zone, to the minute (empty for none)."""
        if value is None:
            return ""
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        local = value.astimezone(self.zone)
        style = "long" if self.locale.startswith("zh") else "medium"
        return f"{format_date(local.date(), style, locale=self.locale)} {local:%H:%M}"

    def day(self, value: dt.date | str | None) -> str:
        """A date (or an ISO date's text)."""
        if value is None or value == "":
            return ""
        if isinstance(value, str):
            value = dt.date.fromisoformat(value[:10])
        return format_date(value, "medium", locale=self.locale)

    def number(self, value: float | int | None, digits: int = 0) -> str:
        """A number with the locale's grouping and ``digits`` decimals."""
        if value is None:
            return ""
        pattern = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=pattern, locale=self.locale)

    def percent(self, value: float | None, digits: int = 1) -> str:
        """A share (0.123 → 12.3%)."""
        if value is None:
            return ""
        pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
        return format_percent(value, format=pattern, locale=self.locale)


def _csrf(request: Request) -> Csrf:
    csrf: Csrf = request.app.state.console.csrf
    return csrf


def page(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a console page for ``request``'s reader.

    The template sees ``_`` (translate), ``lang``, ``fmt`` (:class:`Formats`),
    ``text`` (render a :class:`~matcher.i18n.Text` or error detail in the reader's
    language), ``csrf_field`` / ``csrf_token`` (the form token), ``user`` (signed in,
    or ``None``), ``nav`` (the menu entries the user sees), ``phase_name``,
    ``role_name``, ``district_name``, ``cell(column, value)`` (a coded value in the
    reader's words: :func:`cell`), ``request``, ``path``, ``here`` (path and query)
    and the page's own ``context``.
    """
    lang = page_lang(request)
    t = translator(lang)
    csrf = _csrf(request)
    token = csrf.token(csrf.cookie_of(request))
    user = getattr(request.state, "user", None)
    settings = request.app.state.settings
    values: dict[str, Any] = {
        "_": t,
        "lang": lang,
        "html_lang": "zh-CN" if lang == "zh" else lang,
        "langs": [(code, LANG_NAMES.get(code, code)) for code in LANGS],
        "fmt": Formats(lang, settings.display_timezone),
        "text": lambda value: render(value, lang),
        "csrf_token": token,
        "csrf_name": FIELD,
        "csrf_header": HEADER,
        "user": user,
        "nav": [
            (path, t(label))
            for path, label, roles in NAV
            if user is not None and (roles is None or user.role in roles)
        ],
        "phase_name": lambda phase: t(PHASE_NAMES.get(phase) or str(phase)),
        "role_name": lambda role: t(ROLE_NAMES.get(role) or str(role)),
        "district_name": lambda name: district_name(str(name), lang),
        "cell": lambda column, value: cell(column, value, lang),
        "request": request,
        "path": request.url.path,
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    }
    values.update(context or {})
    body = _ENV.get_template(template).render(values)
    response = HTMLResponse(body, status_code=status, headers=dict(headers or {}))
    # pages hold people's work and names: never kept by a shared cache or the back button
    response.headers["Cache-Control"] = "no-store"
    response.headers.setdefault("Vary", "Cookie, Accept-Language")
    csrf.keep(request, response)
    return response


SUPPLIER_KINDS = {"cadre": N_("cadre"), "service": N_("service")}
"""A supplier's kind for people."""


def code_text(code: str, lang: str) -> str:
    """A code of the data (``elderly_care``) for English readers: its words."""
    return code.replace("_", " ") if lang == "en" else code


def _kind(code: str, lang: str) -> str:
    return translator(lang)(SUPPLIER_KINDS[code]) if code in SUPPLIER_KINDS else code


CELL_WORDS: dict[str, Callable[[str, str], str]] = {
    "category": lambda code, lang: code_text(category_name(code, lang), lang),
    "district": district_name,
    "tie": lambda code, lang: code_text(tie_name(code, lang), lang),
    "supplier_kind": _kind,
    "status": status_name,
    "reason": lambda code, lang: reason_text(code, lang, short=True) or code,
}
"""The columns whose coded values a page shows in the reader's words, and how."""


def cell(column: str, value: object, lang: str) -> str:
    """A table cell for people: a coded value of :data:`CELL_WORDS`' columns in the
    reader's words; anything else as it is (escaped by the template).

    >>> cell("category", "elderly_care", "zh"), cell("category", "elderly_care", "en")
    ('养老照护', 'elderly care')
    >>> cell("reason", "too_far", "zh"), cell("hours", 3, "zh"), cell("tie", None, "zh")
    ('距离过远', '3', '')
    """
    if value is None:
        return ""
    words = CELL_WORDS.get(column)
    return words(str(value), lang) if words is not None else str(value)


ERROR_TITLES = {
    400: N_("The request could not be read"),
    403: N_("Not allowed"),
    404: N_("Not found"),
    405: N_("Not allowed here"),
    409: N_("Not possible now"),
    413: N_("Too large"),
    422: N_("Please check what was entered"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong"),
    503: N_("Busy: try again shortly"),
}
"""The heading of each error page."""


class ConsoleErrorPages:
    """The console's errors as pages: the sign-in page for a missing or ended session
    (401), else ``console/error.html`` with the status, the message in the reader's
    language and any field errors. Only the console's own paths."""

    def wants(self, request: Request) -> bool:
        """Whether ``request`` is the console's."""
        path = request.url.path
        return path == PREFIX or path.startswith(PREFIX + "/")

    def page(
        self,
        request: Request,
        status: int,
        code: str,
        detail: str,
        errors: list[dict[str, Any]] | None,
        headers: dict[str, str] | None,
    ) -> Response:
        """The error page (a redirect to sign in for 401)."""
        if status == 401:
            if request.headers.get("HX-Request"):
                # an htmx poll of an ended session: the whole page goes to sign in
                return Response(status_code=204, headers={"HX-Redirect": sign_in_url(request)})
            return RedirectResponse(sign_in_url(request), status_code=303)
        lang = page_lang(request)
        t = translator(lang)
        return page(
            request,
            "console/error.html",
            {
                "status": status,
                "code": code,
                "title": t(ERROR_TITLES.get(status, N_("Something went wrong"))),
                "detail": render(detail, lang),
                "errors": render(errors or [], lang),
            },
            status=status,
            headers={k: v for k, v in (headers or {}).items() if k.lower() == "retry-after"},
        )


def sign_in_required() -> ApiError:
    """The error that sends a reader without a live session to the sign-in page."""
    return ApiError(401, "sign_in_required", Text(N_("please sign in")))
