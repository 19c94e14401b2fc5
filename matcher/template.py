"""A workbook to fill: the three lists as an Excel template (``matcher template``).

One sheet per table of :mod:`matcher.schema`, named and headed in Chinese or English
from the alias table (:mod:`matcher.aliases`); a note on each header cell saying what
the column holds (what :data:`matcher.aliases.NOTES` says, with whether it is required,
its type, range and allowed values from the schema); drop-down lists for the coded
columns and the districts (on a hidden sheet, referenced by range); whole-number and
decimal checks with the schema's ranges; a frozen header row. Either one example row
per sheet (the rows hang together: the cadre's unit is the example unit, the demand's
community the example community) or the rows of an existing dataset, coded values
written in the chosen language: :func:`matcher.load_dataset` reads the workbook back as
the same dataset (the same ``content_hash``).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from matcher.aliases import (
    LANGS,
    VALUES,
    column_note,
    header_name,
    sheet_name,
    sheet_table,
    value_name,
)
from matcher.errors import ParameterError
from matcher.schema import TABLES, TABLES_BY_NAME, Column, Kind, Table
from matcher.xlsx import SUFFIX, column_letter

if TYPE_CHECKING:
    from matcher.dataset import Dataset

EXCEL_LAST_ROW = 1_048_575  # 0-based: validations cover the whole column below the header
LIST_SHEET = {"zh": "选项", "en": "lists"}  # the hidden sheet of the drop-down lists
LIST_JOIN = {"zh": "、", "en": ";"}  # how a list cell's words are joined when written
_DISTRICT = "district"
_MIN_WIDTH, _MAX_WIDTH = 8, 40
_WIDTH_SAMPLE = 200  # rows looked at for a column's width

# The example: one row per table, coded values as codes (written in the chosen
# language); free text per language. The rows hang together (ids refer to each other).
_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "community": "示例社区",
        "unit": "示例单位",
        "district": "鼓楼区",
        "street": "东街街道",
        "alliance": "东街街道共建联盟",
        "description": "为独居老人提供上门照护",
    },
    "en": {
        "community": "Example community",
        "unit": "Example unit",
        "district": "Gulou",
        "street": "Dongjie",
        "alliance": "Dongjie street alliance",
        "description": "Home care for elders living alone",
    },
}


def example_rows(lang: str) -> dict[str, dict[str, object]]:
    """The example row of each table, in ``lang``'s free text (codes as codes)."""
    t = _TEXT[lang]
    return {
        "communities": {
            "community_id": "C001",
            "name": t["community"],
            "district": t["district"],
            "street": t["street"],
            "lat": 26.08,
            "lon": 119.3,
            "households": 1200,
        },
        "units": {
            "unit_id": "U001",
            "name": t["unit"],
            "kind": "government",
            "level": "district",
            "district": t["district"],
            "lat": 26.09,
            "lon": 119.29,
            "lead_capacity": 10,
        },
        "cadres": {
            "cadre_id": "K001",
            "unit_id": "U001",
            "skills": "elderly_care;legal_aid",
            "hours": 8,
            "home_community_id": "C001",
        },
        "demands": {
            "demand_id": "D001",
            "community_id": "C001",
            "category": "elderly_care",
            "hours": 6,
            "priority": 4,
            "min_hours": 2,
            "funds": 500,
            "description": t["description"],
        },
        "resources": {
            "resource_id": "R001",
            "unit_id": "U001",
            "kind": "funds",
            "categories": "elderly_care",
            "amount": 2000,
            "range_km": 10,
        },
        "pairings": {"unit_id": "U001", "community_id": "C001"},
        "alliances": {
            "alliance_id": "A001",
            "name": t["alliance"],
            "district": t["district"],
            "street": t["street"],
        },
        "alliance_members": {"alliance_id": "A001", "unit_id": "U001"},
        "lead_options": {"demand_id": "D001", "unit_id": "U001", "effort": 2, "cost": 100},
    }


# Words of the notes that the schema implies (the column's own text is in NOTES).
_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "required": "Required.",
        "optional": "Optional: may be left empty.",
        Kind.ID.value: "Text, unique in this sheet.",
        Kind.TEXT.value: "Text.",
        Kind.REF.value: "An id listed in column {column} of the {sheet} sheet.",
        Kind.INT.value: "A whole number{range}.",
        Kind.FLOAT.value: "A number{range}.",
        Kind.ENUM.value: "One of: {values}.",
        Kind.LIST.value: "One or more of: {values} (joined by ';'; other words are kept).",
        "coded": "Usually one of: {values} (other words are kept as written).",
        "pick": "Pick from the drop-down list.",
        "free": "Other values may be typed.",
        "between": " from {lo} to {hi}",
        "min": ", {lo} or more",
        "above": ", greater than {lo}",
        "bad_number": "Out of range",
        "lists_note": "The drop-down lists of the other sheets (kept hidden).",
    },
    "zh": {
        "required": "必填。",
        "optional": "选填，可留空。",
        Kind.ID.value: "文本，本表内不可重复。",
        Kind.TEXT.value: "文本。",
        Kind.REF.value: "须为“{sheet}”表“{column}”列中已有的编号。",
        Kind.INT.value: "整数{range}。",
        Kind.FLOAT.value: "数字{range}。",
        Kind.ENUM.value: "可选：{values}。",
        Kind.LIST.value: "可选一个或多个：{values}(用“、”或“；”分隔；其他词按原样保留)。",
        "coded": "一般为：{values}(其他词按原样保留)。",
        "pick": "可从下拉列表选择。",
        "free": "也可填写其他值。",
        "between": "，{lo}至{hi}",
        "min": "，不小于{lo}",
        "above": "，大于{lo}",
        "bad_number": "超出范围",
        "lists_note": "其他工作表下拉列表的选项(已隐藏)。",
    },
}


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def _range(col: Column, lang: str) -> str:
    w = _WORDS[lang]
    if col.lo is not None and col.hi is not None:
        return w["between"].format(lo=_number(col.lo), hi=_number(col.hi))
    if col.lo is not None:
        return w["above" if col.lo_open else "min"].format(lo=_number(col.lo))
    return ""


def note(table: Table, col: Column, lang: str) -> str:
    """The note on a header cell: what the column holds (:data:`NOTES`), whether it is
    required, its type and range, the values it takes."""
    w = _WORDS[lang]
    words = VALUES.get((table.name, col.name))
    values = ""
    if words is not None:
        values = ("、" if lang == "zh" else ", ").join(
            value_name(table.name, col.name, code, lang) for code in words
        )
    if col.kind is Kind.REF:
        assert col.ref is not None
        ref = TABLES_BY_NAME[col.ref]
        target = ref.id_column or col.name
        kind = w[Kind.REF.value].format(
            sheet=sheet_name(ref.name, lang), column=header_name(target, lang)
        )
    elif col.kind is Kind.TEXT and words is not None:
        kind = w["coded"].format(values=values)
    else:
        kind = w[col.kind.value].format(range=_range(col, lang), values=values)
    lines = [column_note(table.name, col.name, lang), w["optional" if col.optional else "required"]]
    lines.append(kind)
    if words is not None:
        lines.append(w["pick"])
    return "\n".join(lines)


def _width(text: str) -> int:
    """Characters as Excel shows them: wide (CJK) ones count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _cell(table: str, col: str, kind: Kind | None, value: object, lang: str) -> object:
    """A dataset value as written: ``None`` for an empty cell, coded values in ``lang``,
    numbers as Python numbers, the rest as text."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        if value == "":
            return None
        if kind is Kind.LIST:
            parts = [value_name(table, col, p, lang) for p in value.split(";")]
            return LIST_JOIN[lang].join(parts)
        return value_name(table, col, value, lang)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    return str(value)


def _rows(frame: pd.DataFrame, columns: Sequence[str]) -> Iterable[tuple[Any, ...]]:
    return frame[list(columns)].itertuples(index=False, name=None)


def write_template(
    path: str | Path | IO[bytes],
    lang: str = "zh",
    dataset: Dataset | str | Path | None = None,
) -> None:
    """Write the workbook to fill.

    Parameters
    ----------
    path
        The ``.xlsx`` file to write (or a binary stream, for the service).
    lang
        ``"zh"`` (sheets, headers, notes and coded values in Chinese) or ``"en"``.
    dataset
        Rows to fill the sheets with (a ``Dataset``, or a folder or workbook to load)
        instead of the example rows; a table the dataset lacks gets no sheet, so that
        the workbook reads back as the same dataset.

    Raises
    ------
    ParameterError
        An unknown ``lang``, or a file name not ending in ``.xlsx``.
    DatasetError
        ``dataset`` names a folder or workbook that does not validate.
    """
    import xlsxwriter  # type: ignore[import-untyped]

    if lang not in LANGS:
        raise ParameterError("lang", lang, f"one of {', '.join(LANGS)}")
    if isinstance(path, str | Path) and Path(path).suffix.lower() != SUFFIX:
        raise ParameterError("out", str(path), "a file name ending in .xlsx")
    if isinstance(dataset, str | Path):
        from matcher.dataset import load_dataset

        dataset = load_dataset(dataset)
    if dataset is None:
        rows = example_rows(lang)
        frames = {
            t.name: pd.DataFrame([{c.name: rows[t.name].get(c.name) for c in t.columns}])
            for t in TABLES
        }
    else:
        frames = dataset.tables()

    target = str(path) if isinstance(path, str | Path) else path
    book = xlsxwriter.Workbook(target, {"in_memory": not isinstance(path, str | Path)})
    try:
        _fill(book, frames, lang)
    finally:
        book.close()


# A drop-down list: its title on the hidden sheet, its values, the (table, column)s
# that use it.
_List = tuple[str, list[str], list[tuple[str, str]]]


def _lists(frames: dict[str, pd.DataFrame], lang: str) -> list[_List]:
    """The drop-down lists: one for each set of coded values of :data:`VALUES` (the
    categories serve three columns) and one of the districts present."""
    found: list[_List] = []
    done: list[dict[str, tuple[str, ...]]] = []
    for (table, column), words in VALUES.items():
        if any(words is d for d in done):
            continue
        done.append(words)
        users = [key for key, w in VALUES.items() if w is words]
        names = [value_name(table, column, code, lang) for code in words]
        found.append(("", names, users))
    districts: set[str] = set()
    for frame in frames.values():
        if _DISTRICT in frame.columns:
            districts.update(str(d) for d in frame[_DISTRICT].dropna() if str(d).strip())
    users = [(t.name, _DISTRICT) for t in TABLES if any(c.name == _DISTRICT for c in t.columns)]
    found.append(("", sorted(districts), users))
    # titled by the columns that use it: 需求.类别 / 干部.技能 / 资源.适用类别
    return [
        (" / ".join(f"{sheet_name(t, lang)}.{header_name(c, lang)}" for t, c in users), v, users)
        for _, v, users in found
    ]


def _fill(book: Any, frames: dict[str, pd.DataFrame], lang: str) -> None:
    w = _WORDS[lang]
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    optional_head = book.add_format({"bold": False, "bg_color": "#F2F2F2", "border": 1})
    lists = _lists(frames, lang)
    list_sheet = LIST_SHEET[lang]
    assert sheet_table(list_sheet) is None  # never read as a table
    ranges: dict[tuple[str, str], str] = {}  # (table, column) -> its list's range
    for j, (_, values, users) in enumerate(lists):
        letter = column_letter(j)
        source = f"='{list_sheet}'!${letter}$2:${letter}${max(len(values), 1) + 1}"
        ranges.update(dict.fromkeys(users, source))

    for table in TABLES:
        if table.name not in frames:
            continue
        frame = frames[table.name]
        spec = {c.name: c for c in table.columns}
        columns = [c.name for c in table.columns if c.name in frame.columns]
        columns += [str(c) for c in frame.columns if str(c) not in spec]
        sheet = book.add_worksheet(sheet_name(table.name, lang))
        widths = [_width(header_name(c, lang) if c in spec else c) for c in columns]
        for i, row in enumerate(_rows(frame, columns), start=1):
            for j, value in enumerate(row):
                col = columns[j]
                kind = spec[col].kind if col in spec else None
                cell = _cell(table.name, col, kind, value, lang)
                if cell is None:
                    continue
                if isinstance(cell, str):
                    # never as a formula or a number: text stays text
                    sheet.write_string(i, j, cell)
                    if i <= _WIDTH_SAMPLE:
                        widths[j] = max(widths[j], _width(cell))
                else:
                    sheet.write_number(i, j, cell)
                    if i <= _WIDTH_SAMPLE:
                        widths[j] = max(widths[j], len(repr(cell)))
        for j, col in enumerate(columns):
            if col not in spec:
                sheet.write_string(0, j, col)
                continue
            c = spec[col]
            sheet.write_string(0, j, header_name(col, lang), optional_head if c.optional else head)
            sheet.write_comment(0, j, note(table, c, lang), {"x_scale": 2.2, "y_scale": 2.0})
            _validate(sheet, table, c, j, ranges, lang)
        for j, width in enumerate(widths):
            sheet.set_column(j, j, min(max(width + 2, _MIN_WIDTH), _MAX_WIDTH))
        sheet.freeze_panes(1, 0)

    hidden = book.add_worksheet(list_sheet)
    for j, (title, values, _) in enumerate(lists):
        hidden.write_string(0, j, title, head)
        for i, value in enumerate(values, start=1):
            hidden.write_string(i, j, value)
        hidden.set_column(j, j, min(max(_width(title), *(_width(v) for v in values), 8), 40))
    hidden.write_comment(0, 0, w["lists_note"])
    hidden.hide()


def _validate(
    sheet: Any,
    table: Table,
    col: Column,
    j: int,
    ranges: dict[tuple[str, str], str],
    lang: str,
) -> None:
    """The column's data validation, on every row below the header."""
    w = _WORDS[lang]
    words = VALUES.get((table.name, col.name))
    options: dict[str, Any]
    if words is not None:
        options = {"validate": "list", "source": ranges[(table.name, col.name)]}
        if col.kind is Kind.LIST:
            options["show_error"] = False  # a drop-down to pick one; several may be typed
        elif col.kind is not Kind.ENUM:
            options["error_type"] = "warning"  # a category outside the list is kept
            options["error_message"] = w["free"]
    elif col.name == _DISTRICT:
        options = {
            "validate": "list",
            "source": ranges[(table.name, col.name)],
            "error_type": "warning",
            "error_message": w["free"],
        }
    elif col.kind in (Kind.INT, Kind.FLOAT) and (col.lo is not None or col.hi is not None):
        validate = "integer" if col.kind is Kind.INT else "decimal"
        options = {"validate": validate, "error_title": w["bad_number"]}
        if col.lo is not None and col.hi is not None:
            options.update(criteria="between", minimum=col.lo, maximum=col.hi)
        elif col.lo is not None:
            options.update(criteria=">" if col.lo_open else ">=", value=col.lo)
        else:
            options.update(criteria="<=", value=col.hi)
        # the type and range, as the error shown for a number outside it (Excel allows
        # at most 255 characters)
        options["error_message"] = w[col.kind.value].format(range=_range(col, lang))[:255]
    else:
        return
    sheet.data_validation(1, j, EXCEL_LAST_ROW, j, options)
