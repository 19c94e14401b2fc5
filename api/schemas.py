"""Request and response bodies (``XCreate`` / ``XPublic`` pairs).

Matcher objects and store rows become these schemas here, at the edge, and nowhere else.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.db.models import ApiKey, DatasetRow, Run
from matcher.i18n import N_
from matcher.params import (
    MAX_COMMUNITIES_PER_CADRE,
    MAX_COST_SCALE,
    MAX_SEED,
    MAX_TIME_LIMIT_S,
    MAX_TRAVEL_KM,
    MAX_WEIGHT,
    MAX_WORKERS,
    MAX_YUAN_PER_HOUR,
    MIN_YUAN_PER_HOUR,
)

__all__ = [
    "AssignmentBase",
    "AssignmentPublic",
    "DatasetCreate",
    "DatasetPublic",
    "DemandStatusPublic",
    "District",
    "ErrorPublic",
    "FundingPublic",
    "HealthPublic",
    "IntegerRulesCreate",
    "IssuePublic",
    "KeyCreate",
    "KeyCreated",
    "KeyPublic",
    "LeadPublic",
    "Page",
    "ParamsCreate",
    "QueuedRunCreate",
    "RunCreate",
    "RunPublic",
    "RunStatus",
    "ScenarioCreate",
    "as_utc",
    "optional_number",
    "run_state",
    "scope_kpis",
    "scoped_progress",
]

Role = Literal[
    "viewer", "planner", "admin", "community", "unit", "street_reviewer", "district_reviewer"
]
District = Annotated[
    str,
    # Something besides white space (stripped), and no control characters (some are white
    # space to Python's strip but not to pydantic's): the pattern says in the schema what
    # stripping and the check of the stored scope would otherwise refuse unannounced.
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$",
    ),
]
"""A name or id given by a client: a district, a street, a community, a unit, a row."""
RunStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
T = TypeVar("T")


def as_utc(value: datetime | None) -> datetime | None:
    """A stored (naive UTC) time as an aware UTC time."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def optional_number(
    description: str,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
) -> Any:
    """A field for an optional finite number within the bounds given: omitted (``None``),
    the library's default applies.

    >>> class Radius(BaseModel):
    ...     km: float | None = optional_number("A radius, km.", gt=0)
    >>> Radius(km=2).km, Radius().km
    (2.0, None)
    """
    return Field(default=None, ge=ge, gt=gt, le=le, allow_inf_nan=False, description=description)


class ErrorPublic(BaseModel):
    """Every error response: a message, a machine-readable code, and details if any."""

    detail: str = Field(description="What went wrong, in plain words.")
    code: str = Field(description="A stable code: not_found, invalid_dataset, ...")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Itemised problems (validation issues, bad fields)."
    )
    truncated: int | None = Field(default=None, description="Issues found but not listed.")


class Page(BaseModel, Generic[T]):
    """A page of items."""

    items: list[T]
    total: int = Field(description="Items matching the filters, over all pages.")
    limit: int
    offset: int


class HealthPublic(BaseModel):
    """Liveness and the run queue."""

    status: Literal["ok", "degraded"]
    database: Literal["ok", "unreachable"]
    queued: int | None = None
    running: int | None = None
    version: str


# ---- datasets -------------------------------------------------------------------------


class DatasetCreate(BaseModel):
    """A dataset as JSON: each table as a list of row objects (column name -> value)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=300, description="A label for the dataset.")
    tables: dict[str, list[dict[str, Any]]] = Field(
        description="Tables by name (communities, units, cadres, demands, and the optional "
        "ones), each a list of rows.",
        examples=[
            {
                "communities": [
                    {
                        "community_id": "C1",
                        "name": "Junmen",
                        "district": "Gulou",
                        "street": "Dongjie",
                        "lat": 26.0869,
                        "lon": 119.3008,
                        "households": 2100,
                    }
                ],
                "units": [
                    {
                        "unit_id": "U1",
                        "name": "City bureau",
                        "kind": "government",
                        "level": "municipal",
                        "district": "Gulou",
                        "lat": 26.08,
                        "lon": 119.29,
                    }
                ],
                "cadres": [
                    {
                        "cadre_id": "K1",
                        "unit_id": "U1",
                        "skills": "elderly_care",
                        "hours": 8,
                        "home_community_id": "C1",
                    }
                ],
                "demands": [
                    {
                        "demand_id": "D1",
                        "community_id": "C1",
                        "category": "elderly_care",
                        "hours": 6,
                        "priority": 4,
                    }
                ],
            }
        ],
    )


class IssuePublic(BaseModel):
    """One validation issue, as ``matcher validate --json`` reports it."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    expected: str
    severity: str
    sheet: str | None = Field(default=None, description="A workbook's sheet, as named.")
    letter: str | None = Field(default=None, description="A workbook column's letter.")
    header: str | None = Field(default=None, description="A workbook column's header.")


class DatasetPublic(BaseModel):
    """A stored dataset."""

    id: str
    name: str
    content_hash: str = Field(description="SHA-256 of the tables' content (format-independent).")
    tables: dict[str, int] = Field(description="Rows per table.")
    districts: list[str]
    warnings: list[IssuePublic]
    size_bytes: int = Field(description="Stored size (Parquet) of its tables.")
    created_at: datetime
    runs: int | None = Field(default=None, description="Runs that use the dataset.")

    @classmethod
    def from_row(cls, row: DatasetRow, runs: int | None = None) -> DatasetPublic:
        """The public view of a stored dataset."""
        return cls(
            id=row.id,
            name=row.name,
            content_hash=row.content_hash,
            tables={str(k): int(v) for k, v in row.tables.items()},
            districts=[str(d) for d in row.districts],
            warnings=[IssuePublic(**w) for w in row.warnings],
            size_bytes=row.size_bytes,
            created_at=as_utc(row.created_at) or row.created_at,
            runs=runs,
        )


# ---- runs -----------------------------------------------------------------------------


class ParamsCreate(BaseModel):
    """Plan parameters (``matcher.PlanParams``); each omitted one keeps its default.

    The bounds here document the library's; ``matcher.PlanParams`` has the last word.
    The integer rules' switches are in ``integer_rules``.
    """

    model_config = ConfigDict(extra="forbid")

    max_travel_km: float | None = optional_number(
        N_("Proximity tie radius, km (5)."), ge=0, le=MAX_TRAVEL_KM
    )
    travel_cost_per_km: float | None = optional_number(
        N_("Score lost per km of an hour (0.05)."), ge=0, le=MAX_WEIGHT
    )
    priority_weight: float | None = optional_number(
        N_("Factor on priority (1)."), gt=0, le=MAX_WEIGHT
    )
    cost_scale: float | None = optional_number(
        N_("Integer scaling (1e6)."), ge=1, le=MAX_COST_SCALE
    )
    time_limit_s: float | None = optional_number(
        N_("Integer search limit, s (60)."), gt=0, le=MAX_TIME_LIMIT_S
    )
    gap_limit: float | None = optional_number(N_("Stop the search at this gap (0)."), ge=0, le=1)
    seed: int | None = Field(
        default=None, ge=0, le=MAX_SEED, description=N_("Seed of the integer search (0).")
    )
    workers: int | None = Field(
        default=None, ge=1, le=MAX_WORKERS, description=N_("Search threads (2).")
    )
    deterministic: bool | None = Field(
        default=None, description=N_("Reproducible integer search (true).")
    )
    yuan_per_hour_equivalent: float | None = optional_number(
        N_("Value of funds (1000 yuan/hour)."), ge=MIN_YUAN_PER_HOUR, le=MAX_YUAN_PER_HOUR
    )
    integer_solver: Literal["highs", "cpsat"] | None = Field(
        default=None, description=N_("Engine of the labour model under integer rules (highs).")
    )
    flow_solver: Literal["auto", "arcs", "columns"] | None = Field(
        default=None,
        description=N_(
            "Engine of the labour flow without integer rules: arcs (every "
            "candidate arc), columns (column generation, lean at city scale) or auto "
            "(columns from 5,000 suppliers up; the default)."
        ),
    )


class IntegerRulesCreate(BaseModel):
    """The integer rules of a run (``matcher.PlanParams``' rule fields).

    ``min_hours``, ``funds`` and ``leads`` apply when the dataset asks for them (its
    ``min_hours`` / ``funds`` columns, ``lead_options.csv``); false switches one off.
    ``max_communities_per_cadre`` and ``coverage_floor`` are off unless given. Any other
    rule is refused with 422 (not available).
    """

    model_config = ConfigDict(extra="forbid")

    min_hours: bool | None = Field(default=None, description=N_("Apply demands' min_hours."))
    funds: bool | None = Field(default=None, description=N_("Plan demands' funds."))
    leads: bool | None = Field(default=None, description=N_("Choose lead units."))
    max_communities_per_cadre: int | None = Field(
        default=None,
        ge=1,
        le=MAX_COMMUNITIES_PER_CADRE,
        description=N_("A cadre serves at most this many communities."),
    )
    coverage_floor: float | None = optional_number(
        N_("Every community gets at least this share of what its ties could give."), gt=0, le=1
    )

    def to_params(self) -> dict[str, Any]:
        """The rules as ``matcher.PlanParams`` fields."""
        names = {"min_hours": "apply_min_hours", "funds": "apply_funds", "leads": "apply_leads"}
        return {names.get(k, k): v for k, v in self.model_dump(exclude_none=True).items()}


class ScenarioCreate(BaseModel):
    """A what-if scenario applied to the run's dataset before planning.

    ``changes`` take the same form as in scenario files (see
    ``matcher/schemas/scenario.schema.json``): ``scale_demand``, ``add``, ``remove``,
    ``update``, ``surge`` and ``set``. ``set`` changes override ``params``.
    """

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="scenario", min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    changes: list[dict[str, Any]] = Field(min_length=1, max_length=500)


class QueuedRunCreate(BaseModel):
    """What every run to queue asks for (a plan or a recommendation): the dataset, the
    plan's parameters and integer rules, a label and a time limit."""

    model_config = ConfigDict(extra="forbid")

    dataset_id: str = Field(min_length=1, max_length=32)
    params: ParamsCreate = Field(default_factory=ParamsCreate)
    integer_rules: IntegerRulesCreate = Field(default_factory=IntegerRulesCreate)
    label: str | None = Field(default=None, max_length=300)
    # a larger one is capped to the server's, as the description says
    time_limit_s: float | None = optional_number(
        "Wall-clock limit of the run in seconds; the server's "
        "MATCHER_RUN_TIME_LIMIT_S when omitted, and never more than it.",
        gt=0,
    )


class RunCreate(QueuedRunCreate):
    """A planning run to queue."""

    scenario: ScenarioCreate | None = Field(
        default=None,
        description="What-if changes applied to the dataset before planning; the run "
        "plans the changed data, stored as a dataset of its own.",
    )
    warm_start_run_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=32,
        description="A succeeded plan run of a similar dataset (this run's base, say) "
        "whose LP duals start this run's column solver: at city scale a what-if then "
        "solves in about half the time. The plan is proven optimal either way; where the "
        "optimum is not unique it may be another optimal plan. A run that kept no duals "
        "(another solver, or deleted since) leaves this one to plan cold.",
    )


def run_state(run: Run) -> dict[str, Any]:
    """What every kind of run shows of its request and state: ids, parameters, status,
    times (UTC), queue and run seconds, error and stage timings."""
    created, started, finished = (
        as_utc(run.created_at),
        as_utc(run.started_at),
        as_utc(run.finished_at),
    )
    return {
        "id": run.id,
        "dataset_id": run.dataset_id,
        "label": run.label,
        "status": run.status,
        "params": run.params,
        "integer_rules": run.integer_rules,
        "time_limit_s": run.time_limit_s,
        "created_at": created or run.created_at,
        "started_at": started,
        "finished_at": finished,
        "queue_seconds": (started - created).total_seconds() if started and created else None,
        "run_seconds": (finished - started).total_seconds() if finished and started else None,
        "error": run.error,
        "timings": run.timings,
    }


class RunPublic(BaseModel):
    """A run: its request, state, solver figures and timings."""

    id: str
    dataset_id: str = Field(description="The dataset planned (with a scenario: the changed one).")
    base_dataset_id: str | None = Field(
        default=None, description="With a scenario: the dataset the changes were made to."
    )
    scenario: dict[str, Any] | None = Field(default=None, description="The scenario asked for.")
    warm_start_run_id: str | None = Field(
        default=None, description="The plan run whose LP duals started this one, if any."
    )
    label: str | None
    status: RunStatus
    params: dict[str, Any]
    integer_rules: dict[str, Any]
    time_limit_s: float
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    queue_seconds: float | None = Field(description="From creation to start.")
    run_seconds: float | None = Field(description="From start to finish.")
    error: str | None
    solver: str | None
    solver_status: str | None
    proven_optimal: bool | None
    objective: float | None
    bound: float | None = Field(description="Upper bound on the optimum.")
    gap: float | None = Field(description="Relative gap between plan and bound.")
    hours_demanded: int | None
    hours_covered: int | None
    coverage: float | None
    timings: dict[str, float] | None = Field(description="Seconds per stage of the worker.")
    kpis: dict[str, Any] | None
    progress: dict[str, Any] | None = Field(
        default=None,
        description="The run's latest progress while it runs, and its last once it ends "
        "(null before it starts): stage (load, build, solve, tables), elapsed_s, the "
        "column generation's round, the search's incumbent and bound, gap, and part "
        "(labour, funds, leads) under integer rules. Updated about once a second.",
    )

    @classmethod
    def from_row(cls, run: Run, districts: list[str] | None = None) -> RunPublic:
        """The public view of a run; a district-scoped reader sees only its districts."""
        scoped = districts is not None
        return cls(
            **run_state(run),
            base_dataset_id=run.base_dataset_id,
            scenario=run.scenario,
            warm_start_run_id=run.warm_start_run_id,
            solver=run.solver,
            solver_status=run.solver_status,
            proven_optimal=run.proven_optimal,
            objective=None if scoped else run.objective,
            bound=None if scoped else run.bound,
            gap=run.gap,
            hours_demanded=None if scoped else run.hours_demanded,
            hours_covered=None if scoped else run.hours_covered,
            coverage=None if scoped else run.coverage,
            kpis=scope_kpis(run.kpis, districts),
            progress=scoped_progress(run.progress, scoped),
        )


def scoped_progress(progress: dict[str, Any] | None, scoped: bool) -> dict[str, Any] | None:
    """A run's progress; for a district-scoped reader without the city-wide objective
    and bound (as the run's own ``objective`` and ``bound`` are withheld), the gap kept."""
    if progress is None or not scoped:
        return progress
    return {**progress, "incumbent": None, "bound": None}


def scope_kpis(kpis: dict[str, Any] | None, districts: list[str] | None) -> dict[str, Any] | None:
    """KPIs as a reader may see them: a district-scoped key sees only the solver's
    figures and its districts' coverage (city-wide totals are other districts' results)."""
    if kpis is None or districts is None:
        return kpis
    allowed = set(districts)
    keep = ("solver", "solver_status", "proven_optimal", "gap", "candidate_arcs")
    out = {k: kpis[k] for k in keep if k in kpis}
    out["coverage_by_district"] = {
        d: v for d, v in (kpis.get("coverage_by_district") or {}).items() if d in allowed
    }
    return out


# ---- results --------------------------------------------------------------------------


class AssignmentBase(BaseModel):
    """Who serves what in an assignment: the supplier and its unit, the demand and where
    it is (the fields every view of an assignment starts with)."""

    supplier_kind: str
    supplier_id: str
    unit_id: str
    demand_id: str
    community_id: str
    district: str
    category: str


class AssignmentPublic(AssignmentBase):
    """One assignment: hours of a supplier given to a demand, through a tie."""

    hours: int
    km: float
    tie: str


class FundingPublic(BaseModel):
    """Funds of a resource granted to a demand."""

    resource_id: str
    unit_id: str
    demand_id: str
    community_id: str
    district: str
    category: str
    amount: float


class LeadPublic(BaseModel):
    """The lead unit chosen for a demand."""

    demand_id: str
    unit_id: str
    community_id: str
    district: str
    category: str
    effort: float
    cost: float


class DemandStatusPublic(BaseModel):
    """A demand's covered hours, status and reason."""

    demand_id: str
    community_id: str
    district: str
    category: str
    priority: int
    hours: int
    covered_hours: int
    funds: float | None
    funded: str
    status: str
    reason: str


# ---- keys -----------------------------------------------------------------------------


class KeyCreate(BaseModel):
    """A new API key."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="", max_length=200)
    role: Role
    districts: list[District] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="Districts the key may read results of; null (or omitted) = all "
        "districts. An empty list is refused: it would read as no district, never all.",
    )
    streets: list[District] | None = Field(
        default=None, min_length=1, max_length=1000, description="A street reviewer's streets."
    )
    communities: list[District] | None = Field(
        default=None,
        min_length=1,
        max_length=10000,
        description="The communities a community key acts for.",
    )
    units: list[District] | None = Field(
        default=None, min_length=1, max_length=10000, description="The units a unit key acts for."
    )


class KeyPublic(BaseModel):
    """An API key as listed (never the key itself)."""

    id: int
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it.")
    role: Role
    districts: list[str] | None
    streets: list[str] | None = None
    communities: list[str] | None = None
    units: list[str] | None = None
    created_at: datetime
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: ApiKey) -> KeyPublic:
        """The public view of a stored key."""
        return cls(
            id=row.id,
            name=row.name,
            prefix=row.prefix,
            role=row.role,  # type: ignore[arg-type]
            districts=row.districts,
            streets=row.streets,
            communities=row.communities,
            units=row.units,
            created_at=as_utc(row.created_at) or row.created_at,
            revoked_at=as_utc(row.revoked_at),
        )


class KeyCreated(KeyPublic):
    """A key just made: ``key`` is shown this once and never again."""

    key: str
