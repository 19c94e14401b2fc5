"""The project list as a workbook: what a joint meeting prints (``matcher export --xlsx``).

One ``.xlsx`` written from a plan's tables (never a new plan):

* a summary sheet: the KPIs, the reasons demands fall short, coverage by district and
  by category, with native Excel charts of the hours asked and covered;
* one sheet per district: its communities' demands, one row per demand and serving
  unit (the demand's figures on its first row, so that every column adds up), with the
  category, priority, hours asked and covered, the unit and its hours, (not in the
  public variant) the unit's cadres with their hours, the lead unit, the status and the
  reason;
* the demands not fully met, with their reasons in full.

Every sheet prints on A4 landscape, fitted to the page's width, its header row repeated
on each page, with page numbers in the footer. Headers, titles and labels are in the
reader's language (:mod:`matcher.i18n`, vocabulary from :mod:`matcher.inputs.aliases`);
numbers are written as numbers.

The public variant (``public=True``, for the notice period, 公示) holds units and hours
only: no cadre id, no home, no coordinates, and nothing in the file's properties.

>>> import io, matcher
>>> example = "tests/data/example/dataset"
>>> write_project_list(matcher.plan(example), example, io.BytesIO(), lang="en")
['Summary', 'Gulou', 'Taijiang', 'Unmet demands']
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from matcher.errors import ParameterError
from matcher.i18n import Text, Translator, check_lang, translator
from matcher.inputs.aliases import category_name, district_name, header_name
from matcher.inputs.names import display_name
from matcher.plans.io import as_plan, plan_dataset
from matcher.plans.kpis import coverage_by, ratio
from matcher.plans.reasons import reason_text, status_name

if TYPE_CHECKING:
    from matcher.inputs.dataset import Dataset
    from matcher.plans.result import Plan

__all__ = [
    "A4",
    "SUFFIX",
    "kpi_rows",
    "scoped_kpis",
    "sheet_names",
    "write_project_list",
]

SUFFIX = ".xlsx"
A4 = 9  # Excel's paper code for A4
_SHEET_MAX = 31
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_MIN_WIDTH, _MAX_WIDTH = 6, 46
_CHART_COLUMN = 6  # the summary's charts start at column G, right of its tables
_ROW_PX = 20  # a default row's height in pixels, to place charts beside tables
_LINE_PT = 15  # a line of 10-point text, in points (CJK fonts set lines wider apart)


# ---- reading the plan -----------------------------------------------------------------


def scoped_kpis(
    kpis: Mapping[str, Any], status: pd.DataFrame, districts: Sequence[str] | None
) -> dict[str, Any]:
    """The KPIs the summary shows: ``kpis.json`` itself for the whole city; for some
    districts only, the same figures counted over their demands (``status`` holds only
    their rows), without the city-wide supplier figures.

    Parameters
    ----------
    kpis
        The plan's ``kpis.json``.
    status
        The plan's ``demand_status`` (only ``districts``' rows when they are given).
    districts
        The districts the reader may see; ``None`` for all.
    """
    if districts is None:
        return dict(kpis)
    counts = status["status"].value_counts()
    reasons = status.loc[status["reason"].fillna("") != "", "reason"].value_counts()
    per_comm = status.groupby("community_id", sort=False)[["hours", "covered_hours"]].sum()
    zero = per_comm[(per_comm["hours"] > 0) & (per_comm["covered_hours"] == 0)]
    demanded, covered = int(status["hours"].sum()), int(status["covered_hours"].sum())
    return {
        "hours_demanded": demanded,
        "hours_covered": covered,
        "coverage": ratio(covered, demanded),
        "demands": len(status),
        **{f"demands_{name}": int(counts.get(name, 0)) for name in ("met", "partial", "unmet")},
        "reasons": {str(r): int(n) for r, n in reasons.items()},
        "coverage_by_district": coverage_by(status, "district"),
        "coverage_by_category": coverage_by(status, "category"),
        "communities_zero_coverage_count": len(zero),
    }


@dataclass(frozen=True)
class _Rows:
    """The plan's rows as the list shows them (only the districts asked for)."""

    status: pd.DataFrame  # demand_status + community name, description, lead unit
    units: pd.DataFrame  # hours per (demand, unit), largest first within a demand


def _names(frame: pd.DataFrame, key: str, lang: str) -> dict[str, str]:
    if frame.empty or "name" not in frame.columns:
        return {}
    ids = frame[key].astype(str).to_numpy()
    names = frame["name"].fillna("").astype(str).to_numpy()
    return {i: display_name(n, lang) or i for i, n in zip(ids, names, strict=True)}


def _rows(
    plan: Plan,
    dataset: Dataset,
    lang: str,
    districts: Sequence[str] | None,
    cadres: bool,
) -> _Rows:
    """The rows of ``districts`` (``None``: all), each unit's cadres listed with ``cadres``."""
    unit_names = _names(dataset.units, "unit_id", lang)
    status = _status(plan, dataset, lang, districts, unit_names)
    units = _units(plan, set(status["demand_id"]), unit_names, lang, cadres)
    return _Rows(status, units)


def _status(
    plan: Plan,
    dataset: Dataset,
    lang: str,
    districts: Sequence[str] | None,
    unit_names: Mapping[str, str],
) -> pd.DataFrame:
    """The plan's ``demand_status`` rows of ``districts``, with the community's name, the
    demand's description and its lead units, in the list's order: by district, then in the
    dataset's order of communities, then in the plan's."""
    status = plan.demand_status.copy()
    if districts is not None:
        status = status[status["district"].astype(str).isin(list(districts))]
    communities = dataset.communities
    community_names = _names(communities, "community_id", lang)
    order = {c: i for i, c in enumerate(communities["community_id"].astype(str))}
    status["community_id"] = status["community_id"].astype(str)
    status["district"] = status["district"].astype(str)
    status["demand_id"] = status["demand_id"].astype(str)
    status["_row"] = np.arange(len(status))
    status["_community_order"] = status["community_id"].map(order).fillna(len(order))
    status["community_name"] = (
        status["community_id"].map(community_names).fillna(status["community_id"])
    )
    status["description"] = _descriptions(dataset.demands, status["demand_id"])
    status["lead_unit"] = _lead_units(plan.leads, status["demand_id"], unit_names, lang)
    return status.sort_values(["district", "_community_order", "_row"], kind="stable")


def _descriptions(demands: pd.DataFrame, demand_ids: pd.Series) -> pd.Series | str:
    """Each demand's description (``""`` where the dataset has none)."""
    if "description" not in demands.columns:
        return ""
    text = demands["description"].fillna("").astype(str)
    described = dict(zip(demands["demand_id"].astype(str), text, strict=True))
    return demand_ids.map(described).fillna("")


def _lead_units(
    leads: pd.DataFrame, demand_ids: pd.Series, unit_names: Mapping[str, str], lang: str
) -> pd.Series | str:
    """Each demand's lead units by name, joined in ``lang`` (``""`` for none)."""
    if not len(leads):
        return ""
    lead_names = (
        leads.assign(
            demand_id=leads["demand_id"].astype(str),
            name=leads["unit_id"].astype(str).map(lambda u: unit_names.get(u, u)),
        )
        .groupby("demand_id", sort=False)["name"]
        .agg(translator(lang).pgettext("list separator", ", ").join)
    )
    return demand_ids.map(lead_names).fillna("")


def _units(
    plan: Plan, kept: set[str], unit_names: Mapping[str, str], lang: str, cadres: bool
) -> pd.DataFrame:
    """The hours each unit gives each demand in ``kept`` (with ``cadres``, also the unit's
    cadres on it), largest first within a demand."""
    assignments = plan.assignments
    assignments = assignments[assignments["demand_id"].astype(str).isin(kept)].copy()
    assignments["demand_id"] = assignments["demand_id"].astype(str)
    assignments["unit_id"] = assignments["unit_id"].astype(str)
    assignments["unit_name"] = assignments["unit_id"].map(unit_names).fillna(assignments["unit_id"])
    keys = ["demand_id", "unit_id"]
    units = assignments.groupby(keys, sort=False, as_index=False).agg(
        hours=("hours", "sum"), unit_name=("unit_name", "first")
    )
    if cadres:
        units["cadres"] = _cadre_lists(assignments, units, lang)
    return units.sort_values(["demand_id", "hours", "unit_id"], ascending=[True, False, True])


def _cadre_lists(assignments: pd.DataFrame, units: pd.DataFrame, lang: str) -> list[str | None]:
    """For each row of ``units``, the unit's cadres on the demand with their hours:
    ``"K0001 (4), K0002 (8)"`` (``None`` for none)."""
    own = assignments[assignments["supplier_kind"] == "cadre"]
    lists: dict[tuple[str, str], list[str]] = {}
    # a plain loop: pandas' group-wise string join is many times slower here
    for demand, unit, cadre, hours in zip(
        own["demand_id"].to_numpy(object),
        own["unit_id"].to_numpy(object),
        own["supplier_id"].astype(str).to_numpy(object),
        own["hours"].to_numpy(),
        strict=True,
    ):
        lists.setdefault((demand, unit), []).append(f"{cadre} ({int(hours)})")
    join = translator(lang).pgettext("list separator", ", ").join
    return [
        join(lists[k]) if k in lists else None
        for k in zip(
            units["demand_id"].to_numpy(object), units["unit_id"].to_numpy(object), strict=True
        )
    ]


# ---- writing --------------------------------------------------------------------------


def _width(text: str) -> int:
    """Characters as Excel shows them: wide (CJK) ones count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _printed_width(text: str) -> float:
    """About how wide ``text`` prints in 10-point type, in units of a column's width:
    a CJK character about 1.9, a Latin letter or digit about 0.72 (narrower than the
    ``0`` a column's width counts). Counted from the UTF-8 length (a CJK character is
    three bytes): quick enough for every cell of a city."""
    wide = (len(text.encode("utf-8")) - len(text)) // 2
    return 1.9 * wide + 0.72 * (len(text) - wide)


def sheet_names(titles: Iterable[str]) -> list[str]:
    """Valid, distinct Excel sheet names for ``titles``, in order: the characters Excel
    refuses (``[]:*?/\\``) replaced by ``_``, no leading or trailing apostrophe, at most
    31 characters, and a ``(2)``, ``(3)``... suffix where two would be equal (Excel
    compares them without case).

    >>> sheet_names(["Gulou", "a/b", "GULOU", "", "x" * 40])
    ['Gulou', 'a_b', 'GULOU (2)', 'Sheet', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx']
    """
    seen: set[str] = set()
    names = []
    for title in titles:
        base = _BAD_SHEET_CHARS.sub("_", str(title)).strip().strip("'").strip()
        base = base[:_SHEET_MAX] or "Sheet"
        name, n = base, 1
        while name.casefold() in seen or name.casefold() == "history":
            n += 1
            suffix = f" ({n})"
            name = base[: _SHEET_MAX - len(suffix)] + suffix
        seen.add(name.casefold())
        names.append(name)
    return names


def _escape(text: str) -> str:
    """Text for a page header or footer: ``&`` starts a code there."""
    return text.replace("&", "&&")[:100]


class _Writer:
    """The workbook being written: its formats and the print setup every sheet gets."""

    def __init__(self, book: Any, _: Translator, title: str) -> None:
        self.book = book
        self._ = _
        self.title = title
        base = {"font_size": 10, "valign": "top"}
        cell = base  # no borders: the sheets print their grid lines
        boxed = {**base, "border": 1, "border_color": "#A6A6A6"}
        self.f = {
            "title": book.add_format({"bold": True, "font_size": 14}),
            "subtitle": book.add_format({"italic": True, "font_color": "#595959"}),
            "head": book.add_format(
                {
                    **cell,
                    "border": 1,
                    "bold": True,
                    "bg_color": "#DDEBF7",
                    "text_wrap": True,
                    "align": "center",
                    "valign": "vcenter",
                }
            ),
            "text": book.add_format(cell),
            "wrap": book.add_format({**cell, "text_wrap": True}),
            "int": book.add_format({**cell, "num_format": "#,##0"}),
            "num": book.add_format({**cell, "num_format": "#,##0.0###"}),
            "pct": book.add_format({**cell, "num_format": "0.0%"}),
            # the summary's small tables: boxed (its sheet prints no grid lines)
            "btext": book.add_format(boxed),
            "bint": book.add_format({**boxed, "num_format": "#,##0"}),
            "bpct": book.add_format({**boxed, "num_format": "0.0%"}),
            "total": book.add_format({**cell, "bold": True, "top": 1}),
            "total_int": book.add_format({**cell, "bold": True, "top": 1, "num_format": "#,##0"}),
            "unmet": book.add_format({**cell, "font_color": "#C00000"}),
            "partial": book.add_format({**cell, "font_color": "#9C5700"}),
        }

    def sheet(self, name: str, heading: str, header_row: int, grid: bool = True) -> Any:
        """A new sheet set up for printing: A4 landscape, fitted to the page's width,
        row ``header_row`` repeated on every page, the title and page numbers in the
        header and footer, panes frozen below the header row, grid lines printed (or
        with ``grid=False`` neither shown nor printed)."""
        _ = self._
        ws = self.book.add_worksheet(name)
        ws.set_paper(A4)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(header_row)
        ws.set_margins(left=0.4, right=0.4, top=0.7, bottom=0.6)
        ws.set_header(f"&L{_escape(self.title)}&R{_escape(heading)}")
        page = _("Page {page} of {pages}").format(page="&P", pages="&N")
        ws.set_footer(f"&C{page}")
        ws.freeze_panes(header_row + 1, 0)
        ws.hide_gridlines(0 if grid else 2)
        return ws

    def write_row(
        self, ws: Any, row: int, values: Sequence[object], formats: Sequence[str | None]
    ) -> None:
        """One row: numbers as numbers, text as text (never a formula); ``None`` is left
        out (an empty cell is not written: the sheet prints its grid lines instead of
        cell borders, which keeps a city's list quick to write)."""
        f = self.f
        for col, value in enumerate(values):
            if value is None or value == "" or value != value:  # None, "" or NaN
                continue
            fmt = formats[col]
            if isinstance(value, str):
                ws.write_string(row, col, value, f[fmt] if fmt else None)
            else:
                ws.write_number(row, col, value, f[fmt] if fmt else None)


# A column of a table sheet: its header, format, and width bounds.
@dataclass(frozen=True)
class _Col:
    header: str
    fmt: str
    width: int = 0  # fixed width; 0: fitted to the cells


def _table(
    w: _Writer,
    ws: Any,
    top: int,
    cols: Sequence[_Col],
    rows: Iterable[tuple[Sequence[object], Sequence[str] | None]],
    total: Sequence[object] | None = None,
) -> int:
    """Write a header at ``top`` and the rows below it (each with its formats, or the
    columns'); fit the widths; returns the next free row."""
    w.write_row(ws, top, [c.header for c in cols], ["head"] * len(cols))
    # a header wider than its fixed column wraps (columns fitted to their cells are at
    # least as wide as their header): its row as tall as its lines, bold being wider
    head_lines = max(
        (math.ceil(1.1 * _printed_width(c.header) / (c.width - 1.5)) for c in cols if c.width),
        default=1,
    )
    if head_lines > 1:
        ws.set_row(top, _LINE_PT * head_lines + 2)
    widths = [max(_width(part) for part in c.header.split("\n")) for c in cols]
    defaults = [c.fmt for c in cols]
    # Rows are given the height of their wrapped text, estimated on the generous side (a
    # gap rather than lines printed over the next row): LibreOffice prints a row at the
    # height the file gives, whatever its text needs.
    wrapped = [(j, c.width - 1.5) for j, c in enumerate(cols) if c.fmt == "wrap" and c.width]
    r = top
    for values, formats in rows:
        r += 1
        w.write_row(ws, r, values, formats or defaults)
        lines = 1
        for j, room in wrapped:
            v = values[j]
            if isinstance(v, str):
                lines = max(lines, math.ceil(_printed_width(v) / room))
        if lines > 1:
            ws.set_row(r, _LINE_PT * lines + 2)
        if r - top <= 300:  # widths from the first rows: enough, and fast
            for j, v in enumerate(values):
                if v is not None:
                    shown = v if isinstance(v, str) else f"{v:,}"
                    widths[j] = max(widths[j], _width(shown))
    if total is not None:
        r += 1
        fmts = ["total_int" if isinstance(v, int | float) else "total" for v in total]
        w.write_row(ws, r, total, fmts)
    for j, c in enumerate(cols):
        width = c.width or min(max(widths[j] + 2, _MIN_WIDTH), _MAX_WIDTH)
        ws.set_column(j, j, width)
    if r > top:
        ws.autofilter(top, 0, r if total is None else r - 1, len(cols) - 1)
    return r + 1


def _number(value: Any) -> int | float:
    """A table's number as Python's: whole numbers as ``int``."""
    v = float(value)
    return int(v) if v.is_integer() else v


def _district_sheet(
    w: _Writer,
    name: str,
    district: str,
    status: pd.DataFrame,
    units: pd.DataFrame,
    lang: str,
    cadres: bool,
) -> None:
    _ = w._
    heading = _("{district}: project list").format(district=district_name(district, lang))
    ws = w.sheet(name, heading, 2)
    ws.write_string(0, 0, heading, w.f["title"])
    demanded, covered = int(status["hours"].sum()), int(status["covered_hours"].sum())
    share = f"{100 * covered / demanded:.1f}%" if demanded else "-"
    line = _.ngettext(
        "{n} demand: {covered} of {demanded} hours covered ({share})",
        "{n} demands: {covered} of {demanded} hours covered ({share})",
        len(status),
    ).format(n=len(status), covered=f"{covered:,}", demanded=f"{demanded:,}", share=share)
    ws.write_string(1, 0, line, w.f["subtitle"])
    cols = _district_cols(_, lang, cadres)
    rows = _district_rows(_, status, _served(units, cadres), cols, lang, cadres)
    total: list[object] = [_("Total"), None, None, None, None, demanded, covered, None]
    total += [int(units["hours"].sum()) if len(units) else 0]
    total += [None] * (len(cols) - len(total))
    _table(w, ws, 2, cols, rows, total)


def _demand_cols(_: Translator, lang: str, width: int) -> list[_Col]:
    """The columns of a demand in every sheet that lists demands: its id, description
    (``width`` wide), category, priority, hours asked and hours covered."""
    return [
        _Col(header_name("demand_id", lang), "text"),
        _Col(_("Demand"), "wrap", width),
        _Col(header_name("category", lang), "text"),
        _Col(header_name("priority", lang), "int", 7),
        _Col(_("Hours asked"), "int", 9),
        _Col(_("Hours covered"), "int", 9),
    ]


def _district_cols(_: Translator, lang: str, cadres: bool) -> list[_Col]:
    """A district sheet's columns (the cadres' only with ``cadres``)."""
    cols = [
        _Col(_("Community"), "wrap", 20),
        *_demand_cols(_, lang, 38),
        _Col(_("Serving unit"), "wrap", 28),
        _Col(_("Unit's hours"), "int", 9),
    ]
    if cadres:
        cols.append(_Col(_("Cadres (hours each)"), "wrap", 30))
    cols += [
        _Col(_("Lead unit"), "wrap", 14),
        _Col(_("Status"), "text"),
        _Col(_("Reason"), "wrap", 20),
    ]
    return cols


def _served(units: pd.DataFrame, cadres: bool) -> dict[str, list[tuple[str, int, str | None]]]:
    """A demand's serving units: (unit, hours, cadres), largest first (``units``' order)."""
    served: dict[str, list[tuple[str, int, str | None]]] = {}
    listed = units["cadres"].to_numpy() if cadres else np.full(len(units), None)
    for demand, unit, hours, who in zip(
        units["demand_id"].to_numpy(),
        units["unit_name"].to_numpy(),
        units["hours"].to_numpy(),
        listed,
        strict=True,
    ):
        served.setdefault(demand, []).append((unit, int(hours), who))
    return served


def _district_rows(
    _: Translator,
    status: pd.DataFrame,
    served: Mapping[str, list[tuple[str, int, str | None]]],
    cols: Sequence[_Col],
    lang: str,
    cadres: bool,
) -> Iterable[tuple[Sequence[object], Sequence[str] | None]]:
    """A district sheet's rows, each with its formats: a demand's figures and its first
    serving unit on one row, its further serving units on rows of their own."""
    statuses = {s: status_name(s, _.lang) for s in ("met", "partial", "unmet")}
    cats = {c: category_name(c, lang) for c in status["category"].astype(str).unique()}
    reasons = {r: reason_text(r, lang, short=True) for r in status["reason"].fillna("").unique()}
    fmts = [c.fmt for c in cols]
    by_status = {s: [*fmts[:-2], s, "wrap"] for s in ("partial", "unmet")}
    rec: Any  # a row of the frame (itertuples types its fields loosely)
    for rec in status.itertuples(index=False):
        units_ = served.get(rec.demand_id, [])
        unit, unit_hours, who = units_[0] if units_ else (None, None, None)
        first: list[object] = [
            rec.community_name,
            rec.demand_id,
            rec.description,
            cats[str(rec.category)],
            _number(rec.priority),
            _number(rec.hours),
            _number(rec.covered_hours),
            unit,
            unit_hours,
        ]
        if cadres:
            first.append(who)
        first += [
            rec.lead_unit,
            statuses.get(rec.status, rec.status),
            reasons.get(rec.reason, rec.reason),
        ]
        yield first, by_status.get(rec.status, fmts)
        # further serving units: rows of their own, the demand's figures not
        # repeated (so that each column adds up)
        for unit, unit_hours, who in units_[1:]:
            more: list[object] = [None] * len(cols)
            more[7], more[8] = unit, unit_hours
            if cadres:
                more[9] = who
            yield more, fmts


def _unmet_sheet(w: _Writer, name: str, status: pd.DataFrame, lang: str) -> None:
    _ = w._
    heading = _("Demands not fully met")
    ws = w.sheet(name, heading, 2)
    ws.write_string(0, 0, heading, w.f["title"])
    short = status[status["status"] != "met"].copy()
    short["short_hours"] = short["hours"] - short["covered_hours"]
    short = short.sort_values(
        ["district", "priority", "short_hours"], ascending=[True, False, False], kind="stable"
    )
    ws.write_string(
        1,
        0,
        _(
            "Largest shortfall first within each district and priority; the reason is the "
            "first the planner's rules find."
        )
        if len(short)
        else _("Every demand is fully met."),
        w.f["subtitle"],
    )
    cols = [
        _Col(header_name("district", lang), "text"),
        _Col(_("Community"), "text"),
        *_demand_cols(_, lang, 36),
        _Col(_("Hours short"), "int", 9),
        _Col(_("Status"), "text"),
        _Col(_("Reason"), "wrap", 40),
    ]
    statuses = {s: status_name(s, _.lang) for s in ("met", "partial", "unmet")}
    cats = {c: category_name(c, lang) for c in short["category"].astype(str).unique()}
    reasons = {r: reason_text(r, lang) for r in short["reason"].fillna("").unique()}
    fmts = [c.fmt for c in cols]
    rows = (
        (
            [
                district_name(str(rec.district), lang),
                rec.community_name,
                rec.demand_id,
                rec.description or None,
                cats[str(rec.category)],
                _number(rec.priority),
                _number(rec.hours),
                _number(rec.covered_hours),
                _number(rec.short_hours),
                statuses.get(str(rec.status), str(rec.status)),
                reasons.get(str(rec.reason), str(rec.reason)) or None,
            ],
            [*fmts[:9], str(rec.status), "wrap"],
        )
        for rec in short.itertuples(index=False)
    )
    _table(w, ws, 2, cols, rows)


def _value(kpis: Mapping[str, Any], path: str) -> Any:
    value: Any = kpis
    for key in path.split("."):
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def kpi_rows(_: Translator, city: bool) -> list[tuple[str, str, str]]:
    """The KPIs the summary lists: (dotted key of ``kpis.json``, label, format); the
    supplier figures only for the whole city."""
    rows = [
        ("hours_demanded", _("Hours asked"), "int"),
        ("hours_covered", _("Hours covered"), "int"),
        ("coverage", _("Coverage"), "pct"),
        ("demands", _("Demands"), "int"),
        ("demands_met", _("Demands met"), "int"),
        ("demands_partial", _("Demands partly met"), "int"),
        ("demands_unmet", _("Demands not met"), "int"),
        ("communities_zero_coverage_count", _("Communities with no hours covered"), "int"),
    ]
    if city:
        rows += [
            ("supplier_utilization.hours_available", _("Hours offered"), "int"),
            ("supplier_utilization.hours_used", _("Hours given"), "int"),
            ("supplier_utilization.utilization", _("Share of offered hours given"), "pct"),
            ("supplier_utilization.suppliers_used", _("Cadres and services serving"), "int"),
        ]
    return rows


def _chart(
    w: _Writer,
    sheet: str,
    first: int,
    last: int,
    title: str,
    names: tuple[str, str],
) -> Any:
    """A bar chart of the hours asked (column B) and covered (column C) of rows
    ``first``..``last`` of the summary, labelled by column A."""
    chart = w.book.add_chart({"type": "bar"})
    colours = ("#9DC3E6", "#2E75B6")
    for col, name, colour in zip((1, 2), names, colours, strict=True):
        chart.add_series(
            {
                "name": name,
                "categories": [sheet, first, 0, last, 0],
                "values": [sheet, first, col, last, col],
                "fill": {"color": colour},
                "gap": 60,
            }
        )
    chart.set_title({"name": title, "name_font": {"size": 11, "bold": True}})
    chart.set_y_axis({"reverse": True, "num_font": {"size": 9}})
    chart.set_x_axis(
        {
            "num_format": "#,##0",
            "num_font": {"size": 9},
            "major_gridlines": {"visible": True, "line": {"color": "#D9D9D9"}},
        }
    )
    chart.set_legend({"position": "bottom"})
    n = last - first + 1
    chart.set_size({"width": 560, "height": max(220, 26 * n + 90)})
    return chart


def _summary_sheet(
    w: _Writer,
    name: str,
    kpis: Mapping[str, Any],
    lang: str,
    subtitle: str,
    city: bool,
) -> None:
    _ = w._
    ws = w.sheet(name, _("Summary"), 0, grid=False)
    ws.write_string(0, 0, w.title, w.f["title"])
    ws.write_string(1, 0, subtitle, w.f["subtitle"])
    row = _kpi_table(w, ws, 3, kpis, city)
    row = _reasons_table(w, ws, row, kpis.get("reasons") or {}, lang)
    _coverage_tables(w, ws, name, row, kpis, lang)
    ws.set_column(0, 0, 34)
    ws.set_column(1, 3, 13)
    ws.set_column(4, 5, 2)


def _kpi_table(w: _Writer, ws: Any, top: int, kpis: Mapping[str, Any], city: bool) -> int:
    """The summary's table of KPIs from row ``top``; returns the row of the next table."""
    _ = w._
    row = top
    w.write_row(ws, row, [_("Indicator"), _("Value")], ["head", "head"])
    for key, label, fmt in kpi_rows(_, city):
        row += 1
        w.write_row(ws, row, [label, _value(kpis, key)], ["btext", f"b{fmt}"])
    return row + 2


def _reasons_table(w: _Writer, ws: Any, top: int, reasons: Mapping[str, int], lang: str) -> int:
    """The summary's count of demands by the reason they fall short, from row ``top`` (none
    without ``reasons``); returns the row of the next table."""
    if not reasons:
        return top
    _ = w._
    row = top
    w.write_row(ws, row, [_("Why demands fall short"), _("Demands")], ["head", "head"])
    for code, n in reasons.items():
        row += 1
        label = reason_text(code, lang, short=True) or code
        w.write_row(ws, row, [label, n], ["btext", "bint"])
    return row + 2


def _coverage_tables(
    w: _Writer, ws: Any, sheet: str, top: int, kpis: Mapping[str, Any], lang: str
) -> None:
    """The summary's hours asked and covered by district and by category from row ``top``,
    each with its chart down the right-hand side, one below the other."""
    _ = w._
    row = top
    chart_row = 3  # the charts go down the right-hand side, one below the other
    asked, got = _("Hours asked"), _("Hours covered")
    for key, label, title, words in (
        (
            "coverage_by_district",
            header_name("district", lang),
            _("Hours asked and covered by district"),
            district_name,
        ),
        (
            "coverage_by_category",
            header_name("category", lang),
            _("Hours asked and covered by category"),
            category_name,
        ),
    ):
        table = kpis.get(key) or {}
        if not table:
            continue
        head = [label, asked, got, _("Coverage")]
        w.write_row(ws, row, head, ["head"] * 4)
        first = row + 1
        for k, v in table.items():
            row += 1
            shown = words(k, lang) if words else k
            w.write_row(
                ws,
                row,
                [shown, v.get("hours_demanded"), v.get("hours_covered"), v.get("coverage")],
                ["btext", "bint", "bint", "bpct"],
            )
        chart = _chart(w, sheet, first, row, title, (asked, got))
        ws.insert_chart(chart_row, _CHART_COLUMN, chart, {"x_offset": 10, "y_offset": 4})
        height = max(220, 26 * (row - first + 1) + 90)
        chart_row += math.ceil(height / _ROW_PX) + 1
        row += 2


def write_project_list(
    plan: Plan | str | Path,
    dataset: Dataset | str | Path | None,
    out: str | Path | IO[bytes],
    lang: str = "zh",
    public: bool = False,
    districts: Sequence[str] | None = None,
) -> list[str]:
    """Write a plan's project list as an Excel workbook.

    Parameters
    ----------
    plan
        The plan: a plan folder (``matcher plan --out``), or a
        :class:`~matcher.plans.result.Plan`. Its tables are read as they are, not recomputed.
    dataset
        The plan's dataset (names of communities and units, descriptions of demands): a
        ``Dataset`` or a folder or workbook; ``None``, the one the plan's ``run.json``
        names. Its content hash must be the plan's.
    out
        The ``.xlsx`` file to write, or a binary stream.
    lang
        Headers, titles, categories, statuses and reasons in ``"zh"`` or ``"en"``.
    public
        The public-notice variant: units and hours only (no column of cadres, so no
        cadre id; no homes or coordinates anywhere).
    districts
        Only these districts' sheets and rows, and the summary's figures counted over
        them (for a reader who may see only these districts); ``None``: the whole city,
        the summary's figures those of ``kpis.json``.

    Returns
    -------
    list of str
        The sheets written, in order.

    Raises
    ------
    ParameterError
        An unknown ``lang``, or a file name not ending in ``.xlsx``.
    PlanFolderError
        The plan folder cannot be read, or the dataset is not the plan's.
    """
    check_lang(lang)
    if isinstance(out, str | Path) and Path(out).suffix.lower() != SUFFIX:
        raise ParameterError("out", str(out), "a file name ending in .xlsx")
    tables = as_plan(plan)
    loaded = plan_dataset(tables, dataset)
    _ = translator(lang)
    rows = _rows(tables, loaded, lang, districts, cadres=not public)
    kpis = _summary_kpis(tables.kpis, rows.status, districts)
    label = tables.label.render(lang) if isinstance(tables.label, Text) else tables.label
    title = _("Project list: {plan}").format(plan=label or _("plan"))
    subtitle = _subtitle(_, lang, public, districts)
    plan_districts = sorted(rows.status["district"].astype(str).unique())
    titles = [_("Summary"), *(district_name(d, lang) for d in plan_districts), _("Unmet demands")]
    names = sheet_names(titles)
    book = _workbook(out, title, _)
    try:
        w = _Writer(book, _, title)
        _summary_sheet(w, names[0], kpis, lang, subtitle, districts is None)
        _district_sheets(w, names[1:-1], plan_districts, rows, lang, not public)
        _unmet_sheet(w, names[-1], rows.status, lang)
    finally:
        book.close()
    return names


def _summary_kpis(
    kpis: Mapping[str, Any], status: pd.DataFrame, districts: Sequence[str] | None
) -> dict[str, Any]:
    """:func:`scoped_kpis`, some districts' coverage in the order of their names."""
    scoped = scoped_kpis(kpis, status, districts)
    if districts is not None:
        # a district the plan has no demand in still gets no sheet, but is named
        shown = scoped.get("coverage_by_district") or {}
        scoped["coverage_by_district"] = {d: shown[d] for d in sorted(shown)}
    return scoped


def _subtitle(_: Translator, lang: str, public: bool, districts: Sequence[str] | None) -> str:
    """The summary's subtitle: the districts shown (when not all), and who the list is for."""
    parts = []
    if districts is not None:
        parts.append(
            _("Districts {districts} only").format(
                districts=_.pgettext("list separator", ", ").join(
                    district_name(d, lang) for d in districts
                )
            )
        )
    if public:
        parts.append(_("For public notice: units and hours only, no personal data"))
    else:
        parts.append(_("For the joint meeting: names cadres, not for public notice"))
    return _.pgettext("clause separator", "; ").join(parts)


def _workbook(out: str | Path | IO[bytes], title: str, _: Translator) -> Any:
    """The xlsxwriter workbook writing to ``out`` (a file or a binary stream), its
    properties the title alone."""
    import xlsxwriter  # type: ignore[import-untyped]

    target = str(out) if isinstance(out, str | Path) else out
    # Not constant_memory: it measured slower here (each cell's text written out inline,
    # where shared strings write a unit's or a category's name once).
    book = xlsxwriter.Workbook(target, {"in_memory": not isinstance(out, str | Path)})
    # the file's properties carry no person's name (no author, no company)
    book.set_properties({"title": title, "subject": _("Project list"), "author": ""})
    return book


def _district_sheets(
    w: _Writer,
    names: Sequence[str],
    districts: Sequence[str],
    rows: _Rows,
    lang: str,
    cadres: bool,
) -> None:
    """One sheet per district, named ``names``, in order."""
    groups = dict(tuple(rows.status.groupby("district", sort=False)))
    by_demand = rows.units.set_index("demand_id", drop=False)
    for sheet, district in zip(names, districts, strict=True):
        status = groups[district]
        units = by_demand[by_demand.index.isin(status["demand_id"])]
        _district_sheet(w, sheet, district, status, units, lang, cadres)
