"""The store's tables.

Plan results are plain SQL tables, one row per assignment, per demand status and per
KPI, keyed by ``run_id``, so that dashboards (Superset, Metabase, Grafana) can query
them directly. Times are UTC, stored without a time zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ACTIVE_STATUSES",
    "ROLES",
    "RUN_STATUSES",
    "ApiKey",
    "Assignment",
    "Base",
    "DatasetRow",
    "DatasetTable",
    "DemandStatus",
    "Funding",
    "Lead",
    "Recommendation",
    "RecommendationRow",
    "Run",
    "RunArtifact",
    "RunDual",
    "RunKpi",
    "utcnow",
]

RUN_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
ACTIVE_STATUSES = ("queued", "running")
ROLES = ("viewer", "planner", "admin")


def utcnow() -> datetime:
    """The current UTC time without a time zone (how the store keeps times)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _run_key() -> Mapped[str]:
    """A ``run_id`` column: the run a row belongs to (deleted with it), the first part
    of the row's key."""
    return mapped_column(String(32), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)


def _row_no() -> Mapped[int]:
    """A ``row_no`` column: the row's place in its table (part of its key, not generated)."""
    return mapped_column(Integer, primary_key=True, autoincrement=False)


class Base(DeclarativeBase):
    """Base of the store's models."""


class ApiKey(Base):
    """An API key: only its SHA-256 is kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    districts: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class DatasetRow(Base):
    """A validated dataset (its tables are in ``dataset_tables``)."""

    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300), default="")
    tables: Mapped[dict[str, Any]] = mapped_column(JSON)
    districts: Mapped[list[Any]] = mapped_column(JSON)
    warnings: Mapped[list[Any]] = mapped_column(JSON)
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DatasetTable(Base):
    """One table of a dataset, as a Parquet file."""

    __tablename__ = "dataset_tables"

    dataset_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    table_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    rows: Mapped[int] = mapped_column(Integer)
    parquet: Mapped[bytes] = mapped_column(LargeBinary)


class Run(Base):
    """A planning run: its request, its state and its plan's headline figures."""

    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # "plan", or a recommendation ("pairings", "alliances"; see Recommendation).
    kind: Mapped[str] = mapped_column(String(16), default="plan", server_default="plan")
    base_dataset_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    scenario: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # A plan run whose LP duals start this one's column solver (no foreign key: deleting
    # that run leaves this one as it is, and a later start of it plans cold).
    warm_start_run_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    dataset_id: Mapped[str] = mapped_column(String(32), ForeignKey("datasets.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(300), nullable=True, index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    integer_rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    time_limit_s: Mapped[float] = mapped_column(Float)
    idempotency_key: Mapped[str | None] = mapped_column(String(300), nullable=True, unique=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    worker_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    solver: Mapped[str | None] = mapped_column(String(100), nullable=True)
    solver_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    proven_optimal: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    objective: Mapped[float | None] = mapped_column(Float, nullable=True)
    bound: Mapped[float | None] = mapped_column(Float, nullable=True)
    gap: Mapped[float | None] = mapped_column(Float, nullable=True)
    hours_demanded: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hours_covered: Mapped[int | None] = mapped_column(Integer, nullable=True)
    coverage: Mapped[float | None] = mapped_column(Float, nullable=True)
    timings: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    kpis: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Assignment(Base):
    """One row of a plan's ``assignments`` table (plus the community's district)."""

    __tablename__ = "assignments"
    __table_args__ = (Index("ix_assignments_run_district", "run_id", "district"),)

    run_id: Mapped[str] = _run_key()
    row_no: Mapped[int] = _row_no()
    supplier_kind: Mapped[str] = mapped_column(String(16))
    supplier_id: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[str] = mapped_column(String(200))
    demand_id: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(200))
    hours: Mapped[int] = mapped_column(Integer)
    km: Mapped[float] = mapped_column(Float)
    tie: Mapped[str] = mapped_column(String(16))


class DemandStatus(Base):
    """One row of a plan's ``demand_status`` table."""

    __tablename__ = "demand_status"
    __table_args__ = (Index("ix_demand_status_run_district", "run_id", "district"),)

    run_id: Mapped[str] = _run_key()
    row_no: Mapped[int] = _row_no()
    demand_id: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer)
    hours: Mapped[int] = mapped_column(Integer)
    covered_hours: Mapped[int] = mapped_column(Integer)
    funds: Mapped[float | None] = mapped_column(Float, nullable=True)
    funded: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32), default="")


class Funding(Base):
    """One row of a plan's ``funding`` table (plus the demand's district and category)."""

    __tablename__ = "funding"
    __table_args__ = (Index("ix_funding_run_district", "run_id", "district"),)

    run_id: Mapped[str] = _run_key()
    row_no: Mapped[int] = _row_no()
    resource_id: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[str] = mapped_column(String(200))
    demand_id: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(200))
    amount: Mapped[float] = mapped_column(Float)


class Lead(Base):
    """One row of a plan's ``leads`` table (plus the demand's community, district and
    category)."""

    __tablename__ = "leads"
    __table_args__ = (Index("ix_leads_run_district", "run_id", "district"),)

    run_id: Mapped[str] = _run_key()
    row_no: Mapped[int] = _row_no()
    demand_id: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(200))
    effort: Mapped[float] = mapped_column(Float)
    cost: Mapped[float] = mapped_column(Float)


class RunKpi(Base):
    """One KPI of a run: nested KPIs flattened to dotted names
    (``coverage_by_district.Gulou.coverage``); numbers in ``value``, anything else as
    JSON text in ``text``."""

    __tablename__ = "run_kpis"

    run_id: Mapped[str] = _run_key()
    name: Mapped[str] = mapped_column(String(400), primary_key=True)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)


class RunDual(Base):
    """One LP dual of a plan run made by the column solver (``matcher.Plan.duals``): what
    an hour more of a supplier (``item`` ``"supplier"``, with its kind) or of a demand
    (``"demand"``) adds at the margin. Only values above zero are kept; the rest are 0."""

    __tablename__ = "run_duals"

    run_id: Mapped[str] = _run_key()
    row_no: Mapped[int] = _row_no()
    item: Mapped[str] = mapped_column(String(16))
    supplier_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    item_id: Mapped[str] = mapped_column(String(200))
    value: Mapped[float] = mapped_column(Float)


class Recommendation(Base):
    """A recommendation run's request and figures (its state is in ``runs``, ``kind``
    ``pairings`` or ``alliances``; the plan parameters in ``runs.params``)."""

    __tablename__ = "recommendations"

    run_id: Mapped[str] = _run_key()
    kind: Mapped[str] = mapped_column(String(16))
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    tables: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    objective_before: Mapped[float | None] = mapped_column(Float, nullable=True)
    objective_after: Mapped[float | None] = mapped_column(Float, nullable=True)
    gain: Mapped[float | None] = mapped_column(Float, nullable=True)


class RecommendationRow(Base):
    """One row of a recommendation's table (``table_name``), as a JSON object of the
    library's columns; ``district`` is the row's district (null: a city-wide row)."""

    __tablename__ = "recommendation_rows"
    __table_args__ = (
        Index("ix_recommendation_rows_run_table_district", "run_id", "table_name", "district"),
    )

    run_id: Mapped[str] = _run_key()
    table_name: Mapped[str] = mapped_column(String(64), primary_key=True)
    row_no: Mapped[int] = _row_no()
    district: Mapped[str | None] = mapped_column(String(200), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class RunArtifact(Base):
    """A read of a run computed once and kept: its HTML report, bottlenecks, summaries,
    a demand's explanation (``name``: ``report.en.html``, ``bottlenecks``,
    ``summaries.en``, ``explanation:<demand>:<nearest>``, ...).

    ``content`` holds the answer (UTF-8 HTML or JSON); a read the library refuses keeps
    ``error_code`` and ``error`` instead (``no_marginal_values`` for a plan with integer
    rules), so that the refusal is not computed again either. A report against another
    run names it in ``other_run_id``: deleting either run deletes the artifact.
    """

    __tablename__ = "run_artifacts"

    run_id: Mapped[str] = _run_key()
    name: Mapped[str] = mapped_column(String(400), primary_key=True)
    other_run_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("runs.id", ondelete="CASCADE"), nullable=True
    )
    media_type: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    error_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    seconds: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
