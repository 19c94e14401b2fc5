"""A workbook to fill: the three lists as an Excel template (``matcher template``).

One sheet per table of :mod:`matcher.inputs.schema`, named and headed in Chinese or English
from the alias table (:mod:`matcher.inputs.aliases`); a note on each header cell saying what
the column holds (what :data:`matcher.inputs.aliases.NOTES` says, with whether it is required,
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
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from matcher import i18n
from matcher.errors import ParameterError
from matcher.i18n import N_, Text, Translator, check_lang, translator
from matcher.inputs.aliases import (
    LIST_SEPARATORS,
    VALUES,
    column_note,
    header_name,
    sheet_name,
    sheet_table,
    value_name,
)
from matcher.inputs.schema import TABLES, TABLES_BY_NAME, Column, Kind, Table
from matcher.inputs.xlsx import SUFFIX, column_letter

if TYPE_CHECKING:
    from matcher.inputs.dataset import Dataset

__all__ = [
    "EXCEL_LAST_ROW",
    "LIST_SHEET",
    "example_rows",
    "list_join",
    "list_sheet",
    "note",
    "write_template",
]

EXCEL_LAST_ROW = 1_048_575  # 0-based: validations cover the whole column below the header
_DISTRICT = "district"
_MIN_WIDTH, _MAX_WIDTH = 8, 40
_WIDTH_SAMPLE = 200  # rows looked at for a column's width


def list_sheet(lang: str) -> str:
    """The name of the hidden sheet of the drop-down lists, in ``lang`` (``选项``)."""
    return translator(lang).pgettext("sheet name", "lists")


class _ListSheets(Mapping[str, str]):
    """:func:`list_sheet` of every language with a catalogue, as a mapping."""

    def __getitem__(self, lang: str) -> str:
        if lang not in i18n.LANGS:
            raise KeyError(lang)
        return list_sheet(lang)

    def __iter__(self) -> Iterator[str]:
        return iter(i18n.LANGS)

    def __len__(self) -> int:
        return len(i18n.LANGS)


LIST_SHEET: Mapping[str, str] = _ListSheets()
"""The hidden sheet's name per language: ``LIST_SHEET["zh"]`` is ``选项``."""


def list_join(lang: str) -> str:
    """How the words of a list cell (skills, categories) are joined when written in
    ``lang``: ``、`` in Chinese. Only a separator the reader splits on
    (:data:`~matcher.inputs.aliases.LIST_SEPARATORS`) may come from a catalogue."""
    sep = translator(lang).pgettext("list separator in a cell", ";")
    return sep if sep in LIST_SEPARATORS else ";"


def example_rows(lang: str) -> dict[str, dict[str, object]]:
    """The example row of each table, in ``lang``'s free text (codes as codes). The
    rows hang together: their ids refer to each other."""
    _ = translator(lang)
    t = {
        "community": _("Example community"),
        "unit": _("Example unit"),
        "district": _.pgettext("example district", "Gulou"),
        "street": _.pgettext("example street", "Dongjie"),
        "alliance": _("Dongjie street alliance"),
        "description": _("Home care for elders living alone"),
    }
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


def _number(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def _kind_text(col: Column, _: Translator, values: str = "") -> str:
    """What a column of ``col``'s kind takes, with its range: one whole sentence per
    kind and range (word order differs between languages)."""
    if col.kind in (Kind.INT, Kind.FLOAT):
        whole = col.kind is Kind.INT
        lo = _number(col.lo) if col.lo is not None else ""
        if col.lo is not None and col.hi is not None:
            hi = _number(col.hi)
            text = (
                _("A whole number from {lo} to {hi}.")
                if whole
                else _("A number from {lo} to {hi}.")
            )
            return text.format(lo=lo, hi=hi)
        if col.lo is not None and col.lo_open:
            text = (
                _("A whole number, greater than {lo}.")
                if whole
                else _("A number, greater than {lo}.")
            )
            return text.format(lo=lo)
        if col.lo is not None:
            text = _("A whole number, {lo} or more.") if whole else _("A number, {lo} or more.")
            return text.format(lo=lo)
        return _("A whole number.") if whole else _("A number.")
    if col.kind is Kind.ID:
        return _("Text, unique in this sheet.")
    if col.kind is Kind.ENUM:
        return _("One of: {values}.").format(values=values)
    if col.kind is Kind.LIST:
        return _("One or more of: {values} (joined by ';'; other words are kept).").format(
            values=values
        )
    return _("Text.")


def note(table: Table, col: Column, lang: str) -> str:
    """The note on a header cell: what the column holds (:data:`NOTES`), whether it is
    required, its type and range, the values it takes; in ``lang``."""
    _ = translator(lang)
    words = VALUES.get((table.name, col.name))
    values = ""
    if words is not None:
        values = _.pgettext("list separator", ", ").join(
            value_name(table.name, col.name, code, lang) for code in words
        )
    if col.kind is Kind.REF:
        assert col.ref is not None
        ref = TABLES_BY_NAME[col.ref]
        target = ref.id_column or col.name
        kind = _("An id listed in column {column} of the {sheet} sheet.").format(
            sheet=sheet_name(ref.name, lang), column=header_name(target, lang)
        )
    elif col.kind is Kind.TEXT and words is not None:
        kind = _("Usually one of: {values} (other words are kept as written).").format(
            values=values
        )
    else:
        kind = _kind_text(col, _, values)
    required = _("Optional: may be left empty.") if col.optional else _("Required.")
    lines = [column_note(table.name, col.name, lang), required, kind]
    if words is not None:
        lines.append(_("Pick from the drop-down list."))
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
            return list_join(lang).join(parts)
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
        A language of :data:`matcher.i18n.LANGS`: ``"zh"`` (sheets, headers, notes and
        coded values in Chinese), ``"en"``, or any other with a catalogue (its notes,
        messages and example text from the catalogue; sheets, headers and coded values
        as in English when the alias table has no names in it).
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

    check_lang(lang)
    if isinstance(path, str | Path) and Path(path).suffix.lower() != SUFFIX:
        raise ParameterError("out", str(path), Text(N_("a file name ending in .xlsx")))
    if isinstance(dataset, str | Path):
        from matcher.inputs.dataset import load_dataset

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
    """A sheet per table of ``frames``, then the hidden sheet of the drop-down lists."""
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    optional_head = book.add_format({"bold": False, "bg_color": "#F2F2F2", "border": 1})
    lists = _lists(frames, lang)
    hidden_name = list_sheet(lang)
    assert sheet_table(hidden_name) is None  # never read as a table
    ranges: dict[tuple[str, str], str] = {}  # (table, column) -> its list's range
    for j, (_title, values, users) in enumerate(lists):
        letter = column_letter(j)
        source = f"='{hidden_name}'!${letter}$2:${letter}${max(len(values), 1) + 1}"
        ranges.update(dict.fromkeys(users, source))
    for table in TABLES:
        if table.name not in frames:
            continue
        sheet = book.add_worksheet(sheet_name(table.name, lang))
        _fill_sheet(sheet, table, frames[table.name], (head, optional_head), ranges, lang)
    _fill_lists(book.add_worksheet(hidden_name), lists, head, lang)


def _fill_sheet(
    sheet: Any,
    table: Table,
    frame: pd.DataFrame,
    heads: tuple[Any, Any],
    ranges: dict[tuple[str, str], str],
    lang: str,
) -> None:
    """One table's sheet: its rows, then the header with notes and data validations
    (``heads``: the formats of a required and an optional column's header)."""
    spec = {c.name: c for c in table.columns}
    columns = [c.name for c in table.columns if c.name in frame.columns]
    columns += [str(c) for c in frame.columns if str(c) not in spec]
    widths = _write_rows(sheet, table.name, frame, columns, spec, lang)
    head, optional_head = heads
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


def _write_rows(
    sheet: Any,
    table: str,
    frame: pd.DataFrame,
    columns: list[str],
    spec: Mapping[str, Column],
    lang: str,
) -> list[int]:
    """The frame's rows written below the header; returns each column's width (of its
    header and its first :data:`_WIDTH_SAMPLE` cells)."""
    widths = [_width(header_name(c, lang) if c in spec else c) for c in columns]
    for i, row in enumerate(_rows(frame, columns), start=1):
        for j, value in enumerate(row):
            col = columns[j]
            kind = spec[col].kind if col in spec else None
            cell = _cell(table, col, kind, value, lang)
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
    return widths


def _fill_lists(hidden: Any, lists: list[_List], head: Any, lang: str) -> None:
    """The hidden sheet of the drop-down lists: a column per list, titled."""
    _ = translator(lang)
    for j, (title, values, _users) in enumerate(lists):
        hidden.write_string(0, j, title, head)
        for i, value in enumerate(values, start=1):
            hidden.write_string(i, j, value)
        hidden.set_column(j, j, min(max(_width(title), *(_width(v) for v in values), 8), 40))
    hidden.write_comment(0, 0, _("The drop-down lists of the other sheets (kept hidden)."))
    hidden.hide()


def _validate(
    sheet: Any,
    table: Table,
    col: Column,
    j: int,
    ranges: dict[tuple[str, str], str],
    lang: str,
) -> None:
    """The column's data validation, on every row below the header; its messages in
    ``lang``."""
    _ = translator(lang)
    words = VALUES.get((table.name, col.name))
    options: dict[str, Any]
    if words is not None:
        options = {"validate": "list", "source": ranges[(table.name, col.name)]}
        if col.kind is Kind.LIST:
            options["show_error"] = False  # a drop-down to pick one; several may be typed
        elif col.kind is not Kind.ENUM:
            options["error_type"] = "warning"  # a category outside the list is kept
            options["error_message"] = _("Other values may be typed.")
    elif col.name == _DISTRICT:
        options = {
            "validate": "list",
            "source": ranges[(table.name, col.name)],
            "error_type": "warning",
            "error_message": _("Other values may be typed."),
        }
    elif col.kind in (Kind.INT, Kind.FLOAT) and (col.lo is not None or col.hi is not None):
        validate = "integer" if col.kind is Kind.INT else "decimal"
        options = {"validate": validate, "error_title": _("Out of range")}
        if col.lo is not None and col.hi is not None:
            options.update(criteria="between", minimum=col.lo, maximum=col.hi)
        elif col.lo is not None:
            options.update(criteria=">" if col.lo_open else ">=", value=col.lo)
        else:
            options.update(criteria="<=", value=col.hi)
        # the type and range, as the error shown for a number outside it (Excel allows
        # at most 255 characters)
        options["error_message"] = _kind_text(col, _)[:255]
    else:
        return
    sheet.data_validation(1, j, EXCEL_LAST_ROW, j, options)
