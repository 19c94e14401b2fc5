"""A cycle's lists (三张清单): its base dataset overlaid by the rows entered in the cycle.

A row added or edited while the cycle collects is a :class:`~api.db.models.CycleEntry`
keyed by (table, row key); one entry per key, updated by later edits (the audit log keeps
each edit's before and after). The lists are the base dataset's tables with each entry's
row put in place of the base row of the same key, or added.

Rows are checked as they are entered: their columns, their key, their community (in the
lists and in the cycle's scope) or unit, the key's scope (403), and their cells, by
validating the lists with the new rows as :func:`matcher.dataset_from_frames` does; a
problem names the table, the submitted row and the column, and nothing is stored.

:func:`snapshot` turns the lists into the stored dataset that planning plans (the
cycle's ``dataset_id``) when planning opens.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

import matcher
from api import store
from api.cycles import audit
from api.cycles.access import Actor, authorize, check_community, check_unit
from api.db.models import Cycle, CycleEntry, DatasetRow, utcnow
from api.errors import ApiError, LangText, invalid_dataset, issue_dict, issue_where
from matcher.errors import ValidationIssue
from matcher.i18n import N_, Text
from matcher.inputs.io import is_missing, plain_value, read_file
from matcher.inputs.schema import TABLES_BY_NAME
from matcher.inputs.xlsx import read_workbook

__all__ = [
    "ACTIONS",
    "ENTRY_ORIGINS",
    "MAX_ROWS",
    "ORIGINS",
    "add_entries",
    "edit_entry",
    "list_rows",
    "lists_frames",
    "read_rows_file",
    "scope_communities",
    "snapshot",
]

ORIGINS = ("hotline", "joint_meeting", "home_visit", "online", "carried_over", "base")
"""Where a row of the lists came from: a hotline call (12345), a joint meeting, a home
visit, online; carried over from the quarter before (only the next cycle's opening); the
base dataset (never entered)."""

ENTRY_ORIGINS = ORIGINS[:4]
"""The origins a key may give rows it enters."""

ACTIONS: dict[str, tuple[str, str]] = {
    "demands": ("add_demand", "edit_demand"),
    "resources": ("add_resource", "edit_resource"),
    "cadres": ("add_cadre", "edit_resource"),
}
"""The tables of the lists that can be entered, with the actions that add and edit a
row (:data:`matcher.cycle.roles.PERMISSIONS`)."""

MAX_ROWS = 5000
"""The most rows one request may enter."""

_CARRY_COLUMNS = ("origin", "carried_from", "times_carried")


def _key(table: str) -> str:
    column = TABLES_BY_NAME[table].id_column
    assert column is not None
    return column


def _columns(table: str) -> list[str]:
    return [c.name for c in TABLES_BY_NAME[table].columns]


def _invalid_rows(errors: list[dict[str, Any]]) -> ApiError:
    first = errors[0]
    detail = (
        Text(
            N_("{n} problem(s) in the rows; nothing was stored (first: {field}: {message})"),
            n=len(errors),
            field=first.get("field", ""),
            message=first.get("message", ""),
        )
        if errors
        else Text(N_("the rows were refused; nothing was stored"))
    )
    return ApiError(422, "invalid_rows", detail, errors[:200])


def _field(prefix: str, index: int, column: str | None) -> str:
    """``rows[3].priority`` (a row of many) or ``values.priority`` (an edit)."""
    field = f"{prefix}[{index}]" if prefix == "rows" else prefix
    return f"{field}.{column}" if column else field


def _row_error(
    table: str, index: int, column: str | None, value: Any, message: Text | str, prefix: str
) -> dict[str, Any]:
    return {
        "field": _field(prefix, index, column),
        "table": table,
        "index": index,
        "row": index + 2,
        "column": column,
        "value": None if value is None else str(value)[:80],
        "message": message,
    }


# ---- the lists ---------------------------------------------------------------------------


def _entries(session: Session, cycle: Cycle, table: str | None = None) -> list[CycleEntry]:
    where = [CycleEntry.cycle_id == cycle.id]
    if table is not None:
        where.append(CycleEntry.table_name == table)
    return list(session.execute(select(CycleEntry).where(*where).order_by(CycleEntry.id)).scalars())


def _overlay(frame: pd.DataFrame, table: str, entries: Sequence[CycleEntry]) -> pd.DataFrame:
    """``frame`` with each entry's row in place of the row of its key, or appended."""
    if not entries:
        return frame
    key = _key(table)
    latest = {e.row_key: e.data for e in entries}
    keys = frame[key].astype(str) if key in frame.columns else pd.Series([], dtype=str)
    extra: list[dict[str, Any]] = []
    positions = {k: i for i, k in enumerate(keys)}
    rows: list[dict[str, Any]] = [
        {str(c): v for c, v in r.items()} for r in frame.to_dict("records")
    ]
    for row_key, data in latest.items():
        if row_key in positions:
            rows[positions[row_key]] = dict(data)
        else:
            extra.append(dict(data))
    columns = list(dict.fromkeys([*frame.columns, *(c for r in extra for c in r)]))
    return pd.DataFrame.from_records([*rows, *extra], columns=columns)


def lists_frames(session: Session, cycle: Cycle) -> dict[str, pd.DataFrame]:
    """The cycle's lists: the base dataset's tables overlaid by the cycle's entries (all
    the base's demands; :func:`snapshot` keeps the cycle's)."""
    frames = store.load_frames(session, cycle.base_dataset_id)
    by_table: dict[str, list[CycleEntry]] = {}
    for entry in _entries(session, cycle):
        by_table.setdefault(entry.table_name, []).append(entry)
    for table, entries in by_table.items():
        base = frames.get(table, pd.DataFrame(columns=_columns(table)))
        frames[table] = _overlay(base, table, entries)
    return frames


def scope_communities(frames: Mapping[str, pd.DataFrame], cycle: Cycle) -> set[str]:
    """The communities of the lists in the cycle's district (and streets, when set)."""
    c = frames["communities"]
    inside = c["district"].astype(str) == cycle.district
    if cycle.streets is not None:
        inside &= c["street"].astype(str).isin([str(s) for s in cycle.streets])
    return set(c.loc[inside, "community_id"].astype(str))


def _in_cycle(frames: dict[str, pd.DataFrame], cycle: Cycle) -> dict[str, pd.DataFrame]:
    """The lists with the demands (and their lead options) of the cycle's communities."""
    out = dict(frames)
    scope = scope_communities(frames, cycle)
    demands = frames["demands"]
    out["demands"] = demands[demands["community_id"].astype(str).isin(scope)].reset_index(drop=True)
    if "lead_options" in frames:
        kept = set(out["demands"]["demand_id"].astype(str))
        lead = frames["lead_options"]
        out["lead_options"] = lead[lead["demand_id"].astype(str).isin(kept)].reset_index(drop=True)
    return out


# ---- checking rows -----------------------------------------------------------------------


def _cell_ok(value: Any) -> bool:
    if value is None or isinstance(value, str | int | float | bool):
        return True
    return isinstance(value, list) and all(isinstance(v, str | int | float) for v in value)


def _plain_row(table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """A submitted row's cells as the validator reads them (a list of skills joined)."""
    out: dict[str, Any] = {}
    for column, value in row.items():
        if isinstance(value, list):
            value = ";".join(str(v) for v in value)
        if isinstance(value, str) and not value.strip():
            value = None
        out[column] = value
    return out


def _check_cells(
    table: str, rows: Sequence[Mapping[str, Any]], prefix: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows' unknown columns and odd cells, and the rows made plain."""
    known = set(_columns(table))
    errors: list[dict[str, Any]] = []
    plain: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            errors.append(_row_error(table, i, None, None, Text(N_("a row object")), prefix))
            plain.append({})
            continue
        for column, value in row.items():
            if column not in known:
                errors.append(
                    _row_error(
                        table,
                        i,
                        str(column),
                        value,
                        Text(
                            N_("not a column of {table}; expected one of {columns}"),
                            table=table,
                            columns=", ".join(_columns(table)),
                        ),
                        prefix,
                    )
                )
            elif not _cell_ok(value):
                errors.append(
                    _row_error(
                        table,
                        i,
                        str(column),
                        value,
                        Text(N_("text, a number, or a list of words")),
                        prefix,
                    )
                )
        plain.append(_plain_row(table, row))
    return errors, plain


def _check_places(
    cycle: Cycle,
    actor: Actor,
    table: str,
    rows: Sequence[Mapping[str, Any]],
    frames: Mapping[str, pd.DataFrame],
    prefix: str,
) -> list[dict[str, Any]]:
    """Each row's community (in the lists, in the cycle's scope; the key's: 403) or unit
    (in the lists; the key's: 403)."""
    errors: list[dict[str, Any]] = []
    if table == "demands":
        known = set(frames["communities"]["community_id"].astype(str))
        scope = scope_communities(frames, cycle)
        for i, row in enumerate(rows):
            cid = row.get("community_id")
            if cid is None:
                continue
            cid = str(cid).strip()
            if cid not in known:
                message = Text(N_("a community listed in communities"))
            elif cid not in scope:
                message = Text(
                    N_("a community of the cycle ({where})"),
                    where=", ".join([cycle.district, *(cycle.streets or ())]),
                )
            else:
                check_community(actor, cid, _field(prefix, i, "community_id"))
                continue
            errors.append(_row_error(table, i, "community_id", cid, message, prefix))
    else:
        known = set(frames["units"]["unit_id"].astype(str))
        for i, row in enumerate(rows):
            uid = row.get("unit_id")
            if uid is None:
                continue
            uid = str(uid).strip()
            if uid not in known:
                errors.append(
                    _row_error(table, i, "unit_id", uid, Text(N_("a unit listed in units")), prefix)
                )
            else:
                check_unit(actor, uid, _field(prefix, i, "unit_id"))
    return errors


def _validate(
    frames: dict[str, pd.DataFrame], table: str, first: int, count: int, prefix: str
) -> matcher.Dataset:
    """Validate the lists whose ``table`` has the submitted rows at ``first`` ..
    ``first + count - 1``; a problem on one of them names it (``rows[i].column``)."""
    try:
        return matcher.dataset_from_frames(frames, "lists")
    except matcher.DatasetError as exc:
        errors: list[dict[str, Any]] = []
        for issue in exc.issues:
            index = None if issue.row is None else issue.row - 2 - first
            if issue.file == f"{table}.csv" and index is not None and 0 <= index < count:
                errors.append(
                    _row_error(
                        table,
                        index,
                        issue.column,
                        issue.value,
                        LangText(issue.expected_text),
                        prefix,
                    )
                )
            else:
                item = issue_dict(issue)
                item["field"] = f"lists.{issue.file.removesuffix('.csv')}"
                errors.append(item)
        raise _invalid_rows(errors) from None


def _typed_rows(dataset: matcher.Dataset, table: str, keys: Sequence[str]) -> list[dict[str, Any]]:
    """The validated cells of the rows of ``keys``, as JSON (empty cells left out)."""
    frame = dataset.tables()[table]
    key = _key(table)
    spec = [c for c in _columns(table) if c in frame.columns]
    indexed = frame.set_index(frame[key].astype(str), drop=False)
    out = []
    for k in keys:
        values = indexed.loc[k]
        row = {}
        for column in spec:
            value = plain_value(values[column])
            if value is None or (isinstance(value, str) and value == ""):
                continue
            row[column] = value
        out.append(row)
    return out


def _require(actor: Actor, cycle: Cycle, table: str, edit: bool) -> str:
    if table not in ACTIONS:
        raise ApiError(
            404,
            "not_found",
            Text(
                N_("no list {table}; the lists are {tables}"),
                table=repr(table),
                tables=", ".join(ACTIONS),
            ),
        )
    action = ACTIONS[table][1 if edit else 0]
    authorize(actor, cycle, action)
    return action


def add_entries(  # noqa: PLR0913 -- the carry-over's extra fields are keyword-only
    session: Session,
    cycle: Cycle,
    actor: Actor,
    table: str,
    rows: Sequence[Mapping[str, Any]],
    origin: str,
    *,
    carried_from: str | None = None,
    times_carried: int | Sequence[int] = 0,
    action: str | None = None,
    prefix: str = "rows",
) -> list[CycleEntry]:
    """Add ``rows`` to the cycle's ``table`` (``demands``, ``resources``, ``cadres``),
    all or none, each with an audit entry.

    ``origin`` is one of :data:`ORIGINS` but ``base``; ``carried_over`` (the next
    cycle's opening) needs ``carried_from`` and gives each row its ``times_carried``
    (one number, or one per row); a carried-over row may replace a base row of the same
    key (the demand's remaining hours), never another entry.

    Raises 403 (role, key's community or unit), 409 (phase), 422 ``invalid_rows`` naming
    ``rows[i].column``."""
    if table not in ACTIONS:
        _require(actor, cycle, table, False)
    action = action or ACTIONS[table][0]
    authorize(actor, cycle, action)
    if (
        origin not in ORIGINS
        or origin == "base"
        or (origin == "carried_over") != (carried_from is not None)
    ):
        raise ApiError(
            422,
            "invalid_parameter",
            Text(N_("origin must be one of {origins}"), origins=", ".join(ENTRY_ORIGINS)),
            [{"field": "origin", "value": str(origin)[:80]}],
        )
    if not rows or len(rows) > MAX_ROWS:
        raise ApiError(
            422,
            "invalid_parameter",
            Text(N_("give 1 to {max} rows"), max=MAX_ROWS),
            [{"field": prefix, "value": str(len(rows))}],
        )
    per_row = (
        [int(times_carried)] * len(rows)
        if isinstance(times_carried, int)
        else [int(t) for t in times_carried]
    )
    if origin == "carried_over":
        rows = [{k: v for k, v in r.items() if k not in _CARRY_COLUMNS} for r in rows]
    errors, plain = _check_cells(table, rows, prefix)
    frames = lists_frames(session, cycle)
    key = _key(table)
    base_frame = frames.get(table, pd.DataFrame(columns=_columns(table)))
    entered = {e.row_key for e in _entries(session, cycle, table)}
    existing = set(base_frame[key].astype(str)) if key in base_frame.columns else set()
    seen: set[str] = set()
    for i, row in enumerate(plain):
        value = row.get(key)
        k = None if value is None else str(value).strip()
        if not k:
            errors.append(_row_error(table, i, key, value, Text(N_("a non-empty id")), prefix))
            continue
        replaceable = origin == "carried_over" and k not in entered
        if k in seen or (k in existing and not replaceable):
            errors.append(
                _row_error(
                    table,
                    i,
                    key,
                    k,
                    Text(N_("an id not yet used in the cycle's {table}"), table=table),
                    prefix,
                )
            )
        seen.add(k)
        row[key] = k
    errors.extend(_check_places(cycle, actor, table, plain, frames, prefix))
    if errors:
        raise _invalid_rows(errors)
    keys = [str(r[key]) for r in plain]
    kept = (
        base_frame[~base_frame[key].astype(str).isin(set(keys))] if len(base_frame) else base_frame
    )
    checked = dict(frames)
    checked[table] = pd.concat([kept, pd.DataFrame.from_records(plain)], ignore_index=True)
    dataset = _validate(checked, table, len(kept), len(plain), prefix)
    typed = _typed_rows(dataset, table, keys)
    now = utcnow()
    out = []
    for k, data, times in zip(keys, typed, per_row, strict=True):
        entry = CycleEntry(
            cycle_id=cycle.id,
            table_name=table,
            row_key=k,
            community_id=str(data["community_id"]) if table == "demands" else None,
            unit_id=None if table == "demands" else str(data["unit_id"]),
            data=data,
            origin=origin,
            carried_from=carried_from,
            times_carried=times if origin == "carried_over" else 0,
            entered_by=actor.key_id,
            entered_role=actor.role,
            entered_at=now,
        )
        session.add(entry)
        out.append(entry)
        audit.record(
            session,
            actor,
            action,
            cycle_id=cycle.id,
            target=f"{table}:{k}",
            after={"row": data, "origin": origin, "carried_from": carried_from},
        )
    session.flush()
    return out


def _current_row(
    session: Session, cycle: Cycle, table: str, row_id: str, frames: Mapping[str, pd.DataFrame]
) -> tuple[dict[str, Any], CycleEntry | None]:
    entry = session.execute(
        select(CycleEntry).where(
            CycleEntry.cycle_id == cycle.id,
            CycleEntry.table_name == table,
            CycleEntry.row_key == row_id,
        )
    ).scalar_one_or_none()
    if entry is not None:
        return dict(entry.data), entry
    frame = frames.get(table)
    key = _key(table)
    if frame is not None and key in frame.columns:
        hit = frame[frame[key].astype(str) == row_id]
        if len(hit):
            spec = [c for c in _columns(table) if c in hit.columns]
            values = {c: plain_value(hit.iloc[0][c]) for c in spec}
            return {c: v for c, v in values.items() if v is not None}, None
    raise ApiError(
        404,
        "not_found",
        Text(N_("no row {id} in the cycle's {table}"), id=repr(row_id), table=table),
    )


def edit_entry(
    session: Session,
    cycle: Cycle,
    actor: Actor,
    table: str,
    row_id: str,
    values: Mapping[str, Any],
) -> CycleEntry:
    """Change cells of a row of the lists (an entry, or a base row: it becomes an entry
    of origin ``base``); the key stays. The same checks as :func:`add_entries`, naming
    ``values.column``; the audit entry keeps the row before and after."""
    action = _require(actor, cycle, table, True)
    key = _key(table)
    frames = lists_frames(session, cycle)
    current, entry = _current_row(session, cycle, table, row_id, frames)
    if table == "demands":
        if str(current.get("community_id")) not in scope_communities(frames, cycle):
            raise ApiError(
                404,
                "not_found",
                Text(N_("no row {id} in the cycle's {table}"), id=repr(row_id), table=table),
            )
        check_community(actor, str(current.get("community_id")))
    else:
        check_unit(actor, str(current.get("unit_id")))
    prefix = "values"
    errors, plain = _check_cells(table, [values], prefix)
    changed = plain[0]
    if key in changed and str(changed[key]).strip() != row_id:
        errors.append(
            _row_error(
                table, 0, key, changed[key], Text(N_("the row's own id {id}"), id=row_id), prefix
            )
        )
    if errors:
        raise _invalid_rows(errors)
    merged = {**current, **changed, key: row_id}
    merged = {k: v for k, v in merged.items() if not is_missing(v)}
    errors = _check_places(cycle, actor, table, [merged], frames, prefix)
    if errors:
        raise _invalid_rows(errors)
    frame = frames[table]
    kept = frame[frame[key].astype(str) != row_id]
    checked = dict(frames)
    checked[table] = pd.concat([kept, pd.DataFrame.from_records([merged])], ignore_index=True)
    dataset = _validate(checked, table, len(kept), 1, prefix)
    data = _typed_rows(dataset, table, [row_id])[0]
    now = utcnow()
    if entry is None:
        entry = CycleEntry(
            cycle_id=cycle.id,
            table_name=table,
            row_key=row_id,
            origin="base",
            entered_by=None,
            entered_role="",
            entered_at=now,
            times_carried=0,
            data=data,
        )
        session.add(entry)
    entry.data = data
    entry.community_id = str(data["community_id"]) if table == "demands" else None
    entry.unit_id = None if table == "demands" else str(data["unit_id"])
    entry.updated_by, entry.updated_at = actor.key_id, now
    audit.record(
        session,
        actor,
        action,
        cycle_id=cycle.id,
        target=f"{table}:{row_id}",
        before={"row": current},
        after={"row": data},
    )
    session.flush()
    return entry


# ---- reading -----------------------------------------------------------------------------


def list_rows(
    session: Session, cycle: Cycle, actor: Actor, table: str, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A page of a list's rows, each with its origin and who entered it when; the
    demands of the cycle's communities only, and a narrowed community or unit key sees
    its own rows."""
    if table not in ACTIONS:
        _require(actor, cycle, table, False)
    frames = lists_frames(session, cycle)
    frame = frames.get(table, pd.DataFrame(columns=_columns(table)))
    key = _key(table)
    if table == "demands":
        allowed = scope_communities(frames, cycle)
        if actor.role == "community" and actor.communities is not None:
            allowed &= set(actor.communities)
        frame = frame[frame["community_id"].astype(str).isin(allowed)]
    elif actor.role == "unit" and actor.units is not None:
        frame = frame[frame["unit_id"].astype(str).isin(set(actor.units))]
    entries = {e.row_key: e for e in _entries(session, cycle, table)}
    page = frame.iloc[offset : offset + limit]
    columns = [c for c in page.columns]
    items = []
    for values in page.itertuples(index=False, name=None):
        row = {c: plain_value(v) for c, v in zip(columns, values, strict=True)}
        row = {c: v for c, v in row.items() if v is not None}
        entry = entries.get(str(row.get(key)))
        entered = entry if entry is not None and entry.origin != "base" else None
        items.append(
            {
                "row": row,
                "origin": "base" if entry is None else entry.origin,
                "entered_role": None if entered is None else entered.entered_role,
                "entered_at": None if entered is None else entered.entered_at,
                "updated_at": None if entry is None else entry.updated_at,
                "carried_from": None if entry is None else entry.carried_from,
                "times_carried": 0 if entry is None else entry.times_carried,
            }
        )
    return items, len(frame)


def read_rows_file(table: str, body: bytes, content_type: str) -> list[dict[str, Any]]:
    """The rows of a CSV file (UTF-8) or of the ``table`` sheet of an .xlsx workbook,
    every cell as text (an empty cell left out); 422 ``invalid_file`` naming the problem."""
    workbook = "spreadsheetml" in content_type or body[:2] == b"PK"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / (f"{table}.xlsx" if workbook else f"{table}.csv")
        path.write_bytes(body)
        issues: list[ValidationIssue] = []
        if workbook:
            book = read_workbook(path)
            raw = book.raws.get(table)
            if raw is None:
                issues = [book.locate(i) for i in book.issues] or [
                    ValidationIssue.of_file(
                        path.name, Text(N_("a sheet of the table {table}"), table=table)
                    )
                ]
        else:
            raw, issues = read_file(path)
    if raw is None:
        raise ApiError(
            422,
            "invalid_file",
            Text(N_("the file cannot be read ({issue})"), issue=issue_where(issues[0]))
            if issues
            else Text(N_("the file cannot be read")),
            [issue_dict(i) for i in issues],
        )
    frame = raw.frame
    rows = []
    for values in frame.itertuples(index=False, name=None):
        rows.append(
            {
                str(c): v
                for c, v in zip(frame.columns, values, strict=True)
                if not is_missing(v) and str(v).strip() != ""
            }
        )
    return rows


# ---- the snapshot ------------------------------------------------------------------------


def _invalid_dataset(exc: matcher.DatasetError) -> ApiError:
    return invalid_dataset(
        exc,
        N_("the cycle's lists have 1 error; planning did not open ({issue})"),
        N_("the cycle's lists have {n} errors; planning did not open"),
    )


def snapshot(session: Session, cycle: Cycle, actor: Actor) -> None:
    """Store the cycle's lists as the dataset it plans (the base's tables, the demands of
    the cycle's communities, overlaid by the entries) and set ``cycle.dataset_id``; a
    stored dataset of the same content is reused. 422 ``invalid_dataset`` with the
    issues when the lists do not validate (the phase then stays)."""
    frames = _in_cycle(lists_frames(session, cycle), cycle)
    name = f"cycle {cycle.period} {cycle.district} lists"
    try:
        dataset = matcher.dataset_from_frames(frames, name)
    except matcher.DatasetError as exc:
        raise _invalid_dataset(exc) from None
    row = session.execute(
        select(DatasetRow).where(DatasetRow.content_hash == dataset.content_hash)
    ).scalar_one_or_none()
    if row is None:
        row = store.save_dataset(session, dataset, uuid.uuid4().hex, name)
    cycle.dataset_id = row.id
    session.flush()
    audit.record(
        session,
        actor,
        "snapshot_lists",
        cycle_id=cycle.id,
        target=f"dataset:{row.id}",
        after={"dataset_id": row.id, "counts": dataset.counts()},
    )
