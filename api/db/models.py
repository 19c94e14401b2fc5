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
    "CYCLE_KEY_ROLES",
    "ROLES",
    "RUN_STATUSES",
    "ApiKey",
    "Assignment",
    "AuditEntry",
    "Base",
    "Cycle",
    "CycleComment",
    "CycleDelivery",
    "CycleEdit",
    "CycleEntry",
    "CycleObjection",
    "CyclePoints",
    "CycleProject",
    "CycleRating",
    "CycleReview",
    "CycleVersion",
    "DatasetRow",
    "DatasetTable",
    "DemandStatus",
    "Funding",
    "Lead",
    "RatingToken",
    "Recommendation",
    "RecommendationRow",
    "Run",
    "RunArtifact",
    "RunDual",
    "RunKpi",
    "ServiceSecret",
    "User",
    "utcnow",
]

RUN_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
ACTIVE_STATUSES = ("queued", "running")
ROLES = ("viewer", "planner", "admin")
CYCLE_KEY_ROLES = ("community", "unit", "street_reviewer", "district_reviewer")
"""Key roles that act on cycles only (matcher.cycle.roles); they read no runs."""


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
    role: Mapped[str] = mapped_column(String(32))
    districts: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    # The cycle's narrower scopes (null: no narrowing): a street reviewer's streets, a
    # community key's communities, a unit key's units.
    streets: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    communities: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    units: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class User(Base):
    """A person who signs in to the console: a password kept only as its Argon2 hash,
    the role and scopes of a cycle key (:mod:`matcher.cycle.roles`), and what ends
    sessions and locks the account."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(32))
    districts: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    streets: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    communities: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    units: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    # A session cookie carries the version it was issued under: signing out everywhere
    # or changing the password adds one, which ends every session issued before.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ServiceSecret(Base):
    """A secret the service made for itself (the key that signs session cookies when
    ``MATCHER_SECRET_KEY`` is not set), kept so that a restart ends no session."""

    __tablename__ = "service_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


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
    # the console's user who queued it (null: a key's, or none)
    created_by_user: Mapped[int | None] = mapped_column(Integer, nullable=True)
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
    # The worker's latest matcher.progress.Progress (as a dict), kept once the run ends.
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


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


# --- The quarterly cycle (api.cycles; docs/cycle.md) -------------------------------


def _cycle_key() -> Mapped[str]:
    """A ``cycle_id`` column: the cycle a row belongs to (cycles are never deleted)."""
    return mapped_column(String(32), ForeignKey("cycles.id"), index=True)


class Cycle(Base):
    """A quarter's cycle of the three lists in a district (or some of its streets)."""

    __tablename__ = "cycles"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    district: Mapped[str] = mapped_column(String(200), index=True)
    # null: the whole district
    streets: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    period: Mapped[str] = mapped_column(String(16), index=True)
    phase: Mapped[str] = mapped_column(String(32))
    skipped: Mapped[list[Any]] = mapped_column(JSON)
    # planned first day of phases, ISO dates by phase
    starts: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The standing data the lists start from (a stored dataset); the snapshot of the
    # lists taken when planning opens; the run adopted as the draft project list.
    base_dataset_id: Mapped[str] = mapped_column(String(32), ForeignKey("datasets.id"))
    dataset_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("datasets.id"), nullable=True
    )
    draft_run_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("runs.id"), nullable=True
    )
    previous_cycle_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("cycles.id"), nullable=True
    )
    next_cycle_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    options: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    phase_since: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CycleEntry(Base):
    """A row a cycle's lists gained or changed since its base dataset: a demand, a
    resource, a cadre ..., its cells as the dataset's columns, and who entered it, when
    and from where (``origin``: hotline, joint_meeting, home_visit, carried_over ...)."""

    __tablename__ = "cycle_entries"
    __table_args__ = (Index("ix_cycle_entries_row", "cycle_id", "table_name", "row_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cycle_id: Mapped[str] = _cycle_key()
    table_name: Mapped[str] = mapped_column(String(64))
    row_key: Mapped[str] = mapped_column(String(400))
    community_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    unit_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    origin: Mapped[str] = mapped_column(String(32))
    carried_from: Mapped[str | None] = mapped_column(String(16), nullable=True)
    times_carried: Mapped[int] = mapped_column(Integer, default=0)
    entered_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    entered_role: Mapped[str] = mapped_column(String(32))
    entered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class CycleEdit(Base):
    """One edit of a draft project list, the run it was made on and the re-planned run."""

    __tablename__ = "cycle_edits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cycle_id: Mapped[str] = _cycle_key()
    action: Mapped[str] = mapped_column(String(32))
    edits: Mapped[list[Any]] = mapped_column(JSON)
    run_before: Mapped[str | None] = mapped_column(String(32), nullable=True)
    run_after: Mapped[str] = mapped_column(String(32))
    churn: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    by_key: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CycleComment(Base):
    """A comment of the discussion (商议): support, objection or question."""

    __tablename__ = "cycle_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cycle_id: Mapped[str] = _cycle_key()
    demand_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    kind: Mapped[str] = mapped_column(String(16))
    body: Mapped[str] = mapped_column(Text)
    by_key: Mapped[int | None] = mapped_column(Integer, nullable=True)
    role: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CycleReview(Base):
    """A review's decision (approve / return) on the draft run it saw; an edit after it
    voids it (``voided_at``)."""

    __tablename__ = "cycle_reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cycle_id: Mapped[str] = _cycle_key()
    phase: Mapped[str] = mapped_column(String(32))
    decision: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")
    run_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    by_key: Mapped[int | None] = mapped_column(Integer, nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    voided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class CycleObjection(Base):
    """An objection to the public notice (公示), filed by anyone; ``contact`` is never
    shown. Publishing needs every objection answered."""

    __tablename__ = "cycle_objections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cycle_id: Mapped[str] = _cycle_key()
    community_id: Mapped[str] = mapped_column(String(200))
    demand_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    body: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(200), nullable=True)
    filed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    answer: Mapped[str | None] = mapped_column(Text, nullable=True)
    upheld: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    answered_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    answered_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class CycleVersion(Base):
    """A published version of a cycle's project list: frozen (never updated), with its
    diff against the version before."""

    __tablename__ = "cycle_versions"

    cycle_id: Mapped[str] = mapped_column(String(32), ForeignKey("cycles.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    run_id: Mapped[str] = mapped_column(String(32), ForeignKey("runs.id"))
    published_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    published_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    diff: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class CycleProject(Base):
    """One project of a published version (public columns only: no cadre)."""

    __tablename__ = "cycle_projects"

    cycle_id: Mapped[str] = mapped_column(String(32), ForeignKey("cycles.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    demand_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    community_id: Mapped[str] = mapped_column(String(200), index=True)
    district: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(200))
    priority: Mapped[int] = mapped_column(Integer)
    hours: Mapped[int] = mapped_column(Integer)
    planned_hours: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    lead_unit: Mapped[str] = mapped_column(String(200), default="")
    units: Mapped[list[Any]] = mapped_column(JSON)


class CycleDelivery(Base):
    """Hours delivered on one assignment of the published list (pending -> approved /
    rejected by the community)."""

    __tablename__ = "cycle_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cycle_id: Mapped[str] = _cycle_key()
    version: Mapped[int] = mapped_column(Integer)
    supplier_kind: Mapped[str] = mapped_column(String(16))
    supplier_id: Mapped[str] = mapped_column(String(200))
    unit_id: Mapped[str] = mapped_column(String(200))
    demand_id: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[str] = mapped_column(String(200))
    hours: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    recorded_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # the community's reason for a rejection (or a note on a confirmation)
    reason: Mapped[str | None] = mapped_column(String(500), nullable=True)


class RatingToken(Base):
    """A resident's rating token for a community's projects (only its SHA-256 kept)."""

    __tablename__ = "rating_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    cycle_id: Mapped[str] = _cycle_key()
    community_id: Mapped[str] = mapped_column(String(200))
    issued_by: Mapped[int | None] = mapped_column(Integer, nullable=True)
    issued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CycleRating(Base):
    """A rating (1-5) of a delivered project, once per person (token) per project."""

    __tablename__ = "cycle_ratings"
    __table_args__ = (
        Index("ix_cycle_ratings_once", "cycle_id", "demand_id", "rater", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cycle_id: Mapped[str] = _cycle_key()
    demand_id: Mapped[str] = mapped_column(String(200))
    community_id: Mapped[str] = mapped_column(String(200))
    # who rated: a token's hash (a resident) or "key:<id>" (a community committee)
    rater: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(32))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CyclePoints(Base):
    """A cadre's approved hours and points (积分) in a closed cycle."""

    __tablename__ = "cycle_points"

    cycle_id: Mapped[str] = mapped_column(String(32), ForeignKey("cycles.id"), primary_key=True)
    cadre_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    unit_id: Mapped[str] = mapped_column(String(200))
    approved_hours: Mapped[int] = mapped_column(Integer)
    points: Mapped[float] = mapped_column(Float)


class AuditEntry(Base):
    """One action on a cycle: who (key or user, and role), when, what, the state before and
    after, and who may read it (``private``, ``reviewers``, ``public``). Append-only:
    no code path updates or deletes it, and the store refuses to (a trigger)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cycle_id: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    key_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # the console's user who acted (null for a key or the public)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(400), default="")
    before: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    after: Mapped[Any | None] = mapped_column(JSON, nullable=True)
    visibility: Mapped[str] = mapped_column(String(16))
