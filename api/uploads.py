"""Uploaded datasets: a zip unpacked within limits, JSON tables, and the upload folder.

A zip is unpacked one member at a time, in chunks of a mebibyte, and every limit is
counted on the bytes actually decompressed, never on what the archive's headers claim:
the total (``max_unzipped_bytes``), each file (``max_file_bytes``), the compression
ratio (``max_unzip_ratio``), and, for CSV, every line's length and the header's number
of columns (:class:`matcher.inputs.io.LineCheck`) before the file is parsed. A refused upload
stops at the chunk that broke a limit, so it costs milliseconds and about a mebibyte of
memory, whatever it would have unpacked to.

The files are unpacked into a folder of their own under the server's upload folder
(one per database, ``matcher-upload-*`` inside it), removed when the request ends; the
server removes the leftovers of a killed process when it starts.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import hashlib
import multiprocessing as mp
import os
import shutil
import stat
import struct
import tempfile
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, fields, replace
from pathlib import Path, PurePosixPath
from typing import IO, Any

import pandas as pd
import pyarrow as pa
from sqlalchemy import make_url, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

import matcher
from api import store
from api.db.models import DatasetRow
from api.db.session import make_engine, make_sessionmaker
from api.schemas import DatasetPublic
from api.settings import Settings
from matcher.errors import ValidationIssue
from matcher.i18n import N_, Text
from matcher.inputs.io import SUFFIXES, LineCheck, ReadLimits
from matcher.inputs.schema import TABLE_NAMES
from matcher.inputs.zipread import CHUNK, MAX_ENTRIES, UNZIP_ERRORS, inflate, listing_too_long

__all__ = [
    "CHILD_BYTES",
    "COLLECT_BYTES",
    "INT64",
    "RATIO_FLOOR",
    "UPLOAD_PREFIX",
    "WORKBOOK",
    "XLSX_TYPE",
    "UploadLimits",
    "UploadRefused",
    "check_workbook",
    "dataset_from_records",
    "dataset_from_zip",
    "in_child",
    "load_tables",
    "prepare_upload_root",
    "refused_cleanly",
    "release_memory",
    "remove_upload_root",
    "store_dataset",
    "unpack_zip",
    "upload_folder",
    "upload_root",
    "validate_in_child",
]

UPLOAD_PREFIX = "matcher-upload-"
# Below this many bytes a member may compress as well as it likes (a tiny file of
# blanks is harmless); past it the ratio applies.
RATIO_FLOOR = 1 << 20
INT64 = (-(2**63), 2**63 - 1)
# Tables unpacking to more than this are validated (and stored) in a child process:
# parsed in the server, even with the memory trimmed afterwards, a 5 MB dataset left it
# about 35 MiB larger, a 13 MB one 65 MiB, a 40 MB one 90 MiB; from a child, 0 to 4.
CHILD_BYTES = 4 * 1024**2
COLLECT_BYTES = 1 << 20  # refused uploads larger than this run the cycle collector
_UNZIP_ERRORS = UNZIP_ERRORS
_TABLE_FILES = frozenset(f"{t}{s}" for t in TABLE_NAMES for s in SUFFIXES)


@dataclass(frozen=True)
class UploadLimits:
    """What an upload may hold; the service builds it from its settings."""

    max_unzipped_bytes: int
    max_file_bytes: int
    max_columns: int
    max_line_bytes: int
    max_unzip_ratio: int
    max_errors: int

    @classmethod
    def from_settings(cls, settings: Settings) -> UploadLimits:
        """The limits the settings name (each field is the setting of its name)."""
        return cls(**{f.name: getattr(settings, f.name) for f in fields(cls)})

    @property
    def read(self) -> ReadLimits:
        """The limits of reading one table file, for :func:`matcher.load_dataset`."""
        return ReadLimits(self.max_file_bytes, self.max_columns, self.max_line_bytes)


class UploadRefused(Exception):
    """An upload refused before validation: HTTP status, error code, message, issues
    (the message and the issues' texts are :class:`~matcher.i18n.Text`, shown in the
    reader's language)."""

    def __init__(self, status: int, code: str, detail: str, issues: list[ValidationIssue]) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.issues = issues


def _damaged(file: str, what: Text) -> UploadRefused:
    return UploadRefused(
        422,
        "invalid_upload",
        Text(N_("{file}: expected {expected}"), file=file, expected=what),
        [ValidationIssue(file, None, None, None, what)],
    )


def _too_large(file: str, what: Text, setting: str) -> UploadRefused:
    return UploadRefused(
        413,
        "upload_too_large",
        Text(
            N_("{file}: expected {expected} ({setting}); nothing was stored"),
            file=file,
            expected=what,
            setting=setting,
        ),
        [ValidationIssue(file, None, None, None, what)],
    )


def upload_root(settings: Settings) -> Path:
    """The server's upload folder: ``upload_dir``, else one in the system's temporary
    folder named after the database (one server per database, so no other server's
    uploads are in it)."""
    if settings.upload_dir:
        return Path(settings.upload_dir)
    digest = hashlib.sha256(settings.database_url.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"matcher-uploads-{digest}"


def prepare_upload_root(root: Path, *, shared_tmp: bool) -> int:
    """Create the upload folder if needed and remove what killed uploads left in it.

    Returns how many leftovers were removed. In the shared temporary folder (``shared_tmp``)
    the folder must be a real folder of this user (not a link another user planted).
    """
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(root)
    if not stat.S_ISDIR(info.st_mode) or (shared_tmp and info.st_uid != os.getuid()):
        raise RuntimeError(
            f"the upload folder {root} is not a folder of this user; set MATCHER_UPLOAD_DIR"
        )
    removed = 0
    for entry in root.iterdir():
        if not entry.name.startswith(UPLOAD_PREFIX):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed += 1
    return removed


def remove_upload_root(root: Path) -> None:
    """Remove the upload folder if it is empty (a server stopping)."""
    with suppress(OSError):  # an upload still under way, or already gone
        root.rmdir()


@contextmanager
def upload_folder(root: Path) -> Iterator[Path]:
    """A fresh ``matcher-upload-*`` folder under ``root``, removed afterwards."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=UPLOAD_PREFIX, dir=root))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def release_memory() -> None:
    """Hand the memory an upload's parsing freed back to the system.

    Freed memory otherwise stays in the process: glibc keeps its heap's free pages and
    Arrow's allocator its own, so a refused 40 MB dataset left the server about
    400 MiB larger for good.
    """
    pa.default_memory_pool().release_unused()
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def refused_cleanly(
    read: Callable[..., matcher.Dataset], size: int, *args: Any, **kwargs: Any
) -> matcher.Dataset:
    """``read(*args, **kwargs)`` of an upload of ``size`` bytes; if it refuses the
    upload, the memory its parsing took is handed back before the refusal is raised.

    The refusal is raised afresh, without the traceback whose frames hold the parsed
    tables (they would stay alive until the response is sent, too late to trim). Past
    ``COLLECT_BYTES`` the cycle collector runs first (a full collection of the server's
    heap takes about 0.3 s: not worth it for a small upload's few objects).
    """
    error: Exception | None = None
    try:
        return read(*args, **kwargs)
    except matcher.DatasetError as exc:
        error = matcher.DatasetError(exc.issues, exc.source, exc.truncated)
    except UploadRefused as exc:
        error = UploadRefused(exc.status, exc.code, exc.detail, exc.issues)
    if size > COLLECT_BYTES:
        gc.collect()
    release_memory()
    raise error


def _load_libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        return libc
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


_LIBC = _load_libc()


def _open(fp: IO[bytes], label: str) -> zipfile.ZipFile:
    """The archive's listing, once its size is known to be a dataset's."""
    try:
        listing = listing_too_long(fp)
        if listing is not None:
            raise _damaged(
                label,
                Text(
                    N_(
                        "a zip of at most {max} entries (a dataset is a few tables); "
                        "this one's listing says {entries} in {size} bytes"
                    ),
                    max=f"{MAX_ENTRIES:,}",
                    entries=f"{listing[0]:,}",
                    size=f"{listing[1]:,}",
                ),
            )
        archive = zipfile.ZipFile(fp)
    except (*_UNZIP_ERRORS, struct.error):
        raise _damaged(
            label, Text(N_("a zip archive; these bytes are not a readable zip"))
        ) from None
    if len(archive.infolist()) > MAX_ENTRIES:
        archive.close()
        raise _damaged(label, Text(N_("a zip of at most {max} entries"), max=f"{MAX_ENTRIES:,}"))
    return archive


def _unpack(
    fp: IO[bytes],
    info: zipfile.ZipInfo,
    target: Path | None,
    limits: UploadLimits,
    total: int,
    source: str,
    file: str = "",
) -> int:
    """Unpack one member into ``target`` in pieces, every limit counted on the bytes
    actually decompressed; returns the new total. Without a target the pieces are only
    counted and checked (a workbook's parts, which calamine reads from the workbook);
    ``file`` is then the name messages give the member."""
    file = target.name if target is not None else file
    if info.flag_bits & 0x1:
        raise _damaged(file, Text(N_("a file without a password; this one is encrypted")))
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise _damaged(
            file,
            Text(
                N_(
                    "a file stored or compressed with deflate (what every zip tool does by "
                    "default); this one uses compression method {method}"
                ),
                method=info.compress_type,
            ),
        )
    damaged = _damaged(
        file,
        Text(
            N_(
                "a file whose compressed data match the size and checksum the zip records; "
                "this one's do not (the archive is damaged or was altered)"
            )
        ),
    )
    check = LineCheck(file, limits.read) if file.endswith(".csv") else None
    size = 0
    crc = 0
    pieces = inflate(fp, info)
    with target.open("wb") if target is not None else open(os.devnull, "wb") as out:
        while True:
            try:
                piece, consumed = next(pieces, (b"", -1))
            except _UNZIP_ERRORS:
                raise damaged from None
            if consumed < 0:
                break
            size += len(piece)
            total += len(piece)
            if size > limits.max_file_bytes:
                raise _too_large(
                    file,
                    Text(
                        N_("a file of at most {max} bytes once unpacked; this one is larger"),
                        max=f"{limits.max_file_bytes:,}",
                    ),
                    "MATCHER_MAX_FILE_BYTES",
                )
            if total > limits.max_unzipped_bytes:
                raise _too_large(
                    file,
                    Text(
                        N_(
                            "an archive of at most {max} bytes once unpacked; the files up "
                            "to this one are larger"
                        ),
                        max=f"{limits.max_unzipped_bytes:,}",
                    ),
                    "MATCHER_MAX_UNZIPPED_BYTES",
                )
            if size > RATIO_FLOOR and size > limits.max_unzip_ratio * consumed:
                raise _too_large(
                    file,
                    Text(
                        N_(
                            "a file that unpacks to at most {ratio} times its compressed "
                            "size; this one unpacks to more (a zip bomb)"
                        ),
                        ratio=limits.max_unzip_ratio,
                    ),
                    "MATCHER_MAX_UNZIP_RATIO",
                )
            if size > info.file_size:
                # More than the headers state: they lie, or the data are not this file's.
                raise damaged
            if check is not None:
                issue = check.feed(piece)
                if issue is not None:
                    raise matcher.DatasetError([issue], source)
            crc = zlib.crc32(piece, crc)
            out.write(piece)
    if size != info.file_size or crc != info.CRC:
        raise damaged
    if check is not None:
        issue = check.close()
        if issue is not None:
            raise matcher.DatasetError([issue], source)
    return total


def unpack_zip(
    source: str | Path | IO[bytes], name: str, *, limits: UploadLimits, work: Path
) -> tuple[Path, int]:
    """Unpack a zip's tables into ``work / "tables"``, each within ``limits``.

    The tables may sit at the top of the archive or in one folder inside it. Returns
    the folder and the bytes unpacked.

    Raises
    ------
    UploadRefused
        413 past a byte limit; 422 if the bytes are not a usable zip.
    matcher.DatasetError
        The line or column limit a CSV file breaks.
    """
    with ExitStack() as stack:
        if isinstance(source, str | Path):
            fp: IO[bytes] = stack.enter_context(open(source, "rb"))
        else:
            fp = source
        archive = stack.enter_context(_open(fp, name))
        files = [i for i in archive.infolist() if not i.is_dir() and not _ignored(i.filename)]
        parents = {str(PurePosixPath(i.filename).parent) for i in files}
        folder = parents.pop() if len(parents) == 1 else "."
        root = work / "tables"
        root.mkdir()
        total = 0
        for info in files:
            path = PurePosixPath(info.filename)
            if str(path.parent) != folder or path.name in ("", ".", ".."):
                continue  # only the tables' folder is read; never write outside work
            if path.name not in _TABLE_FILES:
                # Only the name matters (a hint for 'Cadres.CSV' or 'cadres.xlsx'):
                # the content is never unpacked.
                (root / path.name).touch()
                continue
            total = _unpack(fp, info, root / path.name, limits, total, name)
    return root, total


WORKBOOK = "workbook.xlsx"  # an uploaded workbook's file in the upload's folder
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
"""The media type of an Excel workbook (uploads and downloads)."""


def check_workbook(
    source: str | Path | IO[bytes], name: str, *, limits: UploadLimits, work: Path
) -> tuple[Path, int]:
    """Save an uploaded .xlsx workbook as ``work / WORKBOOK`` and check its parts as a
    zip's members are checked (the total, each part's size, the ratio, counted on the
    bytes actually decompressed) before calamine reads it; the path and the bytes its
    parts unpack to.

    Raises
    ------
    UploadRefused
        413 past a byte limit; 422 if the bytes are not a usable zip (an .xlsx is one).
    """
    target = work / WORKBOOK
    if isinstance(source, str | Path):
        if Path(source) != target:
            shutil.copyfile(source, target)
    else:
        source.seek(0)
        with target.open("wb") as out:
            shutil.copyfileobj(source, out, CHUNK)
    total = 0
    with target.open("rb") as fp, _open(fp, name) as archive:
        for info in archive.infolist():
            if not info.is_dir():
                part = f"{name} ({info.filename})"
                total = _unpack(fp, info, None, limits, total, name, part)
    return target, total


def load_tables(root: Path, name: str, limits: UploadLimits) -> matcher.Dataset:
    """Validate unpacked tables, or an uploaded workbook (the same as ``matcher
    validate``), named ``name``."""
    try:
        return matcher.load_dataset(root, max_errors=limits.max_errors, limits=limits.read)
    except matcher.DatasetError as exc:
        # A workbook's issues name the file as saved here: they name the upload instead.
        issues = [replace(i, file=name) if i.file == WORKBOOK else i for i in exc.issues]
        raise matcher.DatasetError(issues, name, exc.truncated) from None


def dataset_from_zip(
    source: str | Path | IO[bytes], name: str, *, limits: UploadLimits, work: Path
) -> matcher.Dataset:
    """Validate a zip of the spec's CSV/Parquet files as a dataset (in this process).

    Raises
    ------
    UploadRefused
        413 past a byte limit; 422 if the bytes are not a usable zip.
    matcher.DatasetError
        With every validation problem, or the line or column limit a CSV file breaks.
    """
    root, _ = unpack_zip(source, name, limits=limits, work=work)
    return load_tables(root, name, limits)


def store_dataset(
    factory: sessionmaker[Session], dataset: matcher.Dataset, label: str
) -> tuple[DatasetPublic, bool]:
    """Store a validated dataset unless the same content is stored already; the stored
    dataset and whether it is new."""
    digest = dataset.content_hash
    with factory() as session:
        existing = session.execute(
            select(DatasetRow).where(DatasetRow.content_hash == digest)
        ).scalar_one_or_none()
        if existing is not None:
            return DatasetPublic.from_row(existing), False
        try:
            row = store.save_dataset(session, dataset, digest[:24], label)
            session.commit()
        except IntegrityError:
            session.rollback()
            existing = session.execute(
                select(DatasetRow).where(DatasetRow.content_hash == digest)
            ).scalar_one()
            return DatasetPublic.from_row(existing), False
        return DatasetPublic.from_row(row, runs=0), True


def in_child(total: int, database_url: str) -> bool:
    """Whether tables that unpacked to ``total`` bytes are validated in a child process:
    large ones, when the child can reach the store (not an in-memory SQLite)."""
    if total <= CHILD_BYTES:
        return False
    url = make_url(database_url)
    return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))


def _validate_and_store(
    root: str, name: str, limits: UploadLimits, database_url: str
) -> tuple[bool, Any, int]:
    """In the child: validate and store; plain data back (a ``DatasetError`` does not
    survive pickling): (True, the dataset's public view, 1 if new) or (False, the
    issues, how many more)."""
    try:
        dataset = load_tables(Path(root), name, limits)
    except matcher.DatasetError as exc:
        return False, list(exc.issues), exc.truncated
    engine = make_engine(database_url)
    try:
        public, created = store_dataset(make_sessionmaker(engine), dataset, name)
    finally:
        engine.dispose()
    return True, public.model_dump(mode="json"), int(created)


_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _child_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
            # One child at a time, a fresh one for each upload: large uploads queue
            # rather than add up in memory, and each child's memory goes when it ends.
            _pool = ProcessPoolExecutor(1, mp_context=mp.get_context(method), max_tasks_per_child=1)
        return _pool


def validate_in_child(
    root: Path, name: str, limits: UploadLimits, database_url: str
) -> tuple[DatasetPublic, bool]:
    """Validate and store unpacked tables in a child process, so that the server's
    memory never holds the parsed tables: a large upload, refused or stored, leaves the
    server as large as it was.

    Raises
    ------
    matcher.DatasetError
        With every validation problem.
    UploadRefused
        503 if the child died (out of memory, killed).
    """
    global _pool
    try:
        ok, payload, extra = (
            _child_pool()
            .submit(_validate_and_store, str(root), name, limits, database_url)
            .result()
        )
    except BrokenProcessPool:
        with _pool_lock:
            _pool = None
        raise UploadRefused(
            503,
            "validation_failed",
            Text(
                N_(
                    "the process validating this dataset stopped (out of memory?); nothing "
                    "was stored. Try again, or split the dataset"
                )
            ),
            [],
        ) from None
    if not ok:
        raise matcher.DatasetError(payload, name, extra)
    return DatasetPublic.model_validate(payload), bool(extra)


def _ignored(filename: str) -> bool:
    parts = PurePosixPath(filename).parts
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


_PLAIN = (str, float, bool, type(None))


def _cell_problem(value: Any, max_bytes: int) -> Text | None:
    """What is wrong with a JSON cell, or ``None``: a number beyond 64 bits, an object,
    a list of lists, or text longer than a CSV line may be."""
    kind = type(value)
    if kind is int:
        if INT64[0] <= value <= INT64[1]:
            return None
        return Text(
            N_("a whole number from {low} to {high} (64 bits); give a longer id as a JSON string"),
            low=f"{INT64[0]:,}",
            high=f"{INT64[1]:,}",
        )
    if kind is str:
        if len(value) <= max_bytes // 4 or len(value.encode()) <= max_bytes:
            return None
        return Text(N_("a value of at most {max} bytes"), max=f"{max_bytes:,}")
    if kind in _PLAIN:
        return None
    if kind is list:
        for item in value:
            if type(item) is list or type(item) is dict:
                return Text(N_("a list of plain values (text or numbers), such as skills"))
            problem = _cell_problem(item, max_bytes)
            if problem is not None:
                return problem
        return None
    return Text(N_("text, a number, true or false, null, or a list of plain values; got an object"))


def _shown(value: Any) -> str | None:
    if type(value) is int:
        text = str(value)
        return text if len(text) <= 80 else text[:77] + "..."
    if type(value) is str:
        return value if len(value) <= 80 else value[:77] + "..."
    return None


def _record_issues(
    tables: Mapping[str, list[dict[str, Any]]], limits: UploadLimits
) -> Iterator[ValidationIssue]:
    """Cells the store and solvers cannot take, and tables past the column limit, each
    named as the CSV errors name them (file, row as a spreadsheet shows it, column)."""
    for table, rows in tables.items():
        file = f"{table}.csv"
        columns: set[str] = set()
        for row in rows:
            columns.update(row)
            if len(columns) > limits.max_columns:
                break
        if len(columns) > limits.max_columns:
            yield ValidationIssue(
                file,
                1,
                None,
                None,
                Text(
                    N_("at most {max} columns; the rows name more"),
                    max=f"{limits.max_columns:,}",
                ),
            )
            continue
        for number, row in enumerate(rows, start=2):
            for column, value in row.items():
                if type(value) in _PLAIN and type(value) is not str:
                    continue
                problem = _cell_problem(value, limits.max_line_bytes)
                if problem is not None:
                    yield ValidationIssue(file, number, column, _shown(value), problem)


def dataset_from_records(
    tables: Mapping[str, list[dict[str, Any]]], name: str, *, limits: UploadLimits
) -> matcher.Dataset:
    """Validate JSON tables (a list of row objects per table) as a dataset.

    Cells are checked first: a whole number beyond 64 bits, an object, or text longer
    than a line may be is an error naming its table, row and column.
    """
    issues: list[ValidationIssue] = []
    extra = 0
    for issue in _record_issues(tables, limits):
        if len(issues) < limits.max_errors:
            issues.append(issue)
        else:
            extra += 1
    if issues:
        raise matcher.DatasetError(issues, name, extra)
    frames = {
        t: pd.DataFrame.from_records(rows) if rows else pd.DataFrame() for t, rows in tables.items()
    }
    return matcher.dataset_from_frames(frames, name, max_errors=limits.max_errors)
