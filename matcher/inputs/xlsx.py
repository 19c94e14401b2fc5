"""Reading an Excel workbook (``.xlsx``) as a dataset: one sheet per table.

Sheets and columns may be named in English (the spec's names) or in Chinese, and coded
cells (unit kinds and levels, resource kinds, categories and skills) may hold Chinese
words: :mod:`matcher.inputs.aliases` lists them all. Each sheet becomes the same
:class:`~matcher.inputs.io.RawTable` a CSV file gives, every cell as text, so validation is
the CSV's, and a workbook gives the same ``Dataset`` as the CSV folder with the same
values.

Cells are read by calamine (``python-calamine``): formulas give their cached values,
dates come as dates. Cells are turned into the text a CSV would hold: a number that is
whole as ``"7"``, others as the shortest text that reads back as the same float, a date
as ``2024-03-01``. In number and coded columns, full-width characters (``１２``,
``；``, ``（）``) are read as their ASCII forms.

Before calamine sees the file, it is held to :class:`~matcher.inputs.io.ReadLimits`: the bytes
its parts unpack to are counted as they are decompressed (never trusting the zip's
headers) against ``max_file_bytes``, and each sheet's cell references are scanned so
that a sheet claiming a far corner cell (calamine would allocate rows x columns cells)
is refused before it is read: its used range may hold at most one cell per 4 bytes of
its XML (or 262,144), and ``max_file_bytes / 16``. A sheet's width is held to
``max_columns`` and each cell to ``max_line_bytes``.

Errors name the sheet, the row and the column as Excel shows them
(``需求 sheet, row 7, column F 优先级``).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matcher.errors import ValidationIssue
from matcher.i18n import N_, Text
from matcher.inputs.aliases import (
    COLUMNS,
    LIST_SEPARATORS,
    SHEETS,
    column_lookup,
    fold,
    sheet_table,
    value_lookup,
)
from matcher.inputs.io import RawTable, ReadLimits
from matcher.inputs.schema import TABLES, TABLES_BY_NAME, Kind, Table
from matcher.inputs.zipread import MAX_ENTRIES, UNZIP_ERRORS, inflate, listing_too_long

if TYPE_CHECKING:
    from python_calamine import CalamineWorkbook

__all__ = [
    "CELL_BYTES",
    "EXCEL_ROWS",
    "MIN_RANGE_CELLS",
    "SUFFIX",
    "XML_PER_CELL",
    "SheetPlace",
    "Workbook",
    "column_letter",
    "is_workbook",
    "read_workbook",
    "write_workbook",
]

SUFFIX = ".xlsx"
EXCEL_ROWS = 1_048_576
CELL_BYTES = 16  # what calamine holds per cell of a sheet's used range, at the least
# calamine holds a sheet's whole used range, empty cells too: a range may hold a cell
# per XML_PER_CELL bytes of the sheet's XML (a used cell takes 20 or more, its row's
# markup too: room for a table four fifths empty), or MIN_RANGE_CELLS. A stray cell at
# XFD1048576 would otherwise cost billions of cells for a few bytes.
XML_PER_CELL = 4
MIN_RANGE_CELLS = 1 << 18
_HEADER_SEARCH = 20  # rows looked at for the header (titles may sit above it)
# A cell's reference in a sheet's XML: r="AB12" (row elements have r="12", no letters).
_REF = re.compile(rb'\sr="([A-Z]{1,4})([0-9]{1,8})"')
_SAVE_XLSX = N_("save it as an Excel Workbook (.xlsx)")
# Whole numbers up to this print as integers exactly (float64 holds them all).
_EXACT = 2**53


def is_workbook(path: Path) -> bool:
    """Whether ``path`` names a workbook file (by its suffix)."""
    return path.suffix.lower() in (SUFFIX, ".xlsm", ".xls", ".ods", ".xlsb")


def column_letter(index: int) -> str:
    """Excel's letters of a 0-based column index (0 is ``A``, 26 is ``AA``)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _column_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


@dataclass
class SheetPlace:
    """Where a table's cells are in the workbook, for naming them in errors."""

    sheet: str
    header_row: int
    letters: dict[str, str] = field(default_factory=dict)  # column name -> letter
    headers: dict[str, str] = field(default_factory=dict)  # column name -> as written


@dataclass
class Workbook:
    """A workbook as read: its tables, what stopped some being read, and where each
    table's cells are."""

    file: str
    raws: dict[str, RawTable] = field(default_factory=dict)
    issues: list[ValidationIssue] = field(default_factory=list)
    unread: set[str] = field(default_factory=set)
    places: dict[str, SheetPlace] = field(default_factory=dict)  # by RawTable.file

    def locate(self, issue: ValidationIssue) -> ValidationIssue:
        """The issue named as Excel shows it: the sheet, row and column letter (the
        validator names the header row 1 whatever row it is on)."""
        place = self.places.get(issue.file)
        if place is None:
            return issue
        row = place.header_row if issue.row == 1 else issue.row
        col = issue.column
        return replace(
            issue,
            file=self.file,
            row=row,
            sheet=place.sheet,
            letter=place.letters.get(col) if col else None,
            header=place.headers.get(col) if col else None,
        )


def _issue(
    file: str, what: str, sheet: str | None = None, row: int | None = None
) -> ValidationIssue:
    return ValidationIssue(file, row, None, None, what, sheet=sheet)


@dataclass
class _Parts:
    """What the scan of a workbook's parts found besides limits: formula error cells
    (calamine reads them as empty cells) by part, and the small parts naming sheets."""

    errors: dict[str, set[tuple[int, int]]] = field(default_factory=dict)
    small: dict[str, bytes] = field(default_factory=dict)

    def sheet_errors(self) -> dict[str, set[tuple[int, int]]]:
        """The error cells (row, 0-based column) by sheet name."""
        if not self.errors:
            return {}
        try:
            import xml.etree.ElementTree as ET

            book = ET.fromstring(self.small["xl/workbook.xml"])
            rels = ET.fromstring(self.small["xl/_rels/workbook.xml.rels"])
        except (KeyError, ET.ParseError):
            return {}
        target = {
            r.get("Id"): "xl/" + (r.get("Target") or "").lstrip("/").removeprefix("xl/")
            for r in rels
        }
        found: dict[str, set[tuple[int, int]]] = {}
        for sheet in book.iter():
            if not sheet.tag.endswith("}sheet"):
                continue
            rid = next((v for k, v in sheet.attrib.items() if k.endswith("}id")), None)
            part = target.get(rid)
            if part in self.errors:
                found[sheet.get("name") or ""] = self.errors[part]
        return found


_ERROR_CELL = re.compile(rb'<(?:\w+:)?c\s[^>]*?t="e"[^>]*>')
_NAMING_PARTS = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")


def _too_many_parts() -> Text:
    return Text(N_("a workbook of at most {most:,} parts"), most=MAX_ENTRIES)


def _parts_too_large(limits: ReadLimits) -> Text:
    return Text(
        N_("a workbook whose parts unpack to at most {most:,} bytes; this one's are larger"),
        most=limits.max_file_bytes,
    )


def _range_too_large(rows: int, cols: int, budget: int) -> Text:
    return Text(
        N_(
            "sheets whose used range (A1 to the last cell used) is not "
            "mostly empty; one reaches cell {cell} ({rows:,} rows x "
            "{cols:,} columns), more than the {budget:,} cells its size "
            "allows (delete the stray cells far from the table)"
        ),
        cell=f"{column_letter(cols - 1)}{rows}",
        rows=rows,
        cols=cols,
        budget=budget,
    )


def _check_zip(path: Path, file: str, limits: ReadLimits, parts: _Parts) -> ValidationIssue | None:
    """The workbook's parts unpacked and counted, within ``limits``, before calamine
    reads them; each sheet's cell references scanned for the far corner of its range
    and for formula error cells (into ``parts``)."""
    try:
        with path.open("rb") as fp:
            if listing_too_long(fp) is not None:
                return _issue(file, _too_many_parts())
            archive = zipfile.ZipFile(fp)
            members = [i for i in archive.infolist() if not i.is_dir()]
            if len(members) > MAX_ENTRIES:
                return _issue(file, _too_many_parts())
            total = 0
            for info in members:
                total, problem = _scan_part(fp, info, total, limits, parts)
                if problem is not None:
                    return _issue(file, problem)
    except (*UNZIP_ERRORS, KeyError):
        return _issue(
            file,
            Text(
                N_("an Excel workbook (.xlsx); this file is not a readable one ({fix})"),
                fix=Text(_SAVE_XLSX),
            ),
        )
    return None


def _scan_part(
    fp: IO[bytes], info: zipfile.ZipInfo, total: int, limits: ReadLimits, parts: _Parts
) -> tuple[int, Text | None]:
    """One part unpacked: the bytes of the parts so far (``total`` and this one's) held to
    ``limits`` as they come, a sheet's references scanned, a naming part kept (into
    ``parts``). Returns the new total and what is wrong, if anything."""
    name = info.filename
    sheet = name.startswith("xl/worksheets/") and name.endswith(".xml")
    keep = name in _NAMING_PARTS
    kept = bytearray()
    rows = cols = size = 0
    tail = b""
    for piece, _ in inflate(fp, info):
        total += len(piece)
        size += len(piece)
        if total > limits.max_file_bytes:
            return total, _parts_too_large(limits)
        if keep:
            kept += piece
        if not sheet:
            continue
        # A reference or tag cut by the piece's end is found with the next one.
        text = tail + piece
        tail = text[-256:]
        last_row, last_col = _scan_refs(text, name, parts)
        rows, cols = max(rows, last_row), max(cols, last_col)
    if keep:
        parts.small[name] = bytes(kept)
    budget = min(
        limits.max_file_bytes // CELL_BYTES,
        max(size // XML_PER_CELL, MIN_RANGE_CELLS),  # bytes seen, not claimed
    )
    if sheet and cols * rows > budget:
        return total, _range_too_large(rows, cols, budget)
    return total, None


def _scan_refs(text: bytes, name: str, parts: _Parts) -> tuple[int, int]:
    """The last row and (1-based) column that a piece of sheet ``name``'s XML refers to
    (0 if none), its formula error cells added to ``parts``."""
    rows = cols = 0
    found = _REF.findall(text)
    if found:
        cols = max(_column_index(c) for c in {c for c, _ in found})
        rows = max(int(r) for r in {r for _, r in found})
    if b't="e"' in text:
        for tag in _ERROR_CELL.findall(text):
            ref = _REF.search(tag)
            if ref is not None:
                cell = (int(ref[2]), _column_index(ref[1]) - 1)
                parts.errors.setdefault(name, set()).add(cell)
    return rows, cols


def _number_text(v: float) -> str:
    if v != v or v in (float("inf"), float("-inf")):
        return ""
    if v.is_integer() and abs(v) < _EXACT:
        return str(int(v))
    return repr(v)


def _cell_text(v: Any) -> str:
    """A cell's value as the text a CSV would hold."""
    kind = type(v)
    if kind is str:
        return str(v)
    if kind is float:
        return _number_text(v)
    if kind is int:
        return str(v)
    if kind is bool:
        return "true" if v else "false"
    if kind is dt.datetime:
        stamp: dt.datetime = v
        if stamp.time() == dt.time(0):
            return stamp.date().isoformat()
        return stamp.isoformat(sep=" ")
    if isinstance(v, dt.date | dt.time):
        return v.isoformat()
    if v is None:
        return ""
    return str(v)


def _texts(cells: list[Any]) -> list[str]:
    """Cells as text; most cells are text or floats already, handled without a call."""
    out: list[str] = []
    append = out.append
    for v in cells:
        if type(v) is str:
            append(v)
        elif type(v) is float and v.is_integer() and abs(v) < _EXACT:
            append(str(int(v)))
        else:
            append(_cell_text(v))
    return out


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _per_value(cells: pa.Array, convert: Callable[[str], str]) -> pa.Array:
    """``convert`` applied to each distinct value of a column (few, in coded columns)."""
    encoded = pc.dictionary_encode(cells)
    words = [convert(w) for w in encoded.dictionary.to_pylist()]
    return pc.take(pa.array(words, type=pa.string()), encoded.indices)


def _convert(table: str, column: str, kind: Kind) -> Callable[[str], str] | None:
    """How a coded, list or number column's cells are read: full width folded, and
    the Chinese words of the alias table turned into codes."""
    words = value_lookup(table, column)
    if kind is Kind.LIST:
        split = re.compile("|".join(re.escape(s) for s in LIST_SEPARATORS))
        lookup = words or {}

        def as_list(cell: str) -> str:
            parts = [p.strip() for p in split.split(cell)]
            return ";".join(lookup.get(fold(p), _nfkc(p).strip()) for p in parts)

        return as_list
    if words is not None:
        lookup = words

        def as_code(cell: str) -> str:
            return lookup.get(fold(cell), cell)

        return as_code
    if kind in (Kind.INT, Kind.FLOAT):
        return _nfkc
    return None


def _header_row(rows: list[list[Any]], known: Mapping[str, str]) -> int:
    """The 0-based index of the header: the first row naming a column of the table
    (title rows may sit above it), else the first row holding anything."""
    first = None
    for i, row in enumerate(rows[:_HEADER_SEARCH]):
        names = [fold(_cell_text(v)) for v in row]
        if any(n in known for n in names if n):
            return i
        if first is None and any(names):
            first = i
    return first or 0


def _merged_header(sheet: Any, header: int, width: int) -> tuple[int, int] | None:
    """The first and last 0-based column of a header cell merged across columns, if any
    (a merged title above the header is fine: the header row is what counts)."""
    try:
        merged = sheet.merged_cell_ranges or []
    except Exception:  # calamine reads merges for .xlsx only; elsewhere nothing to check
        return None
    for (r0, c0), (r1, c1) in merged:
        if r0 <= header <= r1 and c1 > c0 and c0 < width:
            return int(c0), int(c1)
    return None


def _read_sheet(
    book: Workbook,
    sheet: Any,
    sheet_name: str,
    table: str,
    limits: ReadLimits,
    errors: set[tuple[int, int]],
) -> RawTable | None:
    """One sheet as a ``RawTable`` of text cells named by English column names; ``None``
    (with the reason in ``book.issues``) if it cannot be read."""
    rows: list[list[Any]] = sheet.to_python(skip_empty_area=False)
    width = max((len(r) for r in rows[:1]), default=0)
    if width > limits.max_columns:
        book.issues.append(_too_wide(book.file, sheet_name, width, limits))
        return None
    known = column_lookup(table)
    h = _header_row(rows, known)
    place = SheetPlace(sheet_name, h + 1)
    header = [_cell_text(v).strip() for v in rows[h]] if rows else []
    merged = _merged_header(sheet, h, len(header))
    if merged is not None:
        book.issues.append(_merged_issue(book.file, sheet_name, h + 1, merged))
        return None
    names = _column_names(header, known, place)
    wrong = _formula_errors(book.file, place, errors, names, header)
    if wrong:
        book.issues.extend(wrong)
        return None
    body = rows[h + 1 :]
    columns = _sheet_columns(book, place, table, limits, body, names, header)
    if columns is None:
        return None
    numbers = np.arange(h + 2, h + 2 + len(body), dtype=np.int64)
    columns, numbers = _drop_blank_rows(columns, numbers)
    label = f"{sheet_name} sheet"
    book.places[label] = place
    return RawTable(label, tuple(names), tuple(columns), numbers)


def _too_wide(file: str, sheet_name: str, width: int, limits: ReadLimits) -> ValidationIssue:
    return _issue(
        file,
        Text(
            N_("at most {most:,} columns; the sheet has {n:,}"),
            most=limits.max_columns,
            n=width,
        ),
        sheet_name,
        1,
    )


def _merged_issue(file: str, sheet_name: str, row: int, merged: tuple[int, int]) -> ValidationIssue:
    """The header cells merged across columns ``merged`` on (1-based) ``row``."""
    span = f"{column_letter(merged[0])}{row}:{column_letter(merged[1])}{row}"
    return ValidationIssue(
        file,
        row,
        None,
        span,
        Text(
            N_(
                "one header cell per column, each naming its column; these cells are "
                "merged (unmerge them and name each column)"
            )
        ),
        sheet=sheet_name,
    )


def _column_names(header: list[str], known: Mapping[str, str], place: SheetPlace) -> list[str]:
    """The English name of each header cell (a blank one ``Unnamed: i``); the letter and
    the header as written of each known column noted in ``place``."""
    names: list[str] = []
    for i, text in enumerate(header):
        name = known.get(fold(text), text) if text else f"Unnamed: {i}"
        names.append(name)
        if name in known.values() and name not in place.letters:
            place.letters[name] = column_letter(i)
            place.headers[name] = text
    return names


def _formula_errors(
    file: str,
    place: SheetPlace,
    errors: set[tuple[int, int]],
    names: list[str],
    header: list[str],
) -> list[ValidationIssue]:
    """One issue per formula error cell below the header, in a named column."""
    wrong = sorted((r, c) for r, c in errors if r > place.header_row and c < len(names))
    return [
        ValidationIssue(
            file,
            r,
            names[c],
            None,
            Text(
                N_(
                    "a value Excel could compute; this cell holds a formula error "
                    "(#DIV/0!, #N/A, #VALUE! ...)"
                )
            ),
            sheet=place.sheet,
            letter=column_letter(c),
            header=header[c],
        )
        for r, c in wrong
    ]


def _sheet_columns(
    book: Workbook,
    place: SheetPlace,
    table: str,
    limits: ReadLimits,
    body: list[list[Any]],
    names: list[str],
    header: list[str],
) -> list[pa.Array] | None:
    """The rows below the header as one Arrow text column per name, coded cells turned
    into codes; ``None`` (with an issue in ``book``) if a cell is past the size limit."""
    columns: list[pa.Array] = []
    kinds = {c.name: c.kind for c in TABLES_BY_NAME[table].columns}
    for i, name in enumerate(names):
        cells = _texts([r[i] if i < len(r) else "" for r in body])
        array = pa.array(cells, type=pa.string())
        too_long = np.flatnonzero(
            np.asarray(pc.binary_length(array).to_numpy(zero_copy_only=False))
            > limits.max_line_bytes
        )
        if len(too_long):
            book.issues.append(
                ValidationIssue(
                    book.file,
                    place.header_row + 1 + int(too_long[0]),
                    name,
                    None,
                    Text(
                        N_("a cell of at most {most:,} bytes; this one is longer"),
                        most=limits.max_line_bytes,
                    ),
                    sheet=place.sheet,
                    letter=column_letter(i),
                    header=header[i],
                )
            )
            return None
        convert = _convert(table, name, kinds[name]) if name in kinds else None
        if convert is not None and body:
            array = _per_value(array, convert)
        columns.append(array)
    return columns


def _drop_blank_rows(
    columns: list[pa.Array], numbers: npt.NDArray[np.int64]
) -> tuple[list[pa.Array], npt.NDArray[np.int64]]:
    """The columns without the rows whose every cell is blank, and the row numbers kept."""
    if not len(numbers) or not columns:
        return columns, numbers
    blank = pc.equal(pc.utf8_trim_whitespace(columns[0]), "")
    for column in columns[1:]:
        blank = pc.and_(blank, pc.equal(pc.utf8_trim_whitespace(column), ""))
    if not pc.any(blank).as_py():
        return columns, numbers
    keep = pc.invert(blank)
    kept = np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)
    return [c.filter(keep) for c in columns], numbers[kept]


def read_workbook(path: Path, limits: ReadLimits | None = None) -> Workbook:
    """Read a workbook's sheets as tables, within ``limits``.

    A sheet holds the table its name names (:data:`matcher.inputs.aliases.SHEETS`); other
    sheets are ignored. What stops a sheet being read is in ``issues``, the table in
    ``unread``; a required table without a sheet is reported here too.
    """
    limits = limits or ReadLimits()
    book = Workbook(path.name)
    parts = _Parts()
    problem = _file_problem(path, book.file, limits, parts)
    wb = _open(path, book.file) if problem is None else problem
    if isinstance(wb, ValidationIssue):
        book.issues.append(wb)
        book.unread.update(t.name for t in TABLES)
        return book
    errors = parts.sheet_errors()
    sheets: dict[str, list[str]] = {}
    for name in wb.sheet_names:
        held = sheet_table(name)
        if held is not None:
            sheets.setdefault(held, []).append(name)
    for table in TABLES:
        _read_table(book, wb, table, sheets.get(table.name, []), limits, errors)
    wb.close()
    return book


def _file_problem(
    path: Path, file: str, limits: ReadLimits, parts: _Parts
) -> ValidationIssue | None:
    """Why the file is not read at all, if it is not: not an .xlsx, unreadable, or past
    ``limits`` (its parts unpacked and scanned into ``parts`` to tell)."""
    if path.suffix.lower() != SUFFIX:
        return _issue(
            file,
            Text(
                N_("an Excel workbook in the .xlsx format; this is a {suffix} file ({fix})"),
                suffix=path.suffix,
                fix=Text(_SAVE_XLSX),
            ),
        )
    try:
        size = path.stat().st_size
    except OSError as exc:
        return _issue(file, Text(N_("a readable file ({reason})"), reason=str(exc.strerror)))
    if size > limits.max_file_bytes:
        return limits.too_large(file)
    return _check_zip(path, file, limits, parts)


def _open(path: Path, file: str) -> CalamineWorkbook | ValidationIssue:
    """The workbook opened by calamine, or why it cannot be."""
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        return CalamineWorkbook.from_path(str(path))
    except (CalamineError, OSError, ValueError) as exc:
        detail = str(exc).replace(str(path), file)
        return _issue(
            file,
            Text(N_("an Excel workbook (.xlsx) calamine can read ({detail})"), detail=detail),
        )


def _read_table(
    book: Workbook,
    wb: CalamineWorkbook,
    table: Table,
    found: list[str],
    limits: ReadLimits,
    errors: Mapping[str, set[tuple[int, int]]],
) -> None:
    """The sheet holding ``table`` (of the sheets ``found`` naming it) read into ``book``;
    or why not, in ``book.issues``, and the table in ``book.unread``."""
    if len(found) > 1:
        book.unread.add(table.name)
        book.issues.append(
            _issue(
                book.file,
                Text(
                    N_("one sheet per table; sheets {sheets} all hold the {table} table, keep one"),
                    sheets=", ".join(found),
                    table=table.name,
                ),
            )
        )
    elif not found:
        if table.required:
            book.unread.add(table.name)
            book.issues.append(_issue(book.file, _no_sheet(table, wb.sheet_names)))
    else:
        raw = _read_named_sheet(book, wb, found[0], table.name, limits, errors)
        if raw is None:
            book.unread.add(table.name)
        else:
            book.raws[table.name] = raw


def _no_sheet(table: Table, sheet_names: list[str]) -> Text:
    return Text(
        N_(
            "a sheet named '{table}' or '{sheet}' (the {table} table, which "
            "every dataset needs); the sheets are {sheets}"
        ),
        table=table.name,
        sheet=SHEETS[table.name][0],
        sheets=", ".join(sheet_names) or Text(N_("none")),
    )


def _read_named_sheet(
    book: Workbook,
    wb: CalamineWorkbook,
    name: str,
    table: str,
    limits: ReadLimits,
    errors: Mapping[str, set[tuple[int, int]]],
) -> RawTable | None:
    """The sheet ``name`` read as ``table``; ``None`` (with an issue) if it is not."""
    from python_calamine import CalamineError

    try:
        sheet = wb.get_sheet_by_name(name)
        bad = errors.get(name, set())
        return _read_sheet(book, sheet, name, table, limits, bad)
    except CalamineError as exc:
        book.issues.append(
            _issue(
                book.file,
                Text(N_("a sheet calamine can read ({detail})"), detail=str(exc)),
                name,
            )
        )
        return None


def write_workbook(
    tables: Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    chinese: bool = False,
) -> Path:
    """Write tables as a workbook, one sheet per table (with ``xlsxwriter``).

    With ``chinese``, sheets and headers get their first Chinese name from
    :mod:`matcher.inputs.aliases` (values are written as they are).
    """
    import xlsxwriter  # type: ignore[import-untyped]

    out = Path(path)
    book = xlsxwriter.Workbook(str(out), {"constant_memory": True, "nan_inf_to_errors": True})
    try:
        for name in [t.name for t in TABLES if t.name in tables]:
            frame = tables[name]
            sheet = book.add_worksheet(SHEETS[name][0] if chinese else name)
            header = [
                COLUMNS[str(c)][0] if chinese and str(c) in COLUMNS else str(c)
                for c in frame.columns
            ]
            sheet.write_row(0, 0, header)
            for i, row in enumerate(frame.itertuples(index=False, name=None), start=1):
                # Missing values (NaN, None, pd.NA, "") are left as cells never written.
                for j, v in enumerate(row):
                    if v is None or v is pd.NA or v == "" or (isinstance(v, float) and v != v):
                        continue
                    if isinstance(v, np.generic):
                        v = v.item()
                    if isinstance(v, str):
                        # Never as a formula or a number: a dataset's text stays text.
                        sheet.write_string(i, j, v)
                    else:
                        sheet.write(i, j, v)
    finally:
        book.close()
    return out
