"""Request and response bodies of the discussion, the objections to the public notice,
the published versions and the public notice page (``XCreate`` / ``XPublic``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.cycles.schemas import Name
from api.db.models import CycleComment, CycleObjection, CycleProject, CycleVersion
from api.schemas import as_utc

__all__ = [
    "Body",
    "CommentCreate",
    "CommentPublic",
    "Contact",
    "NoticeAnswer",
    "NoticeProject",
    "NoticePublic",
    "NoticeUnit",
    "ObjectionAnswerCreate",
    "ObjectionCreate",
    "ObjectionFiled",
    "ObjectionPublic",
    "ProjectPublic",
    "VersionDetail",
    "VersionPublic",
]

Body = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
"""A comment's, an objection's or an answer's text: plain text, 1 to 2000 characters."""

Contact = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
"""How to reach an objector (shown to planners only)."""


def _utc(value: dt.datetime) -> dt.datetime:
    return as_utc(value) or value


class CommentCreate(BaseModel):
    """A comment of the discussion (商议) on the draft, or on one of its projects."""

    model_config = ConfigDict(extra="forbid")

    demand_id: Name | None = Field(default=None, description="A project of the draft; null: all.")
    kind: Literal["support", "objection", "question"]
    body: Body


class CommentPublic(BaseModel):
    """A comment of the discussion."""

    id: int
    demand_id: str | None
    kind: str
    body: str
    role: str
    by_key: int | None
    at: dt.datetime

    @classmethod
    def from_row(cls, row: CycleComment) -> CommentPublic:
        """A stored comment as shown."""
        return cls(
            id=row.id,
            demand_id=row.demand_id,
            kind=row.kind,
            body=row.body,
            role=row.role,
            by_key=row.by_key,
            at=_utc(row.at),
        )


class ObjectionCreate(BaseModel):
    """An objection to the list on public notice (公示), by anyone."""

    model_config = ConfigDict(extra="forbid")

    community_id: Name
    demand_id: Name | None = Field(default=None, description="A project of the community.")
    body: Body
    contact: Contact | None = Field(
        default=None, description="Optional; seen by the planners only, never published."
    )


class ObjectionFiled(BaseModel):
    """What the objector is told: the objection's number, nothing else."""

    id: int
    cycle_id: str
    community_id: str
    demand_id: str | None
    filed_at: dt.datetime


class ObjectionAnswerCreate(BaseModel):
    """A planner's answer to an objection; ``upheld``: the objection is right (the list
    is then withdrawn to planning with the ``withdraw`` move)."""

    model_config = ConfigDict(extra="forbid")

    answer: Body
    upheld: bool


class ObjectionPublic(BaseModel):
    """An objection as the cycle's keys read it (``contact`` for planners only)."""

    id: int
    community_id: str
    demand_id: str | None
    body: str
    contact: str | None = Field(description="Planners and admins only; null for others.")
    filed_at: dt.datetime
    answer: str | None
    upheld: bool | None
    answered_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: CycleObjection, *, contact: bool) -> ObjectionPublic:
        """A stored objection, with its contact only if ``contact``."""
        return cls(
            id=row.id,
            community_id=row.community_id,
            demand_id=row.demand_id,
            body=row.body,
            contact=row.contact if contact else None,
            filed_at=_utc(row.filed_at),
            answer=row.answer,
            upheld=row.upheld,
            answered_at=None if row.answered_at is None else _utc(row.answered_at),
        )


class ProjectPublic(BaseModel):
    """A project of a published version (no cadre named)."""

    demand_id: str
    community_id: str
    district: str
    category: str
    priority: int
    hours: int
    planned_hours: int
    status: str
    lead_unit: str
    units: list[dict[str, Any]]

    @classmethod
    def from_row(cls, row: CycleProject) -> ProjectPublic:
        """A stored project as shown."""
        return cls(
            demand_id=row.demand_id,
            community_id=row.community_id,
            district=row.district,
            category=row.category,
            priority=row.priority,
            hours=row.hours,
            planned_hours=row.planned_hours,
            status=row.status,
            lead_unit=row.lead_unit,
            units=list(row.units),
        )


class VersionPublic(BaseModel):
    """A published version of the project list (frozen)."""

    version: int
    run_id: str
    published_at: dt.datetime
    published_by: int | None
    projects: int = Field(description="How many projects it holds.")

    @classmethod
    def from_row(cls, row: CycleVersion, projects: int) -> VersionPublic:
        """A stored version as listed."""
        return cls(
            version=row.version,
            run_id=row.run_id,
            published_at=_utc(row.published_at),
            published_by=row.published_by,
            projects=projects,
        )


class VersionDetail(VersionPublic):
    """A published version with its projects and its diff against the version before
    (null for the first)."""

    diff: dict[str, Any] | None
    items: list[ProjectPublic]


class NoticeUnit(BaseModel):
    """A unit serving a project, with the hours it gives."""

    unit_id: str
    name: str
    hours: int


class NoticeProject(BaseModel):
    """A community's project on the public notice."""

    demand_id: str
    category: str
    hours: int
    planned_hours: int
    status: str
    lead_unit: str
    units: list[NoticeUnit]


class NoticeAnswer(BaseModel):
    """A planner's answer to an objection about the community (the objection itself and
    its contact are not published)."""

    demand_id: str | None
    answer: str
    upheld: bool
    answered_at: dt.datetime


class NoticePublic(BaseModel):
    """A community's projects as put on notice or published, for everyone."""

    cycle_id: str
    district: str
    period: str
    phase: str
    phase_name: str
    on_notice: bool = Field(description="Whether the list may be read in this phase.")
    source: Literal["draft", "version", "none"]
    version: int | None
    since: dt.datetime | None = Field(description="When the notice or the version began.")
    community_id: str
    community_name: str
    projects: list[NoticeProject]
    answers: list[NoticeAnswer]
    audit: list[dict[str, Any]] = Field(description="The cycle's public entries: action, at.")
