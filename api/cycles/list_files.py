"""An uploaded file of a cycle's lists, read into each list's rows: one CSV file, a zip of
``<list>.csv`` files or an Excel workbook, unpacked within the service's upload limits
(:mod:`api.uploads`); the rows are then entered by :func:`api.cycles.lists.add_entries`."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any

import matcher
from api import uploads
from api.cycles import lists
from api.errors import ApiError, issue_dict
from api.settings import Settings
from api.uploads import XLSX_TYPE
from matcher.i18n import N_, Text
from matcher.inputs.aliases import sheet_name
from matcher.inputs.xlsx import read_workbook

__all__ = ["ALL", "TABLES", "file_rows"]

TABLES: tuple[str, ...] = tuple(lists.ACTIONS)
"""The lists a cycle keeps (demands, resources, cadres)."""
ALL = "all"
"""``file_rows``' target for every list the file holds."""


def _file_kind(name: str, body: bytes) -> str:
    suffix = PurePosixPath(name.lower()).suffix
    if suffix in (".xlsx", ".zip", ".csv"):
        return suffix[1:]
    return "zip" if body[:2] == b"PK" else "csv"


def _refused(exc: uploads.UploadRefused) -> ApiError:
    return ApiError(exc.status, exc.code, exc.detail, [issue_dict(i) for i in exc.issues])


def _unreadable(exc: matcher.DatasetError) -> ApiError:
    return ApiError(
        422,
        "invalid_file",
        Text(N_("the file cannot be read")),
        [issue_dict(i) for i in exc.issues],
    )


def _no_list(tables: Sequence[str], where: str) -> ApiError:
    return ApiError(
        422,
        "invalid_file",
        Text(
            N_("{file} holds none of the lists {tables}"),
            file=where,
            tables=", ".join(f"{t}.csv" for t in tables),
        ),
        [{"field": "file", "file": where}],
    )


def _workbook_rows(
    body: bytes, name: str, tables: Sequence[str], every: bool, settings: Settings
) -> list[tuple[str, str, list[dict[str, Any]]]]:
    limits = uploads.UploadLimits.from_settings(settings)
    with uploads.upload_folder(uploads.upload_root(settings)) as work:
        try:
            path, _bytes = uploads.check_workbook(io.BytesIO(body), name, limits=limits, work=work)
        except uploads.UploadRefused as exc:
            raise _refused(exc) from None
        if every:
            held = set(read_workbook(path).raws)
            tables = [t for t in tables if t in held]
            if not tables:
                raise _no_list(TABLES, name)
    return [
        (t, sheet_name(t, "zh") + " / " + t, lists.read_rows_file(t, body, XLSX_TYPE))
        for t in tables
    ]


def _zip_rows(
    body: bytes, name: str, tables: Sequence[str], every: bool, settings: Settings
) -> list[tuple[str, str, list[dict[str, Any]]]]:
    limits = uploads.UploadLimits.from_settings(settings)
    out = []
    with uploads.upload_folder(uploads.upload_root(settings)) as work:
        try:
            root, _bytes = uploads.unpack_zip(io.BytesIO(body), name, limits=limits, work=work)
        except uploads.UploadRefused as exc:
            raise _refused(exc) from None
        except matcher.DatasetError as exc:
            raise _unreadable(exc) from None
        for t in tables:
            path = root / f"{t}.csv"
            if path.is_file() and path.stat().st_size > 0:
                out.append((t, f"{t}.csv", lists.read_rows_file(t, path.read_bytes(), "text/csv")))
            elif not every:
                raise _no_list([t], name)
    if not out:
        raise _no_list(tables, name)
    return out


def file_rows(
    body: bytes, name: str, target: str, tables: Sequence[str], settings: Settings
) -> list[tuple[str, str, list[dict[str, Any]]]]:
    """Each list's rows an uploaded file holds: ``(table, where, rows)``.

    ``target`` is one list (a CSV file holds one) or :data:`ALL` (every list of
    ``tables`` the file holds: a zip of ``<list>.csv`` files, or a workbook's sheets named
    in Chinese or English). Zips and workbooks are unpacked within the service's upload
    limits (``settings``) in a folder of their own, removed afterwards. Raises
    :class:`~api.errors.ApiError`: 413 or 422 for a file refused or unreadable, 422 for
    a file holding none of the lists, with the problems as items."""
    every = target == ALL
    wanted = list(tables) if every else [target]
    kind = _file_kind(name, body)
    if kind == "xlsx":
        return _workbook_rows(body, name, wanted, every, settings)
    if kind == "zip":
        return _zip_rows(body, name, wanted, every, settings)
    if every:
        stem = PurePosixPath(name).stem
        if stem not in wanted:
            raise ApiError(
                422,
                "invalid_parameter",
                Text(N_("a CSV file holds one list: choose which")),
                [{"field": "upload_table", "value": target}],
            )
        wanted = [stem]
    return [(wanted[0], name, lists.read_rows_file(wanted[0], body, "text/csv"))]
