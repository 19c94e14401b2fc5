"""Request and response bodies of the delivery and evaluation routes."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.cycles.schemas import Name, Period
from api.db.models import CycleDelivery, CyclePoints
from api.schemas import as_utc

__all__ = [
    "DecisionCreate",
    "DeliveryCreate",
    "DeliveryPublic",
    "NextCycleCreate",
    "PointsPublic",
    "ProgressPublic",
    "PublicRatingCreate",
    "PublicRatingPublic",
    "RatingAggregatePublic",
    "RatingCreate",
    "RatingPublic",
    "TokensCreate",
    "TokensPublic",
]


class DeliveryCreate(BaseModel):
    """Hours delivered on one assignment of the published list."""

    model_config = ConfigDict(extra="forbid")

    supplier_kind: Name
    supplier_id: Name
    demand_id: Name
    hours: int = Field(description="Whole hours, 1 or more, at most those left on it.")


class DeliveryPublic(BaseModel):
    """A recorded delivery and the community's decision."""

    id: int
    version: int
    supplier_kind: str
    supplier_id: str
    unit_id: str
    demand_id: str
    community_id: str
    hours: int
    status: str
    recorded_by: int | None
    recorded_at: dt.datetime
    decided_by: int | None
    decided_at: dt.datetime | None
    reason: str | None = Field(default=None, description="Why the community rejected it.")

    @classmethod
    def from_row(cls, row: CycleDelivery) -> DeliveryPublic:
        """The view of a stored delivery."""
        return cls(
            id=row.id,
            version=row.version,
            supplier_kind=row.supplier_kind,
            supplier_id=row.supplier_id,
            unit_id=row.unit_id,
            demand_id=row.demand_id,
            community_id=row.community_id,
            hours=row.hours,
            status=row.status,
            recorded_by=row.recorded_by,
            recorded_at=as_utc(row.recorded_at) or row.recorded_at,
            decided_by=row.decided_by,
            decided_at=as_utc(row.decided_at),
            reason=row.reason,
        )


class DecisionCreate(BaseModel):
    """A community's decision on a pending delivery."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["approved", "rejected"]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] = Field(
        default="", description="Why (a rejection should say what was not delivered)."
    )


class ProgressPublic(BaseModel):
    """A project's delivered hours and progress."""

    demand_id: str
    community_id: str
    planned_hours: int
    pending_hours: int
    approved_hours: int
    rejected_hours: int
    progress: float = Field(description="Approved over planned hours.")
    status: str = Field(description="not_started, in_progress or done.")


class TokensCreate(BaseModel):
    """Rating tokens to hand out to a community's residents."""

    model_config = ConfigDict(extra="forbid")

    community_id: Name
    count: int = Field(ge=1, le=500)


class TokensPublic(BaseModel):
    """The tokens issued, shown once (only their hashes are kept)."""

    community_id: str
    tokens: list[str]


class RatingCreate(BaseModel):
    """A community committee's rating of a delivered project."""

    model_config = ConfigDict(extra="forbid")

    demand_id: Name
    rating: int = Field(description="A whole number from 1 to 5.")
    comment: str | None = Field(default=None, max_length=5000)


class PublicRatingCreate(RatingCreate):
    """A resident's rating, with the token handed out to them."""

    token: str = Field(min_length=1, max_length=200)


class RatingPublic(BaseModel):
    """A rating as stored (without who rated)."""

    id: int
    demand_id: str
    community_id: str
    role: str
    rating: int
    comment: str
    at: dt.datetime


class RatingAggregatePublic(BaseModel):
    """Ratings of one group (a project, unit, community or district)."""

    level: str
    group: str
    count: int
    mean: float
    n1: int
    n2: int
    n3: int
    n4: int
    n5: int


class PublicRatingPublic(BaseModel):
    """A project's ratings, as anyone may read them."""

    demand_id: str
    count: int
    mean: float


class PointsPublic(BaseModel):
    """A cadre's approved hours and points (积分) in a closed cycle (not public)."""

    cadre_id: str
    unit_id: str
    approved_hours: int
    points: float

    @classmethod
    def from_row(cls, row: CyclePoints) -> PointsPublic:
        """The view of a stored points row."""
        return cls(
            cadre_id=row.cadre_id,
            unit_id=row.unit_id,
            approved_hours=row.approved_hours,
            points=row.points,
        )


class NextCycleCreate(BaseModel):
    """The next cycle: its quarter (default the next one) and whether cadres' hours are
    scaled by their reliability."""

    model_config = ConfigDict(extra="forbid")

    period: Period | None = None
    scale_by_reliability: bool = False
