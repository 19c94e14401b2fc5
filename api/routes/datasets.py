"""``/datasets``: upload (zip or JSON), list, summary, delete."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

import matcher
from api import store
from api.db.models import DatasetRow, DatasetTable, Run
from api.deps import Planner, SessionDep, SettingsDep, Viewer
from api.errors import ApiError, not_found, responses
from api.schemas import DatasetCreate, DatasetPublic, Page

router = APIRouter(prefix="/datasets", tags=["datasets"], responses=responses(400, 401, 403, 413))

DatasetId = Annotated[str, Path(min_length=1, max_length=32, description="A dataset's id.")]

_ZIP_TYPES = ("application/zip", "application/x-zip-compressed", "application/octet-stream")
_UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "description": "A zip of the dataset's CSV/Parquet files (as the body, or as the form "
    "field `file`), or the tables as JSON.",
    "content": {
        "application/json": {"schema": DatasetCreate.model_json_schema()},
        "application/zip": {"schema": {"type": "string", "format": "binary"}},
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
    n = len(exc.issues) + exc.truncated
    return ApiError(
        422,
        "invalid_dataset",
        f"the dataset has {n} error{'s' if n != 1 else ''}; nothing was stored",
        errors=[i.to_dict() for i in exc.issues],
        truncated=exc.truncated,
    )


async def _read_upload(
    request: Request, max_errors: int, max_unzipped: int
) -> tuple[matcher.Dataset, str]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    name = request.query_params.get("name", "")[:300]
    if content_type == "application/json" or content_type.endswith("+json"):
        raw = await request.body()
        try:
            body = DatasetCreate.model_validate_json(raw)
        except ValidationError as exc:
            errors = [
                {
                    "field": ".".join(str(p) for p in e["loc"]) or None,
                    "message": e["msg"],
                    "type": e["type"],
                }
                for e in exc.errors()
            ]
            where = f" ({errors[0]['field']})" if errors and errors[0]["field"] else ""
            raise ApiError(
                422,
                "invalid_request",
                f"invalid JSON dataset{where}: {errors[0]['message']}",
                errors,
            ) from None
        label = name or body.name or "upload.json"
        tables = body.tables
        return (
            await run_in_threadpool(
                store.dataset_from_records, tables, label, max_errors=max_errors
            ),
            label,
        )
    if content_type == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=10)
        except ApiError:
            raise
        except Exception as exc:
            if getattr(exc, "status_code", None) == 413:
                raise
            raise ApiError(400, "bad_request", f"the form cannot be read ({exc})") from None
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(
                422,
                "invalid_request",
                "the form needs a file field 'file' holding the dataset zip",
                [{"field": "file", "message": "required", "type": "missing"}],
            )
        data = await upload.read()
        field_name = form.get("name")
        label = (
            name
            or (field_name if isinstance(field_name, str) else "")
            or (upload.filename or "upload.zip")
        )
    elif content_type in _ZIP_TYPES:
        data = await request.body()
        label = name or "upload.zip"
    else:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"unsupported content type {content_type or '(none)'!r}: send application/zip, "
            "multipart/form-data with a 'file' field, or application/json",
        )
    try:
        dataset = await run_in_threadpool(
            store.dataset_from_zip, data, label, max_unzipped=max_unzipped, max_errors=max_errors
        )
    except store.UploadError as exc:
        raise ApiError(
            422,
            "invalid_upload",
            str(exc),
            [
                {
                    "file": label,
                    "row": None,
                    "column": None,
                    "value": None,
                    "expected": str(exc),
                    "severity": "error",
                }
            ],
        ) from None
    return dataset, label[:300]


@router.post(
    "",
    status_code=201,
    response_model=DatasetPublic,
    openapi_extra={"requestBody": _UPLOAD_BODY},
    responses={
        200: {"model": DatasetPublic, "description": "The same content was stored already"},
        **responses(400, 413, 415, 422),
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
    """
    try:
        dataset, label = await _read_upload(
            request, settings.max_errors, settings.max_unzipped_bytes
        )
    except matcher.DatasetError as exc:
        raise _invalid(exc) from None
    factory = request.app.state.sessionmaker

    def save() -> tuple[DatasetPublic, bool]:
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

    public, created = await run_in_threadpool(save)
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
    total = session.execute(select(func.count()).select_from(DatasetRow)).scalar_one()
    rows = (
        session.execute(
            select(DatasetRow)
            .order_by(DatasetRow.created_at.desc(), DatasetRow.id)
            .limit(limit)
            .offset(offset)
        )
        .scalars()
        .all()
    )
    return Page[DatasetPublic](
        items=[DatasetPublic.from_row(r) for r in rows], total=total, limit=limit, offset=offset
    )


def _runs_using(session: SessionDep, dataset_id: str) -> int:
    return int(
        session.execute(select(func.count()).where(Run.dataset_id == dataset_id)).scalar_one()
    )


@router.get("/{dataset_id}", response_model=DatasetPublic, responses=responses(404, 422))
def get_dataset(dataset_id: DatasetId, session: SessionDep, _who: Viewer) -> DatasetPublic:
    """A dataset's summary: rows per table, districts, warnings, content hash, runs."""
    row = session.get(DatasetRow, dataset_id)
    if row is None:
        raise not_found("dataset", dataset_id)
    return DatasetPublic.from_row(row, runs=_runs_using(session, dataset_id))


@router.delete("/{dataset_id}", status_code=204, responses=responses(404, 409, 422))
def delete_dataset(dataset_id: DatasetId, session: SessionDep, _who: Planner) -> Response:
    """Delete a dataset; refused (409) while any run uses it: delete those runs first."""
    row = session.get(DatasetRow, dataset_id)
    if row is None:
        raise not_found("dataset", dataset_id)
    active = session.execute(
        select(Run.status, func.count()).where(Run.dataset_id == dataset_id).group_by(Run.status)
    ).all()
    if active:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(active))
        raise ApiError(
            409,
            "dataset_in_use",
            f"dataset {dataset_id} is used by runs ({counts}); delete those runs first",
        )
    session.execute(delete(DatasetTable).where(DatasetTable.dataset_id == dataset_id))
    session.delete(row)
    return Response(status_code=204)
