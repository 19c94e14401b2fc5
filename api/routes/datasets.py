"""``/datasets``: upload (zip, .xlsx workbook or JSON), list, summary, delete."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path as FilePath
from typing import IO, Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.types import DecoratedCallable
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

import matcher
from api import crud, uploads
from api.cycles.core import dataset_in_use
from api.db.models import DatasetRow
from api.deps import Planner, SessionDep, SettingsDep, Viewer
from api.errors import (
    ApiError,
    invalid_dataset,
    invalid_request,
    issue_dict,
    not_found,
    responses,
    validation_text,
)
from api.schemas import DatasetCreate, DatasetPublic, Page
from api.settings import Settings
from api.uploads import XLSX_TYPE
from matcher.i18n import N_, Text

__all__ = ["XLSX_TYPE", "file_route", "router", "workbook_response"]

router = APIRouter(prefix="/datasets", tags=["datasets"], responses=responses(400, 401, 403, 413))

DatasetId = Annotated[str, Path(min_length=1, max_length=32, description="A dataset's id.")]

_ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream")


def file_route(
    router: APIRouter, path: str, body: dict[str, Any], summary: str
) -> Callable[[DecoratedCallable], DecoratedCallable]:
    """``router``'s GET route at ``path`` answering with a file rather than JSON: ``body``
    is its 200 entry in the OpenAPI document (media type, schema, headers)."""
    return router.get(path, response_class=Response, responses={200: body}, summary=summary)


def workbook_response(description: str, example: str) -> dict[str, Any]:
    """The OpenAPI entry of a route answering with an Excel workbook as an attachment
    (``example``: a file name it gives)."""
    return {
        "content": {XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        "description": description,
        "headers": {
            "Content-Disposition": {
                "description": f"attachment; the file name, e.g. {example}",
                "schema": {"type": "string"},
            }
        },
    }


_UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "description": "A zip of the dataset's CSV/Parquet files, or an .xlsx workbook with a "
    "sheet per table (as the body, or as the form field `file`; a form's workbook is "
    "named `*.xlsx`), or the tables as JSON.",
    "content": {
        "application/json": {"schema": DatasetCreate.model_json_schema()},
        "application/zip": {"schema": {"type": "string", "format": "binary"}},
        XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "name": {"type": "string", "maxLength": 300},
                },
                "required": ["file"],
            }
        },
    },
}


def _invalid(exc: matcher.DatasetError) -> ApiError:
    # one error is named in the summary; several are counted (each is in errors[])
    return invalid_dataset(
        exc,
        N_("the dataset has 1 error; nothing was stored ({issue})"),
        N_("the dataset has {n} errors; nothing was stored"),
    )


def _refused(exc: uploads.UploadRefused) -> ApiError:
    return ApiError(exc.status, exc.code, exc.detail, [issue_dict(i) for i in exc.issues])


Stored = tuple[DatasetPublic, bool]  # the stored dataset, and whether it is new


async def _store(request: Request, dataset: matcher.Dataset, label: str) -> Stored:
    factory = request.app.state.sessionmaker
    return await run_in_threadpool(uploads.store_dataset, factory, dataset, label[:300])


async def _json_upload(request: Request, name: str, limits: uploads.UploadLimits) -> Stored:
    raw = await request.body()
    try:
        body = DatasetCreate.model_validate_json(raw)
    except ValidationError as exc:
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"]) or None,
                "message": validation_text(e),
                "type": e["type"],
            }
            for e in exc.errors()
        ]
        raise ApiError(
            422, "invalid_request", invalid_request(errors, dataset=True), errors
        ) from None
    label = name or body.name or "upload.json"
    size = len(raw)
    del raw
    dataset = await run_in_threadpool(
        uploads.refused_cleanly,
        uploads.dataset_from_records,
        size,
        body.tables,
        label,
        limits=limits,
    )
    return await _store(request, dataset, label)


async def _zip_source(
    request: Request, content_type: str, name: str, work: FilePath, stack: AsyncExitStack
) -> tuple[FilePath | IO[bytes], str, bool]:
    """Where the zip's or workbook's bytes are (the body streamed to ``work``, or a
    form's spooled file), the dataset's label, and whether they are a workbook."""
    if content_type == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=10)
        except ApiError:
            raise
        except Exception as exc:
            if getattr(exc, "status_code", None) == 413:
                raise
            raise ApiError(
                400,
                "bad_request",
                Text(N_("the form cannot be read as multipart/form-data")),
            ) from None
        stack.push_async_callback(form.close)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(
                422,
                "invalid_request",
                Text(N_("the form needs a file field 'file' holding the dataset zip")),
                [{"field": "file", "message": Text(N_("required")), "type": "missing"}],
            )
        field_name = form.get("name")
        label = (
            name
            or (field_name if isinstance(field_name, str) else "")
            or (upload.filename or "upload.zip")
        )
        workbook = (upload.filename or "").lower().endswith(".xlsx") or (
            upload.content_type or ""
        ).lower() == XLSX_TYPE
        # Starlette spooled the part to an anonymous temporary file: read it there.
        return upload.file, label, workbook
    if content_type in _ZIP_TYPES or content_type == XLSX_TYPE:
        workbook = content_type == XLSX_TYPE
        # To disk as it arrives (the body limit counts it): memory stays flat.
        path = work / (uploads.WORKBOOK if workbook else "upload.zip")
        with path.open("wb") as out:
            async for chunk in request.stream():
                out.write(chunk)
        return path, name or ("upload.xlsx" if workbook else "upload.zip"), workbook
    shown = json.dumps(content_type or "(none)")
    raise ApiError(
        415,
        "unsupported_media_type",
        Text(
            N_(
                "unsupported content type {shown}: send application/zip, {xlsx}, "
                "multipart/form-data with a 'file' field, or application/json"
            ),
            shown=shown,
            xlsx=XLSX_TYPE,
        ),
    )


async def _read_upload(request: Request, settings: Settings, work: FilePath) -> Stored:
    """Validate and store the upload: JSON tables, or a zip (the body, or a form's file)
    whose bytes are streamed to ``work`` and unpacked there within the settings' limits.
    Large unpacked tables are validated and stored by a child process."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    name = request.query_params.get("name", "")[:300]
    limits = uploads.UploadLimits.from_settings(settings)
    if content_type == "application/json" or content_type.endswith("+json"):
        return await _json_upload(request, name, limits)
    async with AsyncExitStack() as stack:
        source, label, workbook = await _zip_source(request, content_type, name, work, stack)
        unpack = uploads.check_workbook if workbook else uploads.unpack_zip
        try:
            root, total = await run_in_threadpool(unpack, source, label, limits=limits, work=work)
            if uploads.in_child(total, settings.database_url):
                return await run_in_threadpool(
                    uploads.validate_in_child, root, label[:300], limits, settings.database_url
                )
            dataset = await run_in_threadpool(
                uploads.refused_cleanly, uploads.load_tables, total, root, label, limits
            )
        except uploads.UploadRefused as exc:
            raise _refused(exc) from None
    return await _store(request, dataset, label)


@router.post(
    "",
    status_code=201,
    response_model=DatasetPublic,
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses={
        200: {"model": DatasetPublic, "description": "The same content was stored already"},
        **responses(400, 413, 415, 422, 503),
    },
    summary="Upload and validate a dataset",
)
async def upload_dataset(
    request: Request,
    response: Response,
    settings: SettingsDep,
    _who: Planner,
    name: Annotated[str, Query(max_length=300, description="A label for the dataset.")] = "",
) -> DatasetPublic:
    """Validate an uploaded dataset and store it.

    A dataset that does not validate gets 422 with every issue (file, row, column, value,
    expected), as ``matcher validate`` lists them. The same content (by content hash,
    whatever the format) gives the existing dataset with 200; new content 201.

    An .xlsx workbook (a sheet per table, named in English or Chinese) is read as
    ``matcher validate`` reads it; its issues also name the sheet, the column's letter
    and its header. A workbook is a zip: its parts are held to the same limits.

    A zip is unpacked within the service's limits, counted on the bytes actually
    decompressed: past the total, a file's size or the compression ratio, 413 naming
    the file and the setting; a CSV header with too many columns or a line too long,
    422 naming the file and line, before anything is parsed. JSON cells holding a whole
    number beyond 64 bits, an object, or text longer than a line may be are 422 naming
    the table, row and column.
    """
    try:
        with uploads.upload_folder(uploads.upload_root(settings)) as work:
            public, created = await _read_upload(request, settings, work)
    except matcher.DatasetError as exc:
        raise _invalid(exc) from None
    # The parsed tables are garbage now: their memory goes back to the system.
    await run_in_threadpool(uploads.release_memory)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/datasets/{public.id}"
    return public


@router.get("", response_model=Page[DatasetPublic], responses=responses(422))
def list_datasets(
    session: SessionDep,
    _who: Viewer,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Page[DatasetPublic]:
    """Stored datasets, newest first."""
    rows, total = crud.list_datasets(session, limit, offset)
    return Page[DatasetPublic](
        items=[DatasetPublic.from_row(r) for r in rows], total=total, limit=limit, offset=offset
    )


@router.get("/{dataset_id}", response_model=DatasetPublic, responses=responses(404, 422))
def get_dataset(dataset_id: DatasetId, session: SessionDep, _who: Viewer) -> DatasetPublic:
    """A dataset's summary: rows per table, districts, warnings, content hash, runs."""
    row = session.get(DatasetRow, dataset_id)
    if row is None:
        raise not_found("dataset", dataset_id)
    return DatasetPublic.from_row(row, runs=crud.dataset_run_count(session, dataset_id))


@router.delete("/{dataset_id}", status_code=204, responses=responses(404, 409, 422))
def delete_dataset(dataset_id: DatasetId, session: SessionDep, _who: Planner) -> Response:
    """Delete a dataset; refused (409) while any run uses it: delete those runs first."""
    row = session.get(DatasetRow, dataset_id)
    if row is None:
        raise not_found("dataset", dataset_id)
    cycle = dataset_in_use(session, dataset_id)
    if cycle is not None:
        raise ApiError(
            409,
            "dataset_in_use",
            Text(
                N_("dataset {id} holds the lists of cycle {cycle}: it is kept"),
                id=dataset_id,
                cycle=cycle,
            ),
        )
    active = crud.dataset_run_statuses(session, dataset_id)
    if active:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(active))
        raise ApiError(
            409,
            "dataset_in_use",
            Text(
                N_("dataset {id} is used by runs ({counts}); delete those runs first"),
                id=dataset_id,
                counts=counts,
            ),
        )
    crud.delete_dataset(session, row)
    return Response(status_code=204)
