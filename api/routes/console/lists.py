"""A cycle's lists (三张清单) in the console: the demand list, the resource list and the
cadres, read with filters and pages; rows added one by one, by a CSV file, a zip of CSV
files or an Excel workbook (all or none, every problem shown by sheet, row and column),
and edited, in the phases the role table allows (:mod:`matcher.cycle.roles`).

Every read and write goes through :mod:`api.cycles.lists`, the service the JSON API
uses (``/cycles/{id}/lists``): it decides the scope (a community sees and enters its
own demands, a unit its own resources and cadres), the phase and the checks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import pandas as pd
from fastapi import Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.console.deps import ConsoleActorDep
from api.console.forms import field_errors
from api.console.pages import ROLE_NAMES, Formats, page, page_lang
from api.cycles import core, list_files, lists
from api.cycles.access import Actor, authorize
from api.cycles.schemas import CyclePublic
from api.db.models import Cycle
from api.deps import SessionDep
from api.errors import ApiError
from api.routes.console import console_router
from api.routes.templates import template_bytes
from api.settings import Settings
from api.uploads import XLSX_TYPE
from matcher.cycle.roles import can
from matcher.i18n import LANGS, N_, Text, render, translator
from matcher.inputs.aliases import CATEGORIES, column_note, header_name, value_name
from matcher.inputs.schema import TABLES_BY_NAME, Column, Kind

__all__ = ["router"]

router = console_router()

CycleId = Annotated[str, Path(min_length=1, max_length=32)]
TableName = Annotated[str, Path(pattern="^(demands|resources|cadres)$")]
RowId = Annotated[str, Path(min_length=1, max_length=200)]

TABLES = list_files.TABLES
PAGE_ROWS = 50
MAX_PAGE_ROWS = 500
ALL = list_files.ALL
"""The upload's choice "every list the file holds"."""

LIST_NAMES: dict[str, str] = {
    "demands": N_("Demand list"),
    "resources": N_("Resource list"),
    "cadres": N_("Cadres"),
}
"""Each list for people."""

ROW_NAMES: dict[str, str] = {
    "demands": N_("Add a demand"),
    "resources": N_("Add a resource"),
    "cadres": N_("Add a cadre"),
}
"""The heading of each list's form to add a row."""

ORIGIN_NAMES: dict[str, str] = {
    "hotline": N_("Hotline (12345)"),
    "joint_meeting": N_("Joint meeting"),
    "home_visit": N_("Home visit"),
    "online": N_("Online"),
    "carried_over": N_("Carried over"),
    "base": N_("Base lists"),
}
"""Where a row came from (:data:`api.cycles.lists.ORIGINS`)."""

COLUMN_LABELS: dict[str, str] = {
    "demand_id": N_("Demand id"),
    "community_id": N_("Community"),
    "category": N_("Category"),
    "hours": N_("Hours"),
    "priority": N_("Priority"),
    "min_hours": N_("Fewest hours"),
    "funds": N_("Funds (yuan)"),
    "description": N_("Description"),
    "resource_id": N_("Resource id"),
    "unit_id": N_("Unit"),
    "kind": N_("Kind"),
    "categories": N_("Categories"),
    "amount": N_("Amount"),
    "range_km": N_("Range (km)"),
    "cadre_id": N_("Cadre id"),
    "skills": N_("Skills"),
    "home_community_id": N_("Home community"),
    "lat": N_("Latitude"),
    "lon": N_("Longitude"),
    "origin": N_("Origin"),
}
"""Each column for people (the form's labels, the tables' headers)."""

SHOWN: dict[str, tuple[str, ...]] = {
    "demands": (
        "demand_id",
        "community_id",
        "category",
        "hours",
        "priority",
        "min_hours",
        "funds",
        "description",
    ),
    "resources": ("resource_id", "unit_id", "kind", "categories", "amount", "range_km"),
    "cadres": ("cadre_id", "unit_id", "skills", "hours", "home_community_id"),
}
"""The columns each list's table shows (a cadre's home coordinates are not shown)."""

FILTERS: dict[str, tuple[str, ...]] = {
    "demands": ("community_id", "category", "origin"),
    "resources": ("unit_id", "kind", "origin"),
    "cadres": ("unit_id", "origin"),
}
"""The columns each list can be filtered by (``?community_id=...``)."""

_NUMERIC = frozenset({Kind.INT, Kind.FLOAT})
_ROW_FIELD = re.compile(r"^(?:rows\[(\d+)\]|values)(?:\.(.+))?$")


# ---- what the page shows -------------------------------------------------------------------


def _add_allowed(actor: Actor, cycle: Cycle, table: str) -> bool:
    return can(actor.role, cycle.phase, lists.ACTIONS[table][0])


def _edit_allowed(actor: Actor, cycle: Cycle, table: str) -> bool:
    return can(actor.role, cycle.phase, lists.ACTIONS[table][1])


def _changes_somewhere(actor: Actor, table: str) -> bool:
    """Whether the role may add to ``table`` in some phase (collecting)."""
    return can(actor.role, "collecting", lists.ACTIONS[table][0])


def _authorize(actor: Actor, cycle: Cycle, action: str) -> None:
    """:func:`~api.cycles.access.authorize`; its 409 without the items the error page
    cannot show (``console/error.html`` reads each item's ``message``)."""
    try:
        authorize(actor, cycle, action)
    except ApiError as exc:
        raise ApiError(exc.status, exc.code, exc.detail) from None


def _default_table(actor: Actor) -> str:
    return "resources" if actor.role == "unit" else "demands"


def _column(table: str, name: str) -> Column:
    return TABLES_BY_NAME[table].column(name)


def _cell_text(value: Any) -> str:
    """A cell as a form shows it (a list of words joined by ';', 3.0 as 3)."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _words(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return [w for w in str(value).split(";") if w.strip()] if value is not None else []


def _code_name(table: str, column: str, code: str, lang: str) -> str:
    """A coded value in the reader's language (养老照护 for ``elderly_care``)."""
    if column in ("category", "categories", "skills"):
        name = value_name("demands", "category", code, lang)
    elif column == "kind":
        name = value_name(table, column, code, lang)
    else:
        return code
    return name if name == code else f"{name} ({code})"


def _shown_cell(table: str, column: str, value: Any, fmt: Formats, lang: str) -> str:
    if value is None or value == "":
        return ""
    kind = _column(table, column).kind
    if kind in _NUMERIC and isinstance(value, int | float):
        digits = 0 if float(value).is_integer() else 2
        return fmt.number(value, digits)
    if column in ("categories", "skills"):
        return "; ".join(_code_name(table, column, w, lang) for w in _words(value))
    if column in ("category", "kind"):
        return _code_name(table, column, str(value), lang)
    return _cell_text(value)


class _Places:
    """The lists' communities and units: names for options, the cycle's communities."""

    def __init__(self, frames: Mapping[str, pd.DataFrame], cycle: Cycle) -> None:
        c = frames["communities"]
        u = frames["units"]
        self.community_names = dict(
            zip(c["community_id"].astype(str), c["name"].astype(str), strict=True)
        )
        self.unit_names = dict(zip(u["unit_id"].astype(str), u["name"].astype(str), strict=True))
        self.cycle_communities = lists.scope_communities(frames, cycle)
        demands = frames.get("demands")
        self.categories = (
            sorted({str(v) for v in demands["category"].dropna()})
            if demands is not None and "category" in demands.columns
            else []
        )

    def label(self, column: str, key: str) -> str:
        """``name (id)`` of a community or unit."""
        names = self.unit_names if column == "unit_id" else self.community_names
        name = names.get(key)
        return f"{name} ({key})" if name else key

    def options(self, table: str, column: str, actor: Actor) -> list[str]:
        """The ids a form's select offers: the person's communities or units."""
        if column == "community_id":
            keys = set(self.cycle_communities)
            if actor.role == "community" and actor.communities is not None:
                keys &= set(actor.communities)
        elif column == "home_community_id":
            keys = set(self.community_names)
        else:
            keys = set(self.unit_names)
            if actor.role == "unit" and actor.units is not None:
                keys &= set(actor.units)
        return sorted(keys)


def _field(table: str, col: Column, actor: Actor, places: _Places, lang: str) -> dict[str, Any]:
    """A form field of a column: its widget, label, help and choices."""
    t = translator(lang)
    field: dict[str, Any] = {
        "name": col.name,
        "label": t(COLUMN_LABELS.get(col.name, col.name)),
        "help": column_note(table, col.name, lang),
        "required": not col.optional,
        "widget": "text",
        "options": [],
        "attrs": {},
    }
    blank = [("", t(N_("— choose —")))]
    if col.kind is Kind.REF and col.name in ("community_id", "home_community_id", "unit_id"):
        field["widget"] = "select"
        field["options"] = blank + [
            (k, places.label(col.name, k)) for k in places.options(table, col.name, actor)
        ]
    elif col.kind is Kind.ENUM:
        field["widget"] = "select"
        field["options"] = blank + [(c, _code_name(table, col.name, c, lang)) for c in col.choices]
    elif col.name == "category":
        codes = list(dict.fromkeys([*CATEGORIES, *places.categories]))
        field["widget"] = "select"
        field["options"] = blank + [(c, _code_name(table, col.name, c, lang)) for c in codes]
    elif col.kind in _NUMERIC:
        field["widget"] = "number"
        integer = col.kind is Kind.INT
        attrs = {
            "step": "1" if integer else "any",
            "inputmode": "numeric" if integer else "decimal",
        }
        if col.lo is not None and not col.lo_open:
            attrs["min"] = _cell_text(col.lo)
        if col.hi is not None and not col.hi_open:
            attrs["max"] = _cell_text(col.hi)
        field["attrs"] = attrs
    elif col.name == "description":
        field["widget"] = "textarea"
    return field


def _fields(
    table: str, actor: Actor, places: _Places, lang: str, *, with_key: bool
) -> list[dict[str, Any]]:
    key = TABLES_BY_NAME[table].id_column
    return [
        _field(table, col, actor, places, lang)
        for col in TABLES_BY_NAME[table].columns
        if with_key or col.name != key
    ]


def _origins(lang: str) -> list[tuple[str, str]]:
    t = translator(lang)
    return [(o, t(ORIGIN_NAMES[o])) for o in lists.ENTRY_ORIGINS]


# ---- the list page -------------------------------------------------------------------------


def _filter_value(item: Mapping[str, Any], column: str) -> str:
    if column == "origin":
        return str(item["origin"])
    return _cell_text(item["row"].get(column))


def _filter_options(
    table: str, column: str, items: Sequence[Mapping[str, Any]], places: _Places, lang: str
) -> list[tuple[str, str]]:
    t = translator(lang)
    values = sorted({_filter_value(i, column) for i in items} - {""})
    if column == "origin":
        shown = [(v, t(ORIGIN_NAMES.get(v, v))) for v in values]
    elif column in ("community_id", "unit_id"):
        shown = [(v, places.label(column, v)) for v in values]
    else:
        shown = [(v, _code_name(table, column, v, lang)) for v in values]
    return [("", t(N_("All"))), *shown]


def _list_context(
    request: Request,
    session: SessionDep,
    actor: Actor,
    cycle: Cycle,
    table: str,
) -> dict[str, Any]:
    """What the list page shows of ``table``: the filtered page of rows, the filters,
    what the person may do."""
    lang = page_lang(request)
    t = translator(lang)
    fmt = Formats(lang, request.app.state.settings.display_timezone)
    query = request.query_params
    try:
        offset = max(0, int(query.get("offset", "0")))
        limit = min(MAX_PAGE_ROWS, max(1, int(query.get("limit", str(PAGE_ROWS)))))
    except ValueError:
        offset, limit = 0, PAGE_ROWS
    items, _total = lists.list_rows(session, cycle, actor, table, 10**9, 0)
    places = _Places(lists.lists_frames(session, cycle), cycle)
    chosen = {c: query.get(c, "") for c in FILTERS[table]}
    shown = [i for i in items if all(not v or _filter_value(i, c) == v for c, v in chosen.items())]
    key = TABLES_BY_NAME[table].id_column
    assert key is not None
    editable = _edit_allowed(actor, cycle, table)
    rows = []
    for item in shown[offset : offset + limit]:
        row = item["row"]
        entered = ""
        if item["entered_at"] is not None:
            entered = t(N_("{role}, {when}")).format(
                role=t(_role_label(str(item["entered_role"] or ""))),
                when=fmt.when(item["entered_at"]),
            )
        if item["updated_at"] is not None:
            edited = t(N_("edited {when}")).format(when=fmt.when(item["updated_at"]))
            entered = f"{entered}; {edited}" if entered else edited
        rows.append(
            {
                "key": str(row.get(key, "")),
                "href": quote(str(row.get(key, "")), safe=""),
                "cells": [_shown_cell(table, c, row.get(c), fmt, lang) for c in SHOWN[table]],
                "origin": t(ORIGIN_NAMES.get(str(item["origin"]), str(item["origin"]))),
                "entered": entered,
            }
        )
    kept = {"table": table, **{c: v for c, v in chosen.items() if v}}
    if limit != PAGE_ROWS:
        kept["limit"] = str(limit)
    return {
        "cycle": CyclePublic.from_row(cycle, actor),
        "tables": [(name, t(LIST_NAMES[name])) for name in TABLES],
        "table": table,
        "list_name": t(LIST_NAMES[table]),
        "headers": [t(COLUMN_LABELS[c]) for c in SHOWN[table]],
        "numeric": [i for i, c in enumerate(SHOWN[table]) if _column(table, c).kind in _NUMERIC],
        "rows": rows,
        "total": len(shown),
        "all_rows": len(items),
        "offset": offset,
        "limit": limit,
        "pager_base": f"/console/cycles/{cycle.id}/lists?{urlencode(kept)}&",
        "filters": [
            {
                "name": c,
                "label": t(COLUMN_LABELS[c]),
                "value": chosen[c],
                "options": _filter_options(table, c, items, places, lang),
            }
            for c in FILTERS[table]
        ],
        "may_add": _add_allowed(actor, cycle, table),
        "may_edit": editable,
        "may_change_ever": _changes_somewhere(actor, table),
        "upload_tables": _upload_tables(actor, cycle, lang),
        "origins": _origins(lang),
        "row_name": t(ROW_NAMES[table]),
        "added": _added(query.get("added")),
        "edited": query.get("edited", "")[:200],
        "template_langs": LANGS,
    }


def _role_label(role: str) -> str:
    return ROLE_NAMES.get(role, role)


def _added(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() and len(value) < 7 else None


def _upload_tables(actor: Actor, cycle: Cycle, lang: str) -> list[tuple[str, str]]:
    t = translator(lang)
    tables = [(name, t(LIST_NAMES[name])) for name in TABLES if _add_allowed(actor, cycle, name)]
    if len(tables) > 1:
        tables.insert(0, (ALL, t(N_("Every list the file holds"))))
    return tables


def _table_of(request: Request, actor: Actor) -> str:
    asked = request.query_params.get("table")
    return asked if asked in TABLES else _default_table(actor)


@router.get("/cycles/{cycle_id}/lists")
def lists_page(
    request: Request, cycle_id: CycleId, session: SessionDep, actor: ConsoleActorDep
) -> Response:
    """A list of the cycle (``?table=demands|resources|cadres``), filtered and paged,
    with the forms the person may use in this phase."""
    cycle = core.get_cycle(session, cycle_id, actor)
    context = _list_context(request, session, actor, cycle, _table_of(request, actor))
    context.update(upload_form={}, upload_errors={}, problems=[], problem="")
    return page(request, "lists/list.html", context)


@router.get("/cycles/{cycle_id}/lists/template.xlsx")
def lists_template(
    request: Request,
    cycle_id: CycleId,
    session: SessionDep,
    actor: ConsoleActorDep,
    lang: Annotated[str, Query(pattern="^(zh|en)$")] = "zh",
) -> Response:
    """The Excel template of the lists (what ``GET /template.xlsx`` serves)."""
    core.get_cycle(session, cycle_id, actor)
    return Response(
        template_bytes(lang),
        media_type=XLSX_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="template-{lang}.xlsx"',
            "Cache-Control": "no-store",
        },
    )


# ---- upload --------------------------------------------------------------------------------


def _problems(exc: ApiError, where: str, table: str, lang: str) -> list[dict[str, str]]:
    """Each problem of a refusal as a row: where, row, column, value, expected."""
    detail = str(render(exc.detail, lang))
    items = render(list(exc.errors or []), lang)
    assert isinstance(items, list)
    known = {c.name for c in TABLES_BY_NAME[table].columns}
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        row = item.get("row")
        column = item.get("column")
        found = _ROW_FIELD.match(str(item.get("field") or ""))
        if found and row is None and found.group(1) is not None:
            row = int(found.group(1)) + 2
        if found and column is None:
            column = found.group(2)
        shown_column = ""
        if item.get("letter"):
            shown_column = f"{item['letter']} {item.get('header') or column or ''}".strip()
        elif column:
            chinese = header_name(column, "zh") if column in known else column
            shown_column = column if lang != "zh" or chinese == column else f"{chinese} ({column})"
        out.append(
            {
                "where": str(item.get("sheet") or item.get("file") or where),
                "row": "" if row is None else str(row),
                "column": shown_column,
                "value": "" if item.get("value") is None else str(item["value"]),
                "expected": str(item.get("expected") or item.get("message") or detail),
            }
        )
    if not out:
        out.append({"where": where, "row": "", "column": "", "value": "", "expected": detail})
    return out


@router.post("/cycles/{cycle_id}/lists/upload")
async def upload_rows(
    request: Request, cycle_id: CycleId, session: SessionDep, actor: ConsoleActorDep
) -> Response:
    """Add the rows of a CSV file, a zip of CSV files or a workbook to the lists, all
    or none; a refusal shows the list again with every problem."""
    form = await request.form()
    lang = page_lang(request)
    t = translator(lang)
    target = str(form.get("upload_table") or "")
    origin = str(form.get("upload_origin") or "")
    upload = form.get("file")
    values = {"upload_table": target, "upload_origin": origin}
    cycle = core.get_cycle(session, cycle_id, actor)
    addable = [n for n in TABLES if _add_allowed(actor, cycle, n)] or list(TABLES)
    shown_table = target if target in TABLES else _table_of(request, actor)
    errors: dict[str, str] = {}
    problems: list[dict[str, str]] = []
    summary = ""
    status = 422
    if target != ALL and target not in TABLES:
        errors["upload_table"] = t(N_("Choose the list the file holds."))
    if origin not in lists.ENTRY_ORIGINS:
        errors["upload_origin"] = t(N_("Choose where the rows came from."))
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["file"] = t(N_("Choose a file to upload."))
    if errors:
        summary = t(N_("Please correct the fields marked below."))
    else:
        assert isinstance(upload, UploadFile) and upload.filename
        body = await upload.read()
        name = PurePosixPath(upload.filename.replace("\\", "/")).name[:200] or "upload"
        settings: Settings = request.app.state.settings
        try:
            found = await run_in_threadpool(
                list_files.file_rows, body, name, target, addable, settings
            )
        except ApiError as exc:
            status = exc.status
            summary = str(render(exc.detail, lang))
            problems = _problems(exc, name, shown_table, lang)
            field, _summary = field_errors(exc, lang)
            if "upload_table" in field:
                errors["upload_table"] = field["upload_table"]
        else:
            count, status, summary, problems = await run_in_threadpool(
                _enter_all, session, cycle, actor, found, origin, lang
            )
            if not problems:
                first = found[0][0]
                return RedirectResponse(
                    f"/console/cycles/{cycle.id}/lists?table={first}&added={count}",
                    status_code=303,
                )
    context = _list_context(request, session, actor, cycle, shown_table)
    context.update(upload_form=values, upload_errors=errors, problems=problems, problem=summary)
    return page(request, "lists/list.html", context, status=status)


def _enter_all(
    session: SessionDep,
    cycle: Cycle,
    actor: Actor,
    found: Sequence[tuple[str, str, list[dict[str, Any]]]],
    origin: str,
    lang: str,
) -> tuple[int, int, str, list[dict[str, str]]]:
    """Enter each list's rows; on any refusal nothing is kept and every list's problems
    are returned: ``(rows added, status, summary, problems)``."""
    count = 0
    status = 201
    summaries: list[str] = []
    problems: list[dict[str, str]] = []
    for table, where, rows in found:
        try:
            count += len(lists.add_entries(session, cycle, actor, table, rows, origin))
        except ApiError as exc:
            status = exc.status if status == 201 else status
            summaries.append(f"{where}: {render(exc.detail, lang)}")
            problems.extend(_problems(exc, where, table, lang))
    if problems:
        session.rollback()
    return count, status, " ".join(summaries), problems


# ---- one row -------------------------------------------------------------------------------


def _form_values(form: Mapping[str, Any], names: Sequence[str]) -> dict[str, str]:
    return {n: str(form.get(n) or "").strip() for n in names}


def _row_errors(
    exc: Exception, lang: str, names: Sequence[str]
) -> tuple[dict[str, str], str, list[str]]:
    """A refusal's messages by form field (``rows[0].hours`` and ``values.hours`` are
    the field ``hours``), the summary, and the messages of no field."""
    fields, summary = field_errors(exc, lang)
    mapped: dict[str, str] = {}
    others: list[str] = []
    for name, message in fields.items():
        found = _ROW_FIELD.match(name)
        column = found.group(2) if found else name
        if column in names:
            mapped.setdefault(column, message)
        else:
            others.append(f"{name}: {message}")
    if mapped and not others:
        summary = translator(lang)(N_("Please correct the fields marked below."))
    return mapped, summary, others


def _row_page(  # noqa: PLR0913 -- the page's parts
    request: Request,
    session: SessionDep,
    actor: Actor,
    cycle: Cycle,
    table: str,
    *,
    row_id: str | None = None,
    form: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    problem: str = "",
    others: Sequence[str] = (),
    status: int = 200,
) -> Response:
    lang = page_lang(request)
    t = translator(lang)
    places = _Places(lists.lists_frames(session, cycle), cycle)
    return page(
        request,
        "lists/row.html",
        {
            "cycle": CyclePublic.from_row(cycle, actor),
            "table": table,
            "list_name": t(LIST_NAMES[table]),
            "row_id": row_id,
            "row_href": None if row_id is None else quote(row_id, safe=""),
            "heading": t(ROW_NAMES[table])
            if row_id is None
            else t(N_("Edit {id}")).format(id=row_id),
            "fields": _fields(table, actor, places, lang, with_key=row_id is None),
            "origins": _origins(lang),
            "form": dict(form or {}),
            "errors": dict(errors or {}),
            "problem": problem,
            "others": list(others),
        },
        status=status,
    )


@router.get("/cycles/{cycle_id}/lists/{table}/new")
def new_row_page(
    request: Request,
    cycle_id: CycleId,
    table: TableName,
    session: SessionDep,
    actor: ConsoleActorDep,
) -> Response:
    """The form to add one row to a list (403 or 409 when the person may not now)."""
    cycle = core.get_cycle(session, cycle_id, actor)
    _authorize(actor, cycle, lists.ACTIONS[table][0])
    return _row_page(request, session, actor, cycle, table, form={"origin": "joint_meeting"})


@router.post("/cycles/{cycle_id}/lists/{table}/new")
async def add_row(
    request: Request,
    cycle_id: CycleId,
    table: TableName,
    session: SessionDep,
    actor: ConsoleActorDep,
) -> Response:
    """Add the form's row (the service's checks); a refusal keeps what was typed."""
    form = await request.form()
    cycle = core.get_cycle(session, cycle_id, actor)
    names = [c.name for c in TABLES_BY_NAME[table].columns]
    values = _form_values(form, [*names, "origin"])
    row = {n: values[n] for n in names if values[n]}
    try:
        lists.add_entries(session, cycle, actor, table, [row], values["origin"])
    except ApiError as exc:
        session.rollback()
        if exc.status == 403 and not exc.errors:
            raise
        errors, problem, others = _row_errors(exc, page_lang(request), [*names, "origin"])
        return _row_page(
            request,
            session,
            actor,
            cycle,
            table,
            form=values,
            errors=errors,
            problem=problem,
            others=others,
            status=exc.status,
        )
    return RedirectResponse(
        f"/console/cycles/{cycle.id}/lists?table={table}&added=1", status_code=303
    )


def _current(
    session: SessionDep, cycle: Cycle, actor: Actor, table: str, row_id: str
) -> dict[str, Any]:
    """The row ``row_id`` of the list as the person sees it (404 outside their scope)."""
    items, _total = lists.list_rows(session, cycle, actor, table, 10**9, 0)
    key = TABLES_BY_NAME[table].id_column
    for item in items:
        if str(item["row"].get(key)) == row_id:
            row: dict[str, Any] = item["row"]
            return row
    raise ApiError(
        404,
        "not_found",
        Text(N_("no row {id} in the cycle's {table}"), id=repr(row_id), table=table),
    )


@router.get("/cycles/{cycle_id}/lists/{table}/{row_id:path}/edit")
def edit_row_page(
    request: Request,
    cycle_id: CycleId,
    table: TableName,
    row_id: RowId,
    session: SessionDep,
    actor: ConsoleActorDep,
) -> Response:
    """The form to change one row (its id stays)."""
    cycle = core.get_cycle(session, cycle_id, actor)
    _authorize(actor, cycle, lists.ACTIONS[table][1])
    current = _current(session, cycle, actor, table, row_id)
    form = {c: _cell_text(v) for c, v in current.items()}
    return _row_page(request, session, actor, cycle, table, row_id=row_id, form=form)


@router.post("/cycles/{cycle_id}/lists/{table}/{row_id:path}/edit")
async def edit_row(
    request: Request,
    cycle_id: CycleId,
    table: TableName,
    row_id: RowId,
    session: SessionDep,
    actor: ConsoleActorDep,
) -> Response:
    """Change the cells the form changed; a refusal keeps what was typed."""
    form = await request.form()
    cycle = core.get_cycle(session, cycle_id, actor)
    key = TABLES_BY_NAME[table].id_column
    names = [c.name for c in TABLES_BY_NAME[table].columns if c.name != key]
    values = _form_values(form, names)
    current = _current(session, cycle, actor, table, row_id)
    changed = {n: values[n] for n in names if values[n] != _cell_text(current.get(n))}
    if not changed:
        return RedirectResponse(f"/console/cycles/{cycle.id}/lists?table={table}", status_code=303)
    try:
        lists.edit_entry(session, cycle, actor, table, row_id, changed)
    except ApiError as exc:
        session.rollback()
        if exc.status == 403 and not exc.errors:
            raise
        errors, problem, others = _row_errors(exc, page_lang(request), names)
        return _row_page(
            request,
            session,
            actor,
            cycle,
            table,
            row_id=row_id,
            form=values,
            errors=errors,
            problem=problem,
            others=others,
            status=exc.status,
        )
    return RedirectResponse(
        f"/console/cycles/{cycle.id}/lists?table={table}&edited={quote(row_id, safe='')}",
        status_code=303,
    )
