"""Reading a dataset's files into frames of text, and writing tables back.

Every cell is read as text so that validation, not the reader, decides what a bad value
is, and can name the file, row and column it came from. A ``RawTable`` remembers which
spreadsheet row each of its rows came from, so that blank lines do not shift the rows
that errors name.

CSV is parsed by Arrow's multi-threaded reader (a 400,000-row file in a fraction of a
second); a file that reader refuses (a row with too many or too few fields, a header
without data and no line end ...) is parsed again by Python's ``csv`` module, which can
say which rows are wrong.

Before anything is parsed, a file is held to :class:`ReadLimits` (its size, its
header's number of columns, every line's length), checked by :class:`LineCheck` in
one linear pass that needs no more memory than a chunk and the header line: a hostile
file costs milliseconds, not the parser's time and memory.
"""

from __future__ import annotations

import csv
import gc
import io
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from matcher.csvsafe import neutralise_formulas
from matcher.errors import ValidationIssue
from matcher.i18n import N_, Text
from matcher.inputs.schema import TABLE_NAMES

__all__ = [
    "SUFFIXES",
    "LineCheck",
    "RawTable",
    "ReadLimits",
    "check_csv_bytes",
    "find_table_files",
    "frame_csv_text",
    "frame_to_raw",
    "is_missing",
    "near_names",
    "plain_value",
    "read_file",
    "write_frame_csv",
    "write_tables",
]

SUFFIXES = (".csv", ".parquet")
_SHOW = 80  # characters of a bad row shown in a message
_RESAVE = N_("save it as 'CSV UTF-8' (in Excel: Save As, then 'CSV UTF-8 (Comma delimited)')")


def is_missing(value: object) -> bool:
    """Whether a table cell holds no value: ``None``, ``pd.NA``, ``pd.NaT`` or a float NaN
    (NumPy's ``float64`` included). The one test for it; an empty string is a value here.

    >>> [is_missing(v) for v in (None, pd.NA, float("nan"), np.float64("nan"), 0.0, "")]
    [True, True, True, True, False, False]
    """
    return (
        value is None
        or value is pd.NA
        or value is pd.NaT
        or (isinstance(value, float) and math.isnan(value))
    )


def plain_value(value: object) -> object:
    """A table cell as a plain Python value for JSON: NumPy scalars as Python numbers,
    a missing cell (:func:`is_missing`) as ``None``, anything else as it is.

    >>> plain_value(np.int64(3)), plain_value(np.float64("nan")), plain_value(pd.NA)
    (3, None, None)
    """
    if hasattr(value, "item"):
        value = value.item()
    return None if is_missing(value) else value


@dataclass(frozen=True)
class RawTable:
    """A table as read: every cell text, and each row's spreadsheet row number.

    Attributes
    ----------
    file
        The file name shown in errors (``"cadres.csv"``).
    names
        The header's column names, stripped (they may repeat; validation reports that).
    columns
        One Arrow string array per name, an empty string for an empty cell.
    rows
        For each row, its row number as a spreadsheet shows it (header = 1).
    """

    file: str
    names: tuple[str, ...]
    columns: tuple[pa.Array, ...]
    rows: npt.NDArray[np.int64]

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def frame(self) -> pd.DataFrame:
        """The cells as a frame of text (for inspection; validation uses ``columns``)."""
        frame = pd.DataFrame({i: c.to_pandas() for i, c in enumerate(self.columns)})
        frame.columns = pd.Index(self.names)
        return frame


def _show(text: str) -> str:
    return text if len(text) <= _SHOW else text[: _SHOW - 3] + "..."


@dataclass(frozen=True)
class ReadLimits:
    """What one table file may hold, checked before it is parsed.

    The defaults are generous for a folder on one's own disk (a city's largest table is
    tens of megabytes, a dozen columns, lines of about a hundred bytes); the service
    passes its own, tighter settings.

    Attributes
    ----------
    max_file_bytes
        Bytes of one file (CSV), of its cells once decoded (Parquet), or of a workbook's
        parts once unpacked (``.xlsx``, :mod:`matcher.inputs.xlsx`; a sheet's used range is
        held to a sixteenth of it in cells).
    max_columns
        Columns of a table: names on a CSV header line, fields of a Parquet schema, or
        the width of a workbook's sheet.
    max_line_bytes
        Bytes of one line of a CSV file, line end excluded, or of one workbook cell.
    """

    max_file_bytes: int = 2 * 1024**3
    max_columns: int = 16_384  # a spreadsheet's width
    max_line_bytes: int = 16 * 1024**2

    def __post_init__(self) -> None:
        for name in ("max_file_bytes", "max_columns", "max_line_bytes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    def too_large(self, file: str, decoded: bool = False) -> ValidationIssue:
        """The issue of a file past ``max_file_bytes``."""
        what = (
            N_("cells that take at most {most:,} bytes; this one is larger")
            if decoded
            else N_("a file of at most {most:,} bytes; this one is larger")
        )
        return ValidationIssue.of_file(file, Text(what, most=self.max_file_bytes))

    def too_wide(self, file: str, columns: int) -> ValidationIssue:
        """The issue of a table past ``max_columns``."""
        return ValidationIssue(
            file,
            1,
            None,
            None,
            Text(
                N_("at most {most:,} columns; the header has {n:,}"),
                most=self.max_columns,
                n=columns,
            ),
        )


def _header_columns(line: bytes) -> int:
    """How many names a header line holds (quotes respected)."""
    text = line.decode("utf-8-sig", errors="replace")
    if '"' not in text:
        return text.count(",") + 1
    return len(next(csv.reader([text]), []))


class LineCheck:
    """Checks a CSV file's bytes as they arrive, before any parsing: every line at most
    ``max_line_bytes`` long, and a header line of at most ``max_columns`` names.

    Feed it the file in chunks of any size; the first chunk that breaks a limit returns
    the issue (the line is counted as the file's lines, ``\n``, ``\r\n`` or ``\r``
    ended, which is the spreadsheet row unless a quoted value spans lines). Time is
    linear in the bytes (numpy finds each chunk's line ends) and memory is one chunk's
    masks plus the header line, so a refused file is refused after the line at fault.
    """

    def __init__(self, file: str, limits: ReadLimits) -> None:
        self.file = file
        self.limits = limits
        self.line = 1  # the line being read, 1 = the header
        self.length = 0  # its bytes so far
        self.header = bytearray()
        self.header_done = False
        self.after_cr = False  # the last chunk ended in \r: a \n first is part of it

    def _too_long(self, line: int) -> ValidationIssue:
        what = (
            N_("lines of at most {most:,} bytes; the header line is longer")
            if line == 1
            else N_("lines of at most {most:,} bytes; line {line:,} is longer")
        )
        return ValidationIssue(
            self.file, line, None, None, Text(what, most=self.limits.max_line_bytes, line=line)
        )

    def _header(self) -> ValidationIssue | None:
        self.header_done = True
        columns = _header_columns(bytes(self.header))
        self.header = bytearray()
        if columns > self.limits.max_columns:
            return self.limits.too_wide(self.file, columns)
        return None

    def _end_line(self, length: int) -> ValidationIssue | None:
        """The line being read ended (its length without the line end)."""
        if length > self.limits.max_line_bytes:
            return self._too_long(self.line)
        if not self.header_done:
            issue = self._header()
            if issue is not None:
                return issue
        self.line += 1
        self.length = 0
        return None

    def feed(self, chunk: bytes | memoryview) -> ValidationIssue | None:
        """Check the next chunk of the file; the issue if it breaks a limit."""
        arr = np.frombuffer(chunk, dtype=np.uint8)
        n = len(arr)
        if not n:
            return None
        cap = self.limits.max_line_bytes
        if self.after_cr and arr[0] != 10:
            # The last chunk's final \r ended a line on its own (not a \r\n).
            self.after_cr = False
            issue = self._end_line(self.length - 1)
            if issue is not None:
                return issue
        data = chunk if isinstance(chunk, bytes) else chunk.tobytes()
        crlf: npt.NDArray[np.int64] | None = None  # per line end: 1 if its \r is not the line's
        if self.after_cr or data.find(b"\r") >= 0:
            lf = arr == 10
            cr = arr == 13
            # A line ends at \n, or at a \r not followed by \n; a \r closing the
            # chunk waits for the next one.
            next_lf = np.ones(n, dtype=bool)
            next_lf[:-1] = lf[1:]
            pos = np.flatnonzero(lf | (cr & ~next_lf))
            before = np.zeros(n, dtype=bool)
            before[1:] = cr[:-1]
            before[0] = self.after_cr
            crlf = (lf & before)[pos].astype(np.int64)
            self.after_cr = bool(cr[-1])
        else:  # the usual file: \n endings only, one pass
            pos = np.flatnonzero(arr == 10)
        if not self.header_done:
            stop = int(pos[0]) if len(pos) else n
            room = cap + 2 - len(self.header)
            self.header += arr[: max(min(stop, room), 0)].tobytes()
        if not len(pos):
            self.length += n
            return self._too_long(self.line) if self.length - self.after_cr > cap else None
        issue = self._end_line(self.length + int(pos[0]) - int(crlf[0] if crlf is not None else 0))
        if issue is not None:
            return issue
        if len(pos) > 1:
            lengths = np.diff(pos) - 1
            if crlf is not None:
                lengths -= crlf[1:]
            over = np.flatnonzero(lengths > cap)
            if len(over):
                return self._too_long(self.line + int(over[0]))
            self.line += len(pos) - 1
        self.length = n - int(pos[-1]) - 1
        return self._too_long(self.line) if self.length - self.after_cr > cap else None

    def close(self) -> ValidationIssue | None:
        """The issue of a header line that never ended (a one-line file), if any."""
        return None if self.header_done else self._header()


def check_csv_bytes(
    data: bytes | memoryview, file: str, limits: ReadLimits
) -> ValidationIssue | None:
    """:class:`LineCheck` over a whole file in memory, in slices (bounded masks)."""
    check = LineCheck(file, limits)
    step = 1 << 24
    for start in range(0, len(data), step):
        issue = check.feed(bytes(data[start : start + step]))
        if issue is not None:
            return issue
    return check.close()


def _decode(data: bytes, file: str) -> tuple[str | None, ValidationIssue | None]:
    """The file's text (a UTF-8 BOM dropped), or the issue saying why it is not UTF-8."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return None, ValidationIssue.of_file(
            file,
            Text(
                N_("the file is UTF-16 ('Unicode text'), not UTF-8 text; {fix}"),
                fix=Text(_RESAVE),
            ),
        )
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        stop = data.find(b"\n", exc.end)
        line = data[start : stop if stop >= 0 else len(data)].rstrip(b"\r")
        row = data.count(b"\n", 0, exc.start) + 1
        header = data.split(b"\n", 1)[0].rstrip(b"\r")
        names = next(csv.reader([header.decode("utf-8-sig", errors="replace")]), [])
        fields = next(csv.reader([line.decode("utf-8", errors="replace")]), [])
        index = data[start : exc.start].count(b",")
        column = names[index].strip() if index < len(names) and row > 1 else None
        cell = fields[index] if index < len(fields) else line.decode("utf-8", "replace")
        return None, ValidationIssue(
            file,
            row,
            column,
            _show(cell),
            Text(
                N_(
                    "UTF-8 text, but this file is in another encoding (often GBK, as Excel "
                    "saves Chinese text, or Latin-1); {fix}"
                ),
                fix=Text(_RESAVE),
            ),
        )


def _column_names(header: list[str]) -> list[str]:
    """Header names stripped; a blank name becomes ``Unnamed: i`` as pandas names it."""
    return [name.strip() or f"Unnamed: {i}" for i, name in enumerate(header)]


def _strings(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    return column


def _table(file: str, names: list[str], columns: list[pa.Array], n: int) -> RawTable:
    """A ``RawTable`` without its blank rows; the rows after them keep their true numbers."""
    rows = np.arange(2, n + 2, dtype=np.int64)
    if n and columns:
        blank = pc.equal(columns[0], "")
        for column in columns[1:]:
            blank = pc.and_(blank, pc.equal(column, ""))
        if pc.any(blank).as_py():
            keep = pc.invert(blank)
            columns = [c.filter(keep) for c in columns]
            rows = rows[np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)]
    return RawTable(file, tuple(names), tuple(columns), rows)


def _parse_fast(body: bytes, names: list[str]) -> list[pa.Array] | None:
    """Arrow's reader; ``None`` if it refuses the file (then the slow path explains why)."""
    tmp = [f"c{i}" for i in range(len(names))]
    try:
        table = pa_csv.read_csv(
            io.BytesIO(body),
            read_options=pa_csv.ReadOptions(column_names=tmp, skip_rows=1),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pa_csv.ConvertOptions(
                column_types={c: pa.string() for c in tmp},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowException:
        return None
    return [_strings(table.column(i)) for i in range(table.num_columns)]


def _ends_in_quote(text: str) -> bool:
    """Whether the file ends inside a quoted value (a quote opened and never closed)."""
    try:
        for _ in csv.reader(io.StringIO(text, newline=""), strict=True):
            pass
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _unclosed_quote(
    file: str, names: list[str], last: list[str], row: int, text: str
) -> list[ValidationIssue]:
    """A quote opened and never closed swallows the rest of the file into the last row's
    cell, which then holds line breaks; only then is the file parsed again to be sure."""
    for i, cell in enumerate(last):
        if ("\n" in cell or "\r" in cell) and _ends_in_quote(text):
            return [
                ValidationIssue(
                    file,
                    row,
                    names[i],
                    _show(cell.splitlines()[0] if cell.strip() else cell),
                    Text(
                        N_(
                            'a closing double quote: this value opens with " but never '
                            "closes, so the rest of the file was read into this cell"
                        )
                    ),
                )
            ]
    return []


def _parse_slow(
    text: str, file: str, names: list[str]
) -> tuple[RawTable | None, list[ValidationIssue]]:
    """Python's ``csv`` reader, row by row: lists every row with more fields than the header.

    Trailing empty fields past the header are ignored (spreadsheets add them); a row with
    fewer fields is padded with empty cells, which validation then names by column.
    """
    n = len(names)
    reader = csv.reader(io.StringIO(text, newline=""))
    issues: list[ValidationIssue] = []
    records: list[list[str]] = []
    collecting = gc.isenabled()
    gc.disable()  # millions of small lists: the cycle collector would only slow this down
    try:
        next(reader, None)
        for row, rec in enumerate(reader, start=2):
            k = len(rec)
            if k <= 1 and not (rec and rec[0].strip()):
                records.append([""] * n)  # a blank line, dropped below; it keeps its number
                continue
            if k > n:
                if "".join(rec[n:]).strip():
                    issues.append(_too_many_fields(file, row, rec, n))
                    continue
                rec = rec[:n]
            elif k < n:
                rec = rec + [""] * (n - k)
            records.append(rec)
    except csv.Error as exc:
        issues.append(
            ValidationIssue(
                file,
                reader.line_num,
                None,
                None,
                Text(N_("the file is not valid CSV: {error}"), error=str(exc)),
            )
        )
    finally:
        if collecting:
            gc.enable()
    if records and not issues:
        issues += _unclosed_quote(file, names, records[-1], len(records) + 1, text)
    if issues:
        return None, issues
    columns = list(zip(*records, strict=True)) if records else [() for _ in names]
    arrays = [pa.array(col, type=pa.string()) for col in columns]
    return _table(file, names, arrays, len(records)), []


def _too_many_fields(file: str, row: int, rec: list[str], n: int) -> ValidationIssue:
    """The issue for a row with more fields than the header's ``n``."""
    return ValidationIssue(
        file,
        row,
        None,
        _show(",".join(rec)),
        Text(
            N_(
                "{n} fields, one per column of the header, but the row "
                "has {k} (a value holding a comma must be in double quotes)"
            ),
            n=n,
            k=len(rec),
        ),
    )


def _odd_header(file: str, header: list[str]) -> ValidationIssue | None:
    """The issue when the first line is not comma-separated column names at all."""
    first = header[0].strip() if header else ""
    if first.lower().startswith("sep="):
        what = Text(N_("the column names on the first line; remove the line 'sep=...' above them"))
    elif len(header) == 1 and (";" in first or "\t" in first):
        what = Text(
            N_("values separated by commas, but this file separates them with ';'")
            if ";" in first
            else N_("values separated by commas, but this file separates them with tabs")
        )
    else:
        return None
    return ValidationIssue(file, 1, None, _show(",".join(header)), what)


def _parse_csv(data: bytes, text: str, file: str) -> tuple[RawTable | None, list[ValidationIssue]]:
    if not text or text.isspace():
        return None, [
            ValidationIssue.of_file(
                file,
                Text(
                    N_(
                        "the file is empty; expected a header row naming the columns, "
                        "then data rows"
                    )
                ),
            )
        ]
    # The whole first line (the line limit bounds it), and room for a quoted line break.
    first = text.find("\n")
    end = len(text) if first < 0 else first + 1 + (1 << 16)
    header = next(csv.reader(io.StringIO(text[:end], newline="")), [])
    odd = _odd_header(file, header)
    if odd is not None:
        return None, [odd]
    names = _column_names(header)
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    columns = _parse_fast(body, names)
    if columns is None:
        return _parse_slow(text, file, names)
    n = len(columns[0]) if columns else 0
    if n:
        last = [str(c[n - 1].as_py()) for c in columns]
        issues = _unclosed_quote(file, names, last, n + 1, text)
        if issues:
            return None, issues
    return _table(file, names, columns, n), []


def _text_column(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Any Arrow column as the text a CSV would hold (nulls as empty strings)."""
    column = _strings(column)
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.dictionary_decode()
        kind = column.type
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        # Skills given as a list column: join them as a CSV would.
        values = pc.cast(column.values, pa.string())
        column = pc.binary_join(type(column).from_arrays(column.offsets, values), ";")
    elif pa.types.is_boolean(kind):
        column = pc.if_else(column, "true", "false")
    elif pa.types.is_floating(kind):
        # Arrow writes the shortest text that reads back as the same float; NaN is empty.
        text = pc.cast(column, pa.string())
        column = pc.if_else(pc.is_nan(column), pa.scalar(None, pa.string()), text)
    elif not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        try:
            column = pc.cast(column, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            column = pa.array([None if v is None else str(v) for v in column.to_pylist()])
    return pc.fill_null(pc.cast(column, pa.string()), "")


def _object_text(series: pd.Series) -> pa.Array:
    """A column of Python objects (mixed types) as text, cell by cell."""

    def cell(v: object) -> str | None:
        if is_missing(v):
            return None
        if isinstance(v, bool | np.bool_):
            return str(v).lower()
        if isinstance(v, float | np.floating):
            return repr(float(v))
        if isinstance(v, list | tuple | np.ndarray):
            return ";".join(str(x) for x in v)
        return str(v)

    return pa.array([cell(v) for v in series.tolist()], type=pa.string())


def _frame_text(frame: pd.DataFrame, file: str) -> RawTable:
    """Turn any frame into a ``RawTable`` (every cell as its CSV text)."""
    names = _column_names([str(c) for c in frame.columns])
    columns: list[pa.Array] = []
    for i in range(len(names)):
        series = frame.iloc[:, i]
        try:
            arrow = pa.array(series, from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
            # Mixed types, or an integer beyond 64 bits: each cell as its text, for
            # validation to judge (a 500 otherwise).
            arrow = _object_text(series)
        columns.append(_text_column(arrow))
    return RawTable(
        file, tuple(names), tuple(columns), np.arange(2, len(frame) + 2, dtype=np.int64)
    )


def frame_to_raw(frame: pd.DataFrame, file: str) -> RawTable:
    """Turn an in-memory frame into a ``RawTable`` (every cell as text).

    Parameters
    ----------
    frame
        Any frame; typed columns are rendered as their CSV text.
    file
        The name errors will show for this table.
    """
    return _frame_text(frame, file)


def _decoded_bytes(column: pa.Array) -> int:
    """Bytes a column takes once its dictionary (if any) is expanded, without expanding it."""
    if pa.types.is_dictionary(column.type):
        sizes = pc.fill_null(pc.binary_length(column.dictionary), 0)
        taken = pc.take(sizes, pc.fill_null(column.indices, 0))
        total = pc.sum(taken).as_py() or 0
        return int(total) + 8 * len(column)
    return int(column.nbytes)


def _read_parquet(path: Path, limits: ReadLimits) -> tuple[RawTable | None, list[ValidationIssue]]:
    """A Parquet file in batches, its cells' decoded bytes counted against the file limit
    before any batch is expanded (a few kilobytes of dictionary and run-length codes can
    stand for gigabytes of cells)."""
    import pyarrow.parquet as pq

    file = path.name
    try:
        schema = pq.read_schema(path)
        if len(schema) > limits.max_columns:
            return None, [limits.too_wide(file, len(schema))]
        # Text columns come as dictionaries, counted before they are expanded.
        strings = [
            f.name
            for f in schema
            if pa.types.is_string(f.type)
            or pa.types.is_large_string(f.type)
            or pa.types.is_binary(f.type)
        ]
        source = pq.ParquetFile(path, read_dictionary=strings)
        batches: list[pa.RecordBatch] = []
        total = 0
        for batch in source.iter_batches(batch_size=8192):
            total += sum(_decoded_bytes(c) for c in batch.columns)
            if total > limits.max_file_bytes:
                return None, [limits.too_large(file, decoded=True)]
            plain = [
                c.dictionary_decode() if pa.types.is_dictionary(c.type) else c
                for c in batch.columns
            ]
            batches.append(pa.record_batch(plain, names=batch.schema.names))
        table = pa.Table.from_batches(batches) if batches else schema.empty_table()
    except Exception as exc:  # pyarrow raises many types for a damaged file
        # pyarrow's messages may name the file's full path: only its name is shown.
        detail = str(exc).replace(str(path), file).replace(str(path.parent), "")
        return None, [
            ValidationIssue.of_file(
                file,
                Text(N_("not a readable Parquet file ({detail})"), detail=detail),
            )
        ]
    names = _column_names([str(c) for c in table.column_names])
    columns = tuple(_text_column(table.column(i)) for i in range(table.num_columns))
    rows = np.arange(2, table.num_rows + 2, dtype=np.int64)
    return RawTable(file, tuple(names), columns, rows), []


def read_file(
    path: Path, limits: ReadLimits | None = None
) -> tuple[RawTable | None, list[ValidationIssue]]:
    """Read one CSV or Parquet file as text cells, within ``limits``.

    Returns the table, or ``None`` and the issues that stopped it being read (a file
    past a limit is not parsed at all).
    """
    limits = limits or ReadLimits()
    file = path.name
    if path.suffix == ".parquet":
        return _read_parquet(path, limits)
    try:
        if path.stat().st_size > limits.max_file_bytes:
            return None, [limits.too_large(file)]
        data = path.read_bytes()
    except OSError as exc:
        return None, [
            ValidationIssue.of_file(
                file,
                Text(N_("the file cannot be read ({reason})"), reason=str(exc.strerror)),
            )
        ]
    if len(data) > limits.max_file_bytes:  # grown since it was looked at
        return None, [limits.too_large(file)]
    issue = check_csv_bytes(data, file, limits)
    if issue is not None:
        return None, [issue]
    text, issue = _decode(data, file)
    if text is None:
        return None, [issue] if issue is not None else []
    return _parse_csv(data, text, file)


def find_table_files(folder: Path) -> dict[str, list[Path]]:
    """The files in ``folder`` that hold each known table (``stem.csv`` or ``stem.parquet``)."""
    found: dict[str, list[Path]] = {}
    for name in TABLE_NAMES:
        hits = [folder / f"{name}{suffix}" for suffix in SUFFIXES]
        found[name] = [p for p in hits if p.is_file()]
    return found


def near_names(folder: Path, name: str) -> list[str]:
    """Files that look meant as table ``name`` but are not where or as the spec says
    (``Cadres.CSV``, ``cadres.xlsx``, ``cadres.csv.txt``, ``subfolder/cadres.csv`` ...),
    for a hint in errors."""
    exact = {f"{name}{suffix}" for suffix in SUFFIXES}
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    found = [
        p.name
        for p in entries
        if p.is_file()
        and p.name not in exact
        and (p.name.lower().split(".", 1)[0] == name or p.name.lower() in exact)
    ]
    for sub in entries:
        if sub.is_dir():
            found += [f"{sub.name}/{e}" for e in sorted(exact) if (sub / e).is_file()]
    return found


def write_frame_csv(frame: pd.DataFrame, path: Path, *, escape: bool = True) -> None:
    """Write a frame as UTF-8 CSV with empty cells for missing values and ``\\n`` endings.

    Output tables (plans, exports, comparisons, recommendations, explanations) are
    written with :func:`matcher.csvsafe.neutralise_formulas` applied, so no text cell
    runs as a spreadsheet formula; ``escape=False`` writes the cells as they are (for
    datasets, which the planner reads back as they were written: :func:`write_tables`).
    """
    if escape:
        frame = neutralise_formulas(frame)
    frame.to_csv(path, index=False, lineterminator="\n", na_rep="")


def frame_csv_text(frame: pd.DataFrame) -> str:
    """An output table as CSV text, exactly as :func:`write_frame_csv` writes it (formula
    cells neutralised): what the service sends, byte for byte the command line's files."""
    text: str = neutralise_formulas(frame).to_csv(index=False, lineterminator="\n", na_rep="")
    return text


_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


def write_tables(
    tables: Mapping[str, pd.DataFrame], out_dir: str | Path, fmt: str = "csv"
) -> list[Path]:
    """Write tables into a dataset folder, one file per table.

    CSV files are UTF-8 with ``\\n`` line endings and no index; missing cells are written
    empty (never ``nan``). The same frames give byte-identical files.

    Parameters
    ----------
    tables
        Frames keyed by table name (``"cadres"``, ...); the spec's tables are written
        first, in the spec's order, then any others by name.
    out_dir
        The folder; created if missing.
    fmt
        ``"csv"`` or ``"parquet"``.

    Returns
    -------
    list of Path
        The files written, in the order written.

    Raises
    ------
    ValueError
        If ``fmt`` is unknown or a table name is not a plain file stem.
    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    names = [t for t in TABLE_NAMES if t in tables] + sorted(set(tables) - set(TABLE_NAMES))
    for name in names:
        if not _SAFE_NAME.fullmatch(name):
            raise ValueError(f"table name {name!r} is not a plain file stem")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for name in names:
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            # A dataset is the planner's input, read back without unescaping: its cells
            # are written as they are (see matcher.csvsafe).
            write_frame_csv(tables[name], path, escape=False)
        else:
            tables[name].to_parquet(path, index=False)
        written.append(path)
    return written
