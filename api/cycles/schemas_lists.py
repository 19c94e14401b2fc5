"""Request and response bodies of the cycle's lists (``/cycles/{id}/lists``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.cycles.lists import ENTRY_ORIGINS, MAX_ROWS, ORIGINS
from api.db.models import CycleEntry
from api.schemas import as_utc

__all__ = ["EntryOrigin", "ListRowPublic", "RowEdit", "RowsCreate", "RowsEntered", "TableName"]

TableName = Literal["demands", "resources", "cadres"]
"""A list that can be entered."""

EntryOrigin = Literal["hotline", "joint_meeting", "home_visit", "online"]
"""Where rows a key enters came from."""
assert EntryOrigin.__args__ == ENTRY_ORIGINS  # type: ignore[attr-defined]  # one list


class RowsCreate(BaseModel):
    """Rows to add to a list (one or many; all or none are stored)."""

    model_config = ConfigDict(extra="forbid")

    rows: list[dict[str, Any]] = Field(
        min_length=1, max_length=MAX_ROWS, description="The rows, with the table's columns."
    )
    origin: EntryOrigin = Field(description="Where the rows came from.")


class RowEdit(BaseModel):
    """Cells of a row to change (the row's id stays)."""

    model_config = ConfigDict(extra="forbid")

    values: dict[str, Any] = Field(min_length=1, max_length=100)


class RowsEntered(BaseModel):
    """Rows stored in a list."""

    table: str
    count: int
    keys: list[str]
    origin: str

    @classmethod
    def of(cls, table: str, entries: list[CycleEntry]) -> RowsEntered:
        """What :func:`api.cycles.lists.add_entries` stored."""
        return cls(
            table=table,
            count=len(entries),
            keys=[e.row_key for e in entries],
            origin=entries[0].origin if entries else "",
        )


class ListRowPublic(BaseModel):
    """A row of a list, with where it came from and who entered it (a role) when."""

    row: dict[str, Any]
    origin: Literal[ORIGINS]  # type: ignore[valid-type]
    entered_role: str | None
    entered_at: dt.datetime | None
    updated_at: dt.datetime | None
    carried_from: str | None
    times_carried: int

    @classmethod
    def of(cls, item: dict[str, Any]) -> ListRowPublic:
        """An item of :func:`api.cycles.lists.list_rows`."""
        return cls(
            **{
                **item,
                "entered_at": as_utc(item["entered_at"]),
                "updated_at": as_utc(item["updated_at"]),
            }
        )
