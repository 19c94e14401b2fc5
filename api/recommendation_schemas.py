"""Request and response bodies of recommendation runs (``XCreate`` / ``XPublic``).

The options mirror :class:`matcher.analysis.recommend.PairingParams` and
:class:`matcher.analysis.recommend.AllianceParams`; each omitted option keeps the library's
default, and the library has the last word on every value (its refusals are 422s naming
the option). The bounds here document the library's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.db.models import Recommendation, Run
from api.schemas import ParamsCreate, QueuedRunCreate, RunStatus, optional_number, run_state

__all__ = [
    "AllianceOptionsCreate",
    "AllianceRecommendationCreate",
    "PairingOptionsCreate",
    "PairingRecommendationCreate",
    "RecommendationCreate",
    "RecommendationKind",
    "RecommendationPublic",
    "ScopeCreate",
    "TableName",
    "TableRowsPublic",
]

RecommendationKind = Literal["pairings", "alliances"]
UnitKind = Literal["government", "enterprise", "social_org", "institution"]
TableName = Literal[
    "recommendations",
    "districts",
    "units",
    "pairings",
    "gaps",
    "candidates",
    "alliances",
    "alliance_members",
    "before_after",
]
_INT32 = 2**31 - 1
_Name = Annotated[str, Field(min_length=1, max_length=200)]


def _count(description: str, ge: int = 0) -> Any:
    """A field for an optional whole number from ``ge`` up (a 32-bit integer); omitted
    (``None``), the library's default applies."""
    return Field(default=None, ge=ge, le=_INT32, description=description)


class ScopeCreate(BaseModel):
    """Which communities a recommendation concerns (``matcher.analysis.recommend.Scope``): those
    whose district, street and community id are among the values given; an omitted key
    selects every value. Each value must be one some community of the dataset has."""

    model_config = ConfigDict(extra="forbid")

    district: list[_Name] | None = Field(default=None, min_length=1, max_length=1000)
    street: list[_Name] | None = Field(default=None, min_length=1, max_length=1000)
    community_id: list[_Name] | None = Field(default=None, min_length=1, max_length=10000)


class PairingOptionsCreate(BaseModel):
    """Options of a pairing recommendation (``matcher.analysis.recommend.PairingParams``)."""

    model_config = ConfigDict(extra="forbid")

    min_partners: int | None = _count("Paired units every community ends with (1).")
    max_communities: int | None = _count(
        "Communities per unit, unless units.csv has a cap column (3)."
    )
    cap_column: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Per-unit caps' column of units.csv (max_communities).",
    )
    reconsider: bool | None = Field(
        default=None, description="Choose the scope's pairings afresh (false)."
    )
    scope: ScopeCreate | None = Field(default=None, description="Communities to pair (all).")
    value: Literal["auto", "exact", "proxy"] | None = Field(
        default=None, description="Value of a pairing: exact re-solve, proxy estimate (auto)."
    )
    exact_limit: int | None = _count("auto is exact up to this many candidates adding arcs (100).")
    balance: bool | None = Field(
        default=None, description="Spread pairings evenly over districts first (false)."
    )
    max_new: int | None = _count("At most this many new pairings (no limit).")
    max_partners: int | None = _count(
        "At most this many units per community (no limit; at least min_partners)."
    )
    unit_kinds: list[UnitKind] | None = Field(
        default=None, max_length=4, description="Only units of these kinds (every kind)."
    )
    max_km: float | None = optional_number("Only units this near, km (any).", gt=0)
    km_penalty: float | None = optional_number("Value charged per km (0.001).", ge=0)
    time_limit_s: float | None = optional_number("CP-SAT stage limit, s (30).", gt=0, le=86400)
    seed: int | None = _count("CP-SAT's seed (0).")


class AllianceOptionsCreate(BaseModel):
    """Options of an alliance recommendation (``matcher.analysis.recommend.AllianceParams``)."""

    model_config = ConfigDict(extra="forbid")

    radius_km: float | None = optional_number("Members within this of the street, km (10).", gt=0)
    max_members: int | None = _count("New members per street (no limit).", ge=1)
    unit_kinds: list[UnitKind] | None = Field(
        default=None, max_length=4, description="Only units of these kinds (every kind)."
    )
    scope: ScopeCreate | None = Field(default=None, description="Communities considered (all).")
    time_limit_s: float | None = optional_number("CP-SAT stage limit, s (10).", gt=0, le=86400)
    seed: int | None = _count("CP-SAT's seed (0).")


class _RecommendationCreate(QueuedRunCreate):
    params: ParamsCreate = Field(
        default_factory=ParamsCreate, description="Plan parameters of the plans before and after."
    )


class PairingRecommendationCreate(_RecommendationCreate):
    """A pairing recommendation run to queue."""

    kind: Literal["pairings"]
    options: PairingOptionsCreate = Field(default_factory=PairingOptionsCreate)


class AllianceRecommendationCreate(_RecommendationCreate):
    """An alliance recommendation run to queue."""

    kind: Literal["alliances"]
    options: AllianceOptionsCreate = Field(default_factory=AllianceOptionsCreate)


RecommendationCreate = Annotated[
    PairingRecommendationCreate | AllianceRecommendationCreate, Field(discriminator="kind")
]


class RecommendationPublic(BaseModel):
    """A recommendation run: its request, state, timings and headline figures."""

    id: str
    kind: RecommendationKind
    dataset_id: str
    label: str | None
    status: RunStatus
    options: dict[str, Any] = Field(description="The recommendation's options, all of them.")
    params: dict[str, Any] = Field(description="The plan parameters, all of them.")
    integer_rules: dict[str, Any]
    time_limit_s: float
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    queue_seconds: float | None = Field(description="From creation to start.")
    run_seconds: float | None = Field(description="From start to finish.")
    error: str | None = Field(description="Why it failed (a contradiction's diagnosis).")
    timings: dict[str, float] | None = Field(description="Seconds per stage of the worker.")
    objective_before: float | None = Field(description="The plan's objective without the ties.")
    objective_after: float | None = Field(description="The plan's objective with them.")
    gain: float | None = Field(description="objective_after - objective_before.")
    tables: dict[str, int] | None = Field(description="Rows per result table.")
    summary: dict[str, Any] | None = Field(
        description="The summary (pairing_summary.json / alliance_summary.json); null for a "
        "key scoped to districts (it is city-wide)."
    )

    @classmethod
    def from_rows(
        cls, run: Run, rec: Recommendation, districts: list[str] | None = None
    ) -> RecommendationPublic:
        """The public view; a district-scoped reader does not see city-wide figures."""
        scoped = districts is not None
        return cls(
            **run_state(run),
            kind=rec.kind,  # type: ignore[arg-type]
            options=rec.options,
            objective_before=None if scoped else rec.objective_before,
            objective_after=None if scoped else rec.objective_after,
            gain=None if scoped else rec.gain,
            tables={k: int(v["rows"]) for k, v in rec.tables.items()} if rec.tables else None,
            summary=None if scoped else rec.summary,
        )


class TableRowsPublic(BaseModel):
    """A page of a recommendation's table: rows as objects of the library's columns."""

    table: str
    columns: list[str] = Field(description="The table's columns, in the library's order.")
    items: list[dict[str, Any]]
    total: int = Field(description="Rows matching the filters, over all pages.")
    limit: int
    offset: int
