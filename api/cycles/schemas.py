"""Request and response bodies of the cycle routes (``XCreate`` / ``XPublic``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.cycles.access import Actor
from api.db.models import AuditEntry, Cycle
from api.schemas import District, as_utc
from matcher.cycle.phases import PHASES, actions_in
from matcher.cycle.roles import actions_for

__all__ = [
    "AuditPublic",
    "CycleCreate",
    "CyclePublic",
    "MoveCreate",
    "Name",
    "Period",
    "Reason",
]

Name = District
"""A district, street, community, unit or row id."""

Period = Annotated[str, StringConstraints(pattern=r"^\d{4}-Q[1-4]$")]
"""A quarter: ``2026-Q4``."""

Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
"""A reason, comment or answer: plain text."""

Phase = Literal[PHASES]  # type: ignore[valid-type]  # the library's one list of phases


class CycleCreate(BaseModel):
    """A new cycle: where, which quarter, which phases it leaves out, and the stored
    dataset its lists start from."""

    model_config = ConfigDict(extra="forbid")

    district: Name
    streets: list[Name] | None = Field(
        default=None, min_length=1, max_length=1000, description="Null: the whole district."
    )
    period: Period = Field(description="The quarter, e.g. 2026-Q4.")
    dataset_id: Name = Field(description="The stored dataset the lists start from.")
    skipped: list[Phase] = Field(default=[], description="Phases this district leaves out.")
    starts: dict[Phase, dt.date] = Field(default={}, description="The planned first day of phases.")
    options: dict[str, Any] = Field(
        default={},
        description="Points (points_per_hour, rating_weight, neutral_rating, min_ratings) "
        "and scale_by_reliability for the next cycle.",
    )


class CyclePublic(BaseModel):
    """A cycle: its phase, what the caller may do in it, and its lists' state."""

    id: str
    district: str
    streets: list[str] | None
    period: str
    phase: str
    phases: list[str] = Field(description="The phases this cycle goes through, in order.")
    skipped: list[str]
    starts: dict[str, str]
    phase_since: dt.datetime
    moves: list[str] = Field(description="The moves that leave the current phase.")
    your_actions: list[str] = Field(description="What the caller's role may do now.")
    base_dataset_id: str
    dataset_id: str | None
    draft_run_id: str | None
    previous_cycle_id: str | None
    next_cycle_id: str | None
    options: dict[str, Any]
    created_at: dt.datetime

    @classmethod
    def from_row(cls, row: Cycle, actor: Actor) -> CyclePublic:
        """The public view of a stored cycle for ``actor``."""
        return cls(
            id=row.id,
            district=row.district,
            streets=row.streets,
            period=row.period,
            phase=row.phase,
            phases=[p for p in PHASES if p not in row.skipped],
            skipped=list(row.skipped),
            starts=dict(row.starts),
            phase_since=as_utc(row.phase_since) or row.phase_since,
            moves=list(actions_in(row.phase)),
            your_actions=list(actions_for(actor.role, row.phase)),
            base_dataset_id=row.base_dataset_id,
            dataset_id=row.dataset_id,
            draft_run_id=row.draft_run_id,
            previous_cycle_id=row.previous_cycle_id,
            next_cycle_id=row.next_cycle_id,
            options=dict(row.options),
            created_at=as_utc(row.created_at) or row.created_at,
        )


class MoveCreate(BaseModel):
    """A move's reason (required to return, withdraw or revise)."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason = ""


class AuditPublic(BaseModel):
    """An entry of the audit log."""

    id: int
    at: dt.datetime
    role: str
    key_id: int | None
    user_id: int | None = None
    action: str
    target: str
    before: Any
    after: Any
    visibility: str

    @classmethod
    def from_row(cls, row: AuditEntry, *, public: bool = False) -> AuditPublic:
        """An entry as shown; on public pages without the key or user that acted."""
        return cls(
            id=row.id,
            at=as_utc(row.at) or row.at,
            role=row.role,
            key_id=None if public else row.key_id,
            user_id=None if public else row.user_id,
            action=row.action,
            target=row.target,
            before=row.before,
            after=row.after,
            visibility=row.visibility,
        )
