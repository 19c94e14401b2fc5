"""Request and response bodies of the cycle's draft (``/cycles/{id}/runs``,
``/cycles/{id}/draft``, ``/cycles/{id}/edits``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.db.models import CycleEdit
from api.schemas import IntegerRulesCreate, ParamsCreate, as_utc, optional_number
from matcher.cycle.projects import EDIT_CHANGE_PENALTY

__all__ = [
    "AdoptCreate",
    "CycleRunCreate",
    "DraftEditCreate",
    "DraftEditsCreate",
    "DraftPublic",
    "EditPublic",
    "EditResult",
    "StableCreate",
]

_ID = Field(min_length=1, max_length=200)


class CycleRunCreate(BaseModel):
    """A plan run of the cycle's lists: POST /runs' body without the dataset."""

    model_config = ConfigDict(extra="forbid")

    params: ParamsCreate = Field(default_factory=ParamsCreate)
    integer_rules: IntegerRulesCreate = Field(default_factory=IntegerRulesCreate)
    label: str | None = Field(default=None, max_length=300)
    time_limit_s: float | None = optional_number(
        "Wall-clock limit of the run in seconds (never more than the server's).", gt=0
    )
    warm_start_run_id: str | None = Field(default=None, min_length=1, max_length=32)


class AdoptCreate(BaseModel):
    """The run to adopt as the draft project list."""

    model_config = ConfigDict(extra="forbid")

    run_id: str = Field(min_length=1, max_length=32)


class DraftEditCreate(BaseModel):
    """One edit of the draft (docs/cycle.md): ``exclude`` or ``pin`` an assignment, or
    ``move_hours`` of it to another supplier (``hours``, ``to_kind``, ``to_id``)."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["exclude", "pin", "move_hours"]
    supplier_kind: str = Field(max_length=16)
    supplier_id: str = _ID
    demand_id: str = _ID
    hours: int | None = None
    to_kind: str | None = Field(default=None, max_length=16)
    to_id: str | None = Field(default=None, max_length=200)


class DraftEditsCreate(BaseModel):
    """Edits of the draft, applied in order, and the re-plan's change penalty."""

    model_config = ConfigDict(extra="forbid")

    edits: list[DraftEditCreate] = Field(min_length=1, max_length=500)
    change_penalty: float = Field(
        default=EDIT_CHANGE_PENALTY,
        ge=0,
        allow_inf_nan=False,
        description="Objective lost per hour changed against the draft (the default keeps "
        "every assignment the edits do not force to change, when an equally good plan does).",
    )


class StableCreate(BaseModel):
    """A stable plan against the cycle before's published list."""

    model_config = ConfigDict(extra="forbid")

    change_penalty: float = Field(ge=0, allow_inf_nan=False)


class EditResult(BaseModel):
    """A stored re-plan of the draft: its new run, what changed, the objectives."""

    edit_id: int
    run_id: str
    run_before: str | None
    churn: dict[str, Any] | None
    objective_before: float | None
    objective_after: float | None


class EditPublic(BaseModel):
    """An edit made to the draft."""

    id: int
    action: str
    edits: list[Any]
    run_before: str | None
    run_after: str
    churn: dict[str, Any] | None
    by_key: int | None
    at: dt.datetime

    @classmethod
    def from_row(cls, row: CycleEdit) -> EditPublic:
        """The public view of a stored edit."""
        return cls(
            id=row.id,
            action=row.action,
            edits=list(row.edits),
            run_before=row.run_before,
            run_after=row.run_after,
            churn=row.churn,
            by_key=row.by_key,
            at=as_utc(row.at) or row.at,
        )


class DraftPublic(BaseModel):
    """The draft project list: its run's figures and its projects (``public``: no
    supplier named)."""

    run_id: str
    objective: float | None
    bound: float | None
    gap: float | None
    public: bool
    projects: list[dict[str, Any]]
