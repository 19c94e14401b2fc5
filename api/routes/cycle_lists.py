"""``/cycles/{id}/lists``: the cycle's lists (demands, resources, cadres) read, added to
(JSON rows, or a CSV file or workbook sheet) and edited while the cycle collects."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from api.cycles import core, lists
from api.cycles.access import ActorDep
from api.cycles.schemas_lists import (
    EntryOrigin,
    ListRowPublic,
    RowEdit,
    RowsCreate,
    RowsEntered,
    TableName,
)
from api.deps import RowsLimit, RowsOffset, SessionDep
from api.errors import responses
from api.routes.cycles import CYCLE_RESPONSES, CycleId
from api.schemas import Page

__all__ = ["router"]

router = APIRouter(prefix="/cycles/{cycle_id}/lists", tags=["cycles"], responses=CYCLE_RESPONSES)

RowId = Annotated[str, Path(min_length=1, max_length=200, description="A row's id.")]

_FILE_BODY = {
    "required": True,
    "description": "The rows as a CSV file (UTF-8, a header naming the table's columns) "
    "or an .xlsx workbook with a sheet of the table.",
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
            "schema": {"type": "string", "format": "binary"}
        },
    },
}


@router.get("/{table}", response_model=Page[ListRowPublic])
def read_list(
    cycle_id: CycleId,
    table: TableName,
    session: SessionDep,
    actor: ActorDep,
    limit: RowsLimit = 100,
    offset: RowsOffset = 0,
) -> Page[ListRowPublic]:
    """A page of a list's rows with their origin and who entered them when (the
    demands of the cycle's communities; a narrowed key sees its own rows)."""
    cycle = core.get_cycle(session, cycle_id, actor)
    items, total = lists.list_rows(session, cycle, actor, table, limit, offset)
    return Page(items=[ListRowPublic.of(i) for i in items], total=total, limit=limit, offset=offset)


@router.post("/{table}", status_code=201, response_model=RowsEntered, responses=responses(409, 422))
def add_rows(
    cycle_id: CycleId, table: TableName, body: RowsCreate, session: SessionDep, actor: ActorDep
) -> RowsEntered:
    """Add rows to a list (communities: demands; units: resources and cadres; planners:
    any) while the cycle collects; all or none (422 naming ``rows[i].column``)."""
    cycle = core.get_cycle(session, cycle_id, actor)
    entries = lists.add_entries(session, cycle, actor, table, body.rows, body.origin)
    return RowsEntered.of(table, entries)


@router.post(
    "/{table}/file",
    status_code=201,
    response_model=RowsEntered,
    responses=responses(409, 415, 422),
    openapi_extra={"requestBody": _FILE_BODY},
)
async def add_rows_file(
    cycle_id: CycleId,
    table: TableName,
    request: Request,
    session: SessionDep,
    actor: ActorDep,
    origin: Annotated[EntryOrigin, Query(description="Where the rows came from.")],
) -> RowsEntered:
    """Add a CSV file's rows (or an .xlsx workbook's sheet of the table) to a list: the
    same checks as JSON rows, all or none (a row is named ``rows[i]``, the file's row
    ``i + 2``)."""
    from starlette.concurrency import run_in_threadpool

    body = await request.body()
    content_type = request.headers.get("content-type", "")

    def enter() -> RowsEntered:
        cycle = core.get_cycle(session, cycle_id, actor)
        rows = lists.read_rows_file(table, body, content_type)
        entries = lists.add_entries(session, cycle, actor, table, rows, origin)
        return RowsEntered.of(table, entries)

    return await run_in_threadpool(enter)


@router.patch("/{table}/{row_id}", response_model=ListRowPublic, responses=responses(409, 422))
def edit_row(
    cycle_id: CycleId,
    table: TableName,
    row_id: RowId,
    body: RowEdit,
    session: SessionDep,
    actor: ActorDep,
) -> ListRowPublic:
    """Change cells of a row (communities: their demands; units: their resources and
    cadres) while the cycle collects; the row's id stays."""
    cycle = core.get_cycle(session, cycle_id, actor)
    entry = lists.edit_entry(session, cycle, actor, table, row_id, body.values)
    return ListRowPublic.of(
        {
            "row": entry.data,
            "origin": entry.origin,
            "entered_role": entry.entered_role or None,
            "entered_at": None if entry.origin == "base" else entry.entered_at,
            "updated_at": entry.updated_at,
            "carried_from": entry.carried_from,
            "times_carried": entry.times_carried,
        }
    )
