"""Validated, immutable datasets: loading, validation and the ``Dataset`` object.

Validation is vectorised per column (a city of 400,000 cadres validates in about a
second) and reports *every* problem it finds, up to a cap, each naming the file, the
row as a spreadsheet shows it, the column, the value and what was expected.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from matcher.errors import DatasetError, ValidationIssue
from matcher.i18n import N_, Text
from matcher.inputs.io import (
    RawTable,
    ReadLimits,
    find_table_files,
    frame_to_raw,
    near_names,
    read_file,
    write_tables,
)
from matcher.inputs.schema import TABLES, TABLES_BY_NAME, Column, Kind, Table

__all__ = [
    "DEFAULT_MAX_ERRORS",
    "MAX_WHOLE",
    "Dataset",
    "dataset_from_frames",
    "load_dataset",
    "validate_raw",
]

DEFAULT_MAX_ERRORS = 200
MAX_WHOLE = 10**9  # the largest whole number (hours, households) a cell may hold
_SHOW = 80  # characters of a bad value shown in a message

# Cells of a column, for messages: a pandas column, an Arrow array or a numpy array.
_Values: TypeAlias = "pd.Series | pa.Array | npt.NDArray[np.object_]"
_Mask: TypeAlias = npt.NDArray[np.bool_]  # one flag per row


class _Collector:
    """Collects issues up to a cap, counting the rest."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.errors: list[ValidationIssue] = []
        self.warnings: list[ValidationIssue] = []
        self.extra = 0

    def add(self, issue: ValidationIssue) -> None:
        if issue.severity == "warning":
            self.warnings.append(issue)
        elif len(self.errors) < self.cap:
            self.errors.append(issue)
        else:
            self.extra += 1

    def rows(
        self,
        raw: RawTable,
        mask: _Mask,
        column: str | None,
        values: _Values | None,
        expected: str,
        severity: str = "error",
    ) -> None:
        """Add one issue per row where ``mask`` is true, cheaply past the cap."""
        idx = np.flatnonzero(mask)
        room = max(self.cap - len(self.errors), 0) if severity == "error" else len(idx)
        for i in idx[:room]:
            value = None if values is None else _show(_at(values, int(i)))
            self.add(ValidationIssue(raw.file, int(raw.rows[i]), column, value, expected, severity))
        if severity == "error":
            self.extra += max(len(idx) - room, 0)


def _at(values: _Values, i: int) -> object:
    if isinstance(values, pd.Series):
        return values.to_numpy()[i]
    item = values[i]
    return item.as_py() if isinstance(item, pa.Scalar) else item


def _show(value: object) -> str:
    text = "" if value is None or value is pd.NA else str(value)
    return text if len(text) <= _SHOW else text[: _SHOW - 3] + "..."


def _what(col: Column) -> str:
    """What a column holds, in words."""
    if col.expected:
        return col.expected
    if col.kind is Kind.ENUM:
        return Text(N_("one of {choices}"), choices=", ".join(col.choices))
    return str(col.kind.value)


def _bools(array: pa.Array | pa.ChunkedArray) -> _Mask:
    """A boolean Arrow array as numpy (nulls as false)."""
    return np.asarray(pc.fill_null(array, False).to_numpy(zero_copy_only=False), dtype=bool)


def _text(cells: pa.Array) -> pa.Array:
    """A column's cells, surrounding white space removed."""
    return pc.utf8_trim_whitespace(cells)


def _arrow(series: pd.Series) -> pa.Array:
    """A typed frame's text column as Arrow strings."""
    arr = pa.array(series, type=pa.string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return arr


def _series(arr: pa.Array) -> pd.Series:
    """Arrow strings as a pandas ``str`` column."""
    series: pd.Series = arr.to_pandas()
    return series


def _numbers(text: pa.Array, empty: _Mask) -> npt.NDArray[np.float64]:
    """Cells as float64; empty or unparseable cells are NaN."""
    cells = pc.if_else(pa.array(empty), pa.scalar(None, pa.string()), text)
    try:
        parsed = pc.cast(cells, pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # Some cell is not a number: let pandas find which, cell by cell.
        obj = pd.Series(cells.to_numpy(zero_copy_only=False), dtype=object)
        coerced = pd.to_numeric(obj, errors="coerce")
        try:
            return np.asarray(coerced, dtype="float64")
        except (TypeError, ValueError):
            return np.array([_float(v) for v in coerced.tolist()], dtype="float64")
    return np.asarray(parsed.to_numpy(zero_copy_only=False), dtype="float64")


def _float(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return float("nan")


def _normalise_list(text: pa.Array, empty: _Mask) -> pa.Array:
    """``a; b;;a`` becomes ``a;b``: parts stripped, empty parts and repeats dropped.

    Vectorised: only the cells that need it are rewritten in Python.
    """
    parts = pc.split_pattern(text, ";")
    flat = pc.list_flatten(parts)
    parent = np.asarray(pc.list_parent_indices(parts).to_numpy(zero_copy_only=False))
    trimmed = pc.utf8_trim_whitespace(flat)
    odd = _bools(pc.or_(pc.not_equal(flat, trimmed), pc.equal(trimmed, "")))
    need = np.zeros(len(text), dtype=bool)
    need[parent[odd]] = True
    if len(parent):
        codes = pc.dictionary_encode(trimmed).indices.to_numpy(zero_copy_only=False)
        key = parent.astype(np.int64) * (int(codes.max()) + 1) + codes.astype(np.int64)
        repeated = pd.Series(key).duplicated().to_numpy()
        need[parent[repeated]] = True
    need &= ~empty
    if not need.any():
        return text

    def norm(cell: str) -> str:
        seen: dict[str, None] = {}
        for part in cell.split(";"):
            part = part.strip()
            if part:
                seen.setdefault(part, None)
        return ";".join(seen)

    cells = np.asarray(text.to_numpy(zero_copy_only=False), dtype=object).copy()
    cells[need] = [norm(c) for c in cells[need]]
    return pa.array(cells, type=pa.string())


def _check_column(
    raw: RawTable, col: Column, cells: pa.Array, out: _Collector
) -> tuple[pd.Series, pa.Array, _Mask]:
    """Check and convert one column.

    Returns the typed column, its trimmed text and a mask of the cells found wrong.
    """
    text = _text(cells)
    empty = _bools(pc.equal(text, ""))
    missing = empty if not col.optional else np.zeros(len(empty), dtype=bool)
    if not col.optional and col.kind is not Kind.LIST:
        out.rows(raw, empty, col.name, text, _what(col) or Text(N_("a value")))
    if col.kind in (Kind.INT, Kind.FLOAT):
        values = _numbers(text, empty)
        finite = np.isfinite(values)
        wrong = ~empty & ~finite
        with np.errstate(invalid="ignore"):
            if col.kind is Kind.INT:
                wrong |= finite & (values != np.floor(values))
            if col.lo is not None:
                wrong |= finite & (values <= col.lo if col.lo_open else values < col.lo)
            if col.hi is not None:
                wrong |= finite & (values >= col.hi if col.hi_open else values > col.hi)
        out.rows(raw, wrong, col.name, text, _what(col))
        if col.kind is Kind.FLOAT:
            return (
                pd.Series(np.where(wrong, np.nan, values), dtype="float64"),
                text,
                wrong | missing,
            )
        if col.hi is None:
            # Beyond this, sums of hours could overflow the solver's integers.
            huge = finite & ~wrong & (np.abs(values) > MAX_WHOLE)
            out.rows(
                raw,
                huge,
                col.name,
                text,
                Text(N_("{what}, at most {most:,}"), what=_what(col), most=MAX_WHOLE),
            )
            wrong |= huge
        ok = np.where(wrong | empty, np.nan, values)
        typed = pd.Series(ok, dtype="float64").round().astype("Int64")
        if not col.optional:
            typed = typed.fillna(0).astype("int64")
        return typed, text, wrong | missing
    if col.kind is Kind.ENUM:
        known = _bools(pc.is_in(text, value_set=pa.array(col.choices, type=pa.string())))
        out.rows(raw, ~empty & ~known, col.name, text, _what(col))
        return _series(text), text, (~empty & ~known) | missing
    if col.kind is Kind.LIST:
        norm = _normalise_list(text, empty)
        none = _bools(pc.equal(norm, "")) & ~np.bool_(col.optional)
        out.rows(raw, none, col.name, text, _what(col))
        return _series(norm), norm, none
    return _series(text), text, missing


def _near(name: str, headers: list[str]) -> str:
    """A hint naming a header that is probably meant as column ``name``."""

    def key(s: str) -> str:
        return s.strip().lower().replace(" ", "_").replace("-", "_")

    close = [h for h in headers if key(h) == key(name)]
    close += difflib.get_close_matches(name, [h for h in headers if h not in close], 1, 0.8)
    if close:
        return Text(N_(" (it has '{header}'; names must match exactly)"), header=close[0])
    return ""


_Texts = dict[tuple[str, str], pa.Array]  # (table, column): its cells' text
_Bad = dict[tuple[str, str], _Mask]  # (table, column): which of its cells were wrong


def _check_table(
    raw: RawTable, table: Table, out: _Collector, texts: _Texts, bad: _Bad
) -> pd.DataFrame | None:
    """Check one table's columns and convert them; ``None`` if its header is unusable.

    The text of each column is kept in ``texts``, and its wrong cells in ``bad``, for the
    checks across columns and tables.
    """
    if not _check_header(raw, table, out):
        return None
    headers = list(raw.names)
    position = {name: i for i, name in reversed(list(enumerate(headers)))}
    n = len(raw)
    typed: dict[str, pd.Series] = {}
    for col in table.columns:
        key = (table.name, col.name)
        if col.name in position:
            cells = raw.columns[position[col.name]]
            typed[col.name], texts[key], bad[key] = _check_column(raw, col, cells, out)
        else:
            typed[col.name], texts[key], bad[key] = _absent_column(col, n)
    _keep_extra_columns(raw, {c.name for c in table.columns}, typed)
    return pd.DataFrame(typed, index=pd.RangeIndex(n))


def _check_header(raw: RawTable, table: Table, out: _Collector) -> bool:
    """Whether the header names each of the table's columns at most once and every
    required one; each fault reported."""
    headers = list(raw.names)
    spec = {c.name for c in table.columns}
    counts: dict[str, int] = {}
    for name in headers:
        counts[name] = counts.get(name, 0) + 1
    doubled = [n for n, k in counts.items() if k > 1 and n in spec]
    for name in doubled:
        out.add(
            ValidationIssue(
                raw.file,
                1,
                name,
                None,
                Text(
                    N_("the header names this column {n} times; name each column once"),
                    n=counts[name],
                ),
            )
        )
    missing = [c for c in table.columns if not c.optional and c.name not in counts]
    for col in missing:
        out.add(
            ValidationIssue(
                raw.file,
                1,
                col.name,
                None,
                Text(
                    N_("the header has no column '{column}'{hint}; the table needs it ({what})"),
                    column=col.name,
                    hint=_near(col.name, headers),
                    what=_what(col),
                ),
            )
        )
    return not (missing or doubled)


def _absent_column(col: Column, n: int) -> tuple[pd.Series, pa.Array, _Mask]:
    """An optional column left out, as :func:`_check_column` gives it: every cell empty."""
    text = pa.array([""] * n, type=pa.string())
    if col.kind is Kind.INT:
        typed = pd.Series(np.full(n, np.nan)).astype("Int64")
    elif col.kind is Kind.FLOAT:
        typed = pd.Series(np.full(n, np.nan))
    else:
        typed = _series(text)
    return typed, text, np.zeros(n, dtype=bool)


def _keep_extra_columns(raw: RawTable, spec: Set[str], typed: dict[str, pd.Series]) -> None:
    """The columns the spec does not name added to ``typed`` as text, a repeated name
    given a ``.1``, ``.2`` ... suffix."""
    # Extra columns are kept, as text, so that scripts can carry their own notes along.
    # Built in one dict (inserting columns one by one, or searching suffixes from 1 for
    # each repeat, costs the square of their number: a header of 100,000 blanks).
    seen = set(typed)
    suffix: dict[str, int] = {}
    for i, name in enumerate(raw.names):
        if name in spec:
            continue
        label, k = name, suffix.get(name, 1)
        while label in seen:
            label, k = f"{name}.{k}", k + 1
        suffix[name] = k
        seen.add(label)
        typed[label] = _series(raw.columns[i])


def _check_unique(
    raw: RawTable, arrays: list[pa.Array], cols: tuple[str, ...], out: _Collector
) -> None:
    """Each key (an id, or a combination of columns) appears once; empty keys are skipped."""
    nonempty = pc.not_equal(arrays[0], "")
    joined = arrays[0]
    for arr in arrays[1:]:
        nonempty = pc.and_(nonempty, pc.not_equal(arr, ""))
        joined = pc.binary_join_element_wise(joined, arr, "\x1f")
    joined = joined.filter(nonempty)
    if len(pc.unique(joined)) == len(joined):
        return
    keep = _bools(nonempty)
    keys = pd.DataFrame({c: a.to_pandas() for c, a in zip(cols, arrays, strict=True)})
    keys = keys.loc[keep]
    dup = keys.duplicated(keep="first").to_numpy()
    # Only the rows involved in a repeat are looked at one by one.
    involved = keys.loc[keys.duplicated(keep=False).to_numpy()]
    first_row: dict[tuple[object, ...], int] = {}
    for pos, key in zip(involved.index, involved.itertuples(index=False, name=None), strict=True):
        first_row.setdefault(key, int(raw.rows[pos]))
    for pos, key in zip(
        keys.index[dup], keys.loc[dup].itertuples(index=False, name=None), strict=True
    ):
        if len(cols) == 1:
            label: str | None = cols[0]
            value = str(key[0])
            what = Text(
                N_("a unique {column}; the same id is at row {row}"),
                column=cols[0],
                row=first_row[key],
            )
        else:
            label = None
            value = ", ".join(f"{c}={v}" for c, v in zip(cols, key, strict=True))
            what = Text(
                N_("each ({columns}) once; the same row is at row {row}"),
                columns=", ".join(cols),
                row=first_row[key],
            )
        out.add(ValidationIssue(raw.file, int(raw.rows[pos]), label, _show(value), what))


def _check_refs(
    table: Table,
    raws: Mapping[str, RawTable],
    frames: dict[str, pd.DataFrame],
    texts: _Texts,
    unread: Set[str],
    out: _Collector,
) -> None:
    """Every reference of ``table`` resolves to an id of the table it names."""
    raw = raws[table.name]
    for col in table.columns:
        if col.kind is not Kind.REF or col.ref is None:
            continue
        target = TABLES_BY_NAME[col.ref]
        values = texts[table.name, col.name]
        used = _bools(pc.not_equal(values, ""))
        if col.ref not in frames:
            # A table given but unusable has its own errors; a required table's absence is
            # reported once. An optional table that is absent but referred to is the fault.
            if col.ref in raws or col.ref in unread or target.required or not used.any():
                continue
            first = int(np.flatnonzero(used)[0])
            out.add(
                ValidationIssue(
                    raw.file,
                    int(raw.rows[first]),
                    col.name,
                    _show(values[first].as_py()),
                    Text(
                        N_(
                            "an id listed in {table}.csv, but the dataset has no {table}.csv "
                            "(or .parquet), and {n} row(s) of {file} refer to it"
                        ),
                        table=col.ref,
                        n=int(used.sum()),
                        file=raw.file,
                    ),
                )
            )
            continue
        ids = texts[col.ref, target.id_column or ""]
        dangling = used & ~_bools(pc.is_in(values, value_set=ids))
        out.rows(
            raw,
            dangling,
            col.name,
            values,
            Text(
                N_("an id listed in column '{column}' of {file}"),
                column=target.id_column,
                file=raws[col.ref].file,
            ),
        )


def _check_rules(
    raws: Mapping[str, RawTable],
    frames: dict[str, pd.DataFrame],
    texts: _Texts,
    bad: _Bad,
    unread: Set[str],
    out: _Collector,
) -> None:
    """Rules that tie several columns or tables together (cells already found wrong are
    left out, so that one mistake gives one error)."""
    for table in TABLES:
        if table.name not in frames:
            continue
        raw = raws[table.name]
        key = tuple(k for k in ((table.id_column,) if table.id_column else table.key) if k)
        if key:
            _check_unique(raw, [texts[table.name, k] for k in key], key, out)
        _check_refs(table, raws, frames, texts, unread, out)
    if "cadres" in frames:
        _check_cadre_places(raws["cadres"], frames["cadres"], bad, out)
    if "demands" in frames:
        _check_min_hours(raws["demands"], frames["demands"], texts, bad, out)
    if "resources" in frames:
        _check_service_amounts(raws["resources"], frames["resources"], texts, out)
    if "alliances" in frames and "communities" in frames:
        _check_alliance_streets(raws["alliances"], frames["alliances"], frames["communities"], out)


def _check_cadre_places(raw: RawTable, cadres: pd.DataFrame, bad: _Bad, out: _Collector) -> None:
    """A cadre gives both lat and lon, or neither."""
    lat = np.isnan(cadres["lat"].to_numpy(dtype="float64"))
    lon = np.isnan(cadres["lon"].to_numpy(dtype="float64"))
    fine = ~bad["cadres", "lat"] & ~bad["cadres", "lon"]
    for column, mask in (("lon", lon & ~lat), ("lat", lat & ~lon)):
        out.rows(
            raw,
            mask & fine,
            column,
            np.full(len(mask), "", dtype=object),
            Text(N_("both lat and lon, or neither (the cadre then stands at home or at its unit)")),
        )


def _check_min_hours(
    raw: RawTable, demands: pd.DataFrame, texts: _Texts, bad: _Bad, out: _Collector
) -> None:
    """A demand's ``min_hours`` is at most its ``hours``."""
    mh = demands["min_hours"]
    over = (mh.notna() & (mh > demands["hours"])).fillna(False).to_numpy(dtype=bool)
    over &= ~bad["demands", "hours"] & ~bad["demands", "min_hours"]
    out.rows(
        raw,
        over,
        "min_hours",
        texts["demands", "min_hours"],
        Text(N_("at most the demand's hours (column 'hours')")),
    )


def _check_service_amounts(
    raw: RawTable, resources: pd.DataFrame, texts: _Texts, out: _Collector
) -> None:
    """A service resource's amount is whole hours, at most :data:`MAX_WHOLE`."""
    amount = resources["amount"].to_numpy(dtype="float64")
    service = (resources["kind"] == "service").to_numpy(dtype=bool)
    finite = np.isfinite(amount)
    frac = service & finite & (amount != np.floor(amount))
    big = service & finite & ~frac & (amount > MAX_WHOLE)
    for mask, what in (
        (frac, Text(N_("whole hours for a service resource"))),
        (big, Text(N_("at most {most:,} hours for a service resource"), most=MAX_WHOLE)),
    ):
        out.rows(raw, mask, "amount", texts["resources", "amount"], what)


def _check_alliance_streets(
    raw: RawTable, alliances: pd.DataFrame, communities: pd.DataFrame, out: _Collector
) -> None:
    """A warning for each alliance whose (district, street) no community has."""

    def place(frame: pd.DataFrame) -> pa.Array:
        return pc.binary_join_element_wise(
            _arrow(frame["district"]), _arrow(frame["street"]), "\x1f"
        )

    idle = ~_bools(pc.is_in(place(alliances), value_set=place(communities)))
    out.rows(
        raw,
        idle,
        "street",
        alliances["street"],
        Text(N_("a (district, street) that some community has; this alliance covers no community")),
        severity="warning",
    )


def validate_raw(
    raws: Mapping[str, RawTable],
    source: str,
    *,
    missing: Mapping[str, str] | None = None,
    unread: Set[str] = frozenset(),
    max_errors: int = DEFAULT_MAX_ERRORS,
) -> Dataset:
    """Validate tables read as text and return the ``Dataset``, or raise ``DatasetError``.

    Parameters
    ----------
    raws
        The tables as read, keyed by table name.
    source
        Where they came from, for messages and ``Dataset.source``.
    missing
        Hints for absent tables (e.g. a file that looks meant as one), by table name.
    unread
        Tables whose file exists but could not be read (already reported): neither
        reported missing nor used to check references.
    max_errors
        How many errors to list before counting the rest.
    """
    out = _Collector(max_errors)
    for table in TABLES:
        if table.required and table.name not in raws and table.name not in unread:
            hint = (missing or {}).get(table.name, "")
            out.add(
                ValidationIssue(
                    f"{table.name}.csv",
                    None,
                    None,
                    None,
                    Text(
                        N_(
                            "the file is missing; every dataset needs the {table} table "
                            "({table}.csv or {table}.parquet){hint}"
                        ),
                        table=table.name,
                        hint=hint,
                    ),
                )
            )
    frames: dict[str, pd.DataFrame] = {}
    texts: _Texts = {}
    bad: _Bad = {}
    for name, raw in raws.items():
        checked = _check_table(raw, TABLES_BY_NAME[name], out, texts, bad)
        if checked is not None:
            frames[name] = checked
    _check_rules(raws, frames, texts, bad, unread, out)
    if out.errors or out.extra:
        raise DatasetError(out.errors, source, out.extra)
    return Dataset(
        source=source,
        tables=MappingProxyType({t.name: frames[t.name] for t in TABLES if t.name in frames}),
        files=MappingProxyType({name: raws[name].file for name in frames}),
        warnings=tuple(out.warnings),
    )


def load_dataset(
    path: str | Path,
    *,
    max_errors: int = DEFAULT_MAX_ERRORS,
    limits: ReadLimits | None = None,
) -> Dataset:
    """Load and validate a dataset: a folder of CSV or Parquet tables, or a workbook.

    Parameters
    ----------
    path
        A folder holding ``communities.csv``, ``units.csv``, ``cadres.csv`` and
        ``demands.csv`` and any optional tables (``.parquet`` with the same stem is
        accepted too). CSV files are UTF-8, with or without a BOM. Or an ``.xlsx``
        workbook with one sheet per table, named in English or Chinese
        (:mod:`matcher.inputs.xlsx`); its errors name the sheet, row and column letter.
    max_errors
        How many errors to list before counting the rest.
    limits
        What each file may hold (bytes, columns, line length), checked before it is
        parsed; a file past a limit is reported and not read. Default ``ReadLimits()``.

    Returns
    -------
    Dataset

    Raises
    ------
    DatasetError
        With every problem found: the file, row, column, value and what was expected.

    Examples
    --------
    >>> ds = load_dataset("tests/data/example/dataset")
    >>> len(ds.demands)
    5
    """
    folder = Path(path)
    from matcher.inputs.xlsx import is_workbook

    if is_workbook(folder) and folder.is_file():
        return _load_workbook(folder, max_errors=max_errors, limits=limits)
    if not folder.is_dir():
        raise _not_a_folder(folder)
    read = _read_folder(folder, limits)
    try:
        dataset = validate_raw(
            read.raws, str(folder), missing=read.hints, unread=read.unread, max_errors=max_errors
        )
    except DatasetError as exc:
        read.issues.extend(exc.issues)
        raise _kept(read.issues, str(folder), max_errors, exc.truncated) from None
    if read.issues:
        raise _kept(read.issues, str(folder), max_errors)
    return dataset


def _kept(
    issues: list[ValidationIssue], source: str, max_errors: int, truncated: int = 0
) -> DatasetError:
    """The error listing the first ``max_errors`` issues and counting the rest (and
    ``truncated`` more, already left out)."""
    kept = issues[: max(max_errors, 0)]
    return DatasetError(kept, source, truncated + len(issues) - len(kept))


def _not_a_folder(folder: Path) -> DatasetError:
    """The error for a path that is neither a dataset folder nor a workbook."""
    what = (
        N_("no such folder; expected {need}")
        if not folder.exists()
        else N_("this is a file, not a folder; expected {need}")
    )
    need = Text(
        N_(
            "a dataset folder holding communities.csv, units.csv, cadres.csv, "
            "demands.csv, or an .xlsx workbook with a sheet per table"
        )
    )
    return DatasetError(
        [ValidationIssue(str(folder), None, None, None, Text(what, need=need))],
        str(folder),
    )


@dataclass
class _FolderRead:
    """A folder's tables as read: the tables, the problems found reading them, the
    tables whose file could not be read, and hints for absent tables."""

    raws: dict[str, RawTable] = field(default_factory=dict)
    issues: list[ValidationIssue] = field(default_factory=list)
    unread: set[str] = field(default_factory=set)
    hints: dict[str, str] = field(default_factory=dict)


def _read_folder(folder: Path, limits: ReadLimits | None) -> _FolderRead:
    """Read each table's file in ``folder`` (a table in two files is not read)."""
    read = _FolderRead()
    for name, paths in find_table_files(folder).items():
        if len(paths) > 1:
            read.unread.add(name)
            read.issues.append(
                ValidationIssue(
                    paths[0].name,
                    None,
                    None,
                    None,
                    Text(
                        N_("two files hold the {table} table: {first} and {second}; keep only one"),
                        table=name,
                        first=paths[0].name,
                        second=paths[1].name,
                    ),
                )
            )
        elif not paths:
            near = near_names(folder, name)
            if near:
                read.hints[name] = Text(
                    N_(
                        "; found {found}, but the table must be {table}.csv or "
                        "{table}.parquet, directly in this folder"
                    ),
                    found=", ".join(near),
                    table=name,
                )
        else:
            raw, found = read_file(paths[0], limits)
            read.issues.extend(found)
            if raw is None:
                read.unread.add(name)
            else:
                read.raws[name] = raw
    return read


def _load_workbook(path: Path, *, max_errors: int, limits: ReadLimits | None) -> Dataset:
    """Load and validate an .xlsx workbook (a sheet per table); issues name sheets."""
    from matcher.inputs.xlsx import read_workbook

    book = read_workbook(path, limits)
    issues = list(book.issues)
    try:
        dataset = validate_raw(book.raws, str(path), unread=book.unread, max_errors=max_errors)
    except DatasetError as exc:
        issues.extend(book.locate(i) for i in exc.issues)
        raise _kept(issues, str(path), max_errors, exc.truncated) from None
    if issues:
        raise _kept(issues, str(path), max_errors)
    return Dataset(
        source=dataset.source,
        tables=dataset.tables_,
        files=dataset.files,
        warnings=tuple(book.locate(w) for w in dataset.warnings),
    )


def dataset_from_frames(
    tables: Mapping[str, pd.DataFrame],
    source: str = "<memory>",
    *,
    max_errors: int = DEFAULT_MAX_ERRORS,
) -> Dataset:
    """Validate in-memory frames (any dtypes) as a dataset.

    Parameters
    ----------
    tables
        Frames keyed by table name; unknown names raise ``DatasetError``.
    source
        A label for messages.

    Examples
    --------
    >>> ds = load_dataset("tests/data/example/dataset")
    >>> again = dataset_from_frames(ds.tables())
    >>> again.content_hash == ds.content_hash
    True
    """
    unknown = [name for name in tables if name not in TABLES_BY_NAME]
    if unknown:
        known = ", ".join(TABLES_BY_NAME)
        raise DatasetError(
            [
                ValidationIssue.of_file(
                    str(n),
                    Text(N_("not a table; expected one of {known}"), known=known),
                )
                for n in unknown
            ],
            source,
        )
    raws = {name: frame_to_raw(frame, f"{name}.csv") for name, frame in tables.items()}
    return validate_raw(raws, source, max_errors=max_errors)


def _column_bytes(series: pd.Series) -> bytes:
    """A column's values as bytes for hashing: the same values give the same bytes."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        values = series.to_numpy(dtype="float64", na_value=np.nan)
        values = np.where(np.isnan(values), np.nan, values)  # one NaN bit pattern
        return b"f" + np.ascontiguousarray(values, dtype="<f8").tobytes()
    try:
        arr = pa.array(series, type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = pa.array([str(v) for v in series.tolist()], type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    arr = pc.fill_null(arr, "")
    if len(arr) == 0:
        return b"s"
    offsets = np.frombuffer(arr.buffers()[1], dtype="<i8")[arr.offset : arr.offset + len(arr) + 1]
    data = arr.buffers()[2]
    text = b"" if data is None else data.to_pybytes()[offsets[0] : offsets[-1]]
    return b"s" + np.diff(offsets).astype("<i8").tobytes() + text


class _TableView:
    """A dataset's table as a read-only attribute: ``ds.demands`` is
    ``ds.table("demands")``."""

    def __init__(self, doc: str) -> None:
        self.__doc__ = doc
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, ds: Dataset, owner: type | None = None) -> pd.DataFrame:
        return ds.table(self.name)


@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated dataset: its tables, typed, and read-only.

    Tables are exposed as pandas frames that are copy-on-write views: changing one
    changes only the caller's copy, never the dataset. What-if changes build a new
    dataset with :meth:`replace`.

    Column types: ids and text as ``str`` (an empty optional cell is ``""``), whole
    numbers as ``int64`` (``Int64`` when optional), other numbers as ``float64``
    (``NaN`` when empty), lists (skills, categories) as ``;``-joined text with the
    parts stripped and repeats dropped.
    """

    source: str
    tables_: Mapping[str, pd.DataFrame] = field(repr=False)
    files: Mapping[str, str] = field(repr=False)
    warnings: tuple[ValidationIssue, ...] = ()

    def __init__(
        self,
        source: str,
        tables: Mapping[str, pd.DataFrame],
        files: Mapping[str, str],
        warnings: tuple[ValidationIssue, ...] = (),
    ) -> None:
        object.__setattr__(self, "source", source)
        object.__setattr__(self, "tables_", tables)
        object.__setattr__(self, "files", files)
        object.__setattr__(self, "warnings", warnings)

    def table(self, name: str) -> pd.DataFrame:
        """The table ``name`` (an empty frame with the spec's columns if not given)."""
        frame = self.tables_.get(name)
        if frame is None:
            cols = [c.name for c in TABLES_BY_NAME[name].columns]
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in cols})
        return frame.copy(deep=False)

    def has(self, name: str) -> bool:
        """Whether the dataset gave the table ``name``."""
        return name in self.tables_

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table the dataset gave, keyed by name."""
        return {name: self.table(name) for name in self.tables_}

    def __iter__(self) -> Iterator[str]:
        return iter(self.tables_)

    communities = _TableView("``communities.csv``.")
    units = _TableView("``units.csv``.")
    cadres = _TableView("``cadres.csv``.")
    demands = _TableView("``demands.csv``.")
    resources = _TableView("``resources.csv`` (empty if not given).")
    pairings = _TableView("``pairings.csv`` (empty if not given).")
    alliances = _TableView("``alliances.csv`` (empty if not given).")
    alliance_members = _TableView("``alliance_members.csv`` (empty if not given).")

    @functools.cached_property
    def content_hash(self) -> str:
        """SHA-256 of the tables' content, independent of file format and column order.

        Computed column by column from the typed values (numbers as float64 bytes, text
        as UTF-8 with each cell's length), once per dataset.
        """
        digest = hashlib.sha256()
        for name in sorted(self.tables_):
            frame = self.tables_[name]
            digest.update(f"table {name} {len(frame)}\n".encode())
            for col in sorted(frame.columns):
                digest.update(f"column {col}\n".encode())
                digest.update(_column_bytes(frame[col]))
        return digest.hexdigest()

    def replace(self, source: str | None = None, **tables: pd.DataFrame) -> Dataset:
        """A new dataset with some tables replaced, validated again.

        Examples
        --------
        >>> ds = load_dataset("tests/data/example/dataset")
        >>> demands = ds.demands
        >>> demands["hours"] = demands["hours"] * 2
        >>> int(ds.replace(demands=demands).demands["hours"].sum())
        88
        """
        merged = {**self.tables(), **tables}
        return dataset_from_frames(merged, source or f"{self.source} (changed)")

    def write(self, out_dir: str | Path, fmt: str = "csv") -> list[Path]:
        """Write the dataset's tables to a folder in the spec's format."""
        return write_tables(self.tables(), out_dir, fmt)

    def counts(self) -> dict[str, int]:
        """Row counts per table.

        >>> load_dataset("tests/data/example/dataset").counts()["demands"]
        5
        """
        return {name: len(frame) for name, frame in self.tables_.items()}
