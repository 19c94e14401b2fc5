"""Plan runs for planners and admins: the list and the form to queue one (the plan
parameters of :class:`matcher.PlanParams`, each with its meaning), one run's page (its
progress while it runs, its KPIs, optimality claim, tables and report once it has
succeeded), and two runs compared.

Every call goes to the JSON API's own helpers (:mod:`api.routes.runs`, :mod:`api.crud`,
the report and compare routes) with the signed-in user as a reader of the API's
``planner`` (or ``admin``) role in the user's districts: a user scoped to districts
sees what a key scoped to them sees (no city-wide bound or report).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

import matcher
from api import crud, store
from api.console.deps import UserDep
from api.console.forms import field_errors, refused_status
from api.console.pages import page, page_lang
from api.db.models import ACTIVE_STATUSES, Assignment, DatasetRow, DemandStatus, Run, User
from api.deps import Principal, RunRead, SessionDep, SettingsDep, district_scope
from api.errors import ApiError
from api.routes import compare as compare_route
from api.routes import reports as report_route
from api.routes.console import console_router
from api.routes.results import StatusFilters, UnitFilters, succeeded_run
from api.routes.runs import (
    RULE_FIELDS,
    cancel_active,
    check_queue_of,
    checked_params,
    commit_queued,
    get_run,
    new_run,
    request_hash,
)
from api.schemas import (
    IntegerRulesCreate,
    ParamsCreate,
    RunCreate,
    RunPublic,
    scope_kpis,
    scoped_progress,
)
from matcher.i18n import N_, Text, translator

__all__ = [
    "COLUMN_NAMES",
    "KPI_NAMES",
    "PARAM_FIELDS",
    "STAGE_NAMES",
    "STATUS_NAMES",
    "ParamField",
    "TableQuery",
    "form_body",
    "param_context",
    "reader_of",
    "router",
    "run_context",
    "status_response",
]

router = console_router()

RunIdPath = Annotated[str, Path(min_length=1, max_length=32)]
PAGE_ROWS = 50
TABLE_ROWS = 50

STATUS_NAMES = {
    "queued": N_("queued"),
    "running": N_("running"),
    "succeeded": N_("succeeded"),
    "failed": N_("failed"),
    "cancelled": N_("cancelled"),
}
"""Each run status for people (the badge's text: the colour is never the only sign)."""

STAGE_NAMES = {
    "load": N_("loading"),
    "build": N_("building"),
    "solve": N_("solving"),
    "tables": N_("making the tables"),
}
"""Each stage of :data:`matcher.progress.STAGES` for people (as the command line's live
line names them)."""

PART_NAMES = {"labour": N_("labour"), "funds": N_("funds"), "leads": N_("lead units")}
"""What an integer-rules search is at (:data:`matcher.progress.PARTS`)."""

COLUMN_NAMES = {
    "supplier_kind": N_("Supplier kind"),
    "supplier_id": N_("Supplier"),
    "unit_id": N_("Unit"),
    "demand_id": N_("Demand"),
    "community_id": N_("Community"),
    "district": N_("District"),
    "category": N_("Category"),
    "hours": N_("Hours"),
    "km": N_("km"),
    "tie": N_("Tie"),
    "priority": N_("Priority"),
    "covered_hours": N_("Covered hours"),
    "funds": N_("Funds"),
    "funded": N_("Funded"),
    "status": N_("Status"),
    "reason": N_("Reason"),
    "planned_hours": N_("Planned hours"),
}
"""Each result column's heading."""

KPI_NAMES = {
    "objective": N_("Objective"),
    "bound": N_("Bound"),
    "gap": N_("Gap"),
    "proven_optimal": N_("Proven optimal"),
    "solver": N_("Solver"),
    "solver_status": N_("Solver status"),
    "weighted_hours": N_("Hours weighted by priority"),
    "travel_hour_km": N_("Hour-km travelled"),
    "hours_demanded": N_("Hours demanded"),
    "hours_covered": N_("Hours covered"),
    "coverage": N_("Coverage"),
    "demands": N_("Demands"),
    "demands_met": N_("Demands met"),
    "demands_partial": N_("Demands partly met"),
    "demands_unmet": N_("Demands unmet"),
    "communities_zero_coverage_count": N_("Communities with no coverage"),
    "candidate_arcs": N_("Candidate arcs"),
    "solve_seconds": N_("Solve time (s)"),
    "diff_assignments_added": N_("Assignments added"),
    "diff_assignments_removed": N_("Assignments removed"),
    "diff_assignments_changed": N_("Assignments changed in hours"),
    "diff_demands_status_changed": N_("Demands whose status changed"),
}
"""The KPIs and differences a comparison shows, for people (others by their key)."""

PARAM_LABELS = {
    "max_travel_km": N_("Proximity radius (km)"),
    "travel_cost_per_km": N_("Travel cost per km"),
    "priority_weight": N_("Priority weight"),
    "cost_scale": N_("Integer scaling"),
    "time_limit_s": N_("Search time limit (s)"),
    "gap_limit": N_("Gap limit"),
    "seed": N_("Seed"),
    "workers": N_("Search workers"),
    "deterministic": N_("Reproducible search"),
    "integer_solver": N_("Integer solver"),
    "flow_solver": N_("Flow solver"),
    "max_communities_per_cadre": N_("Most communities per cadre"),
    "coverage_floor": N_("Coverage floor"),
    "yuan_per_hour_equivalent": N_("Yuan per hour equivalent"),
    "apply_min_hours": N_("Apply minimum hours"),
    "apply_funds": N_("Plan funds"),
    "apply_leads": N_("Choose lead units"),
}
"""A short name of each :class:`matcher.PlanParams` field for the form (its meaning is
the API schema's description of the field)."""


@dataclass(frozen=True)
class ParamField:
    """A plan parameter as a form field: its form name (``params.x`` or
    ``integer_rules.y``, the names the API's errors use), the parameter it sets, its
    kind (``number``, ``int``, ``bool``, ``choice``), choices, default and meaning."""

    name: str
    param: str
    kind: Literal["number", "int", "bool", "choice"]
    choices: tuple[str, ...]
    default: Any
    description: str


def _choices(annotation: Any) -> tuple[str, ...]:
    """The values of a ``Literal[...] | None`` annotation."""
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is Literal:
            return tuple(str(a) for a in typing.get_args(arg))
    return ()


def _param_fields() -> tuple[ParamField, ...]:
    """Every field of :class:`matcher.PlanParams`, in its order, as the run request
    carries it (``params`` or ``integer_rules``) with the schema's description."""
    rules = {param: rule for rule, param in RULE_FIELDS.items()}
    hints = typing.get_type_hints(matcher.PlanParams)
    defaults = matcher.PlanParams()
    out = []
    for f in dataclasses.fields(matcher.PlanParams):
        if f.name in ParamsCreate.model_fields:
            info = ParamsCreate.model_fields[f.name]
            name = f"params.{f.name}"
        elif f.name in rules:
            info = IntegerRulesCreate.model_fields[rules[f.name]]
            name = f"integer_rules.{rules[f.name]}"
        else:  # pragma: no cover - every parameter is in the API's request
            continue
        hint = hints[f.name]
        args = set(typing.get_args(hint)) or {hint}
        choices = _choices(info.annotation)
        kind: Literal["number", "int", "bool", "choice"]
        if choices:
            kind = "choice"
        elif bool in args:
            kind = "bool"
        elif int in args:
            kind = "int"
        else:
            kind = "number"
        out.append(
            ParamField(
                name, f.name, kind, choices, getattr(defaults, f.name), info.description or ""
            )
        )
    return tuple(out)


PARAM_FIELDS = _param_fields()
"""The run form's parameter fields (one source: :class:`matcher.PlanParams` and the
API's request schema)."""


def param_context(lang: str) -> list[dict[str, Any]]:
    """The parameter fields as a template shows them: name, label, help (the meaning
    and the default), input kind, options."""
    t = translator(lang)
    out = []
    for p in PARAM_FIELDS:
        if p.default is None:
            default = t(N_("off"))
        elif isinstance(p.default, bool):
            default = t(N_("yes")) if p.default else t(N_("no"))
        else:
            default = f"{p.default:,.10g}" if isinstance(p.default, float) else str(p.default)
        help_text = t(N_("{meaning} Default: {default}.")).format(
            meaning=t(p.description), default=default
        )
        options: list[tuple[str, str]] = []
        if p.kind == "bool":
            options = [("", t(N_("default"))), ("true", t(N_("yes"))), ("false", t(N_("no")))]
        elif p.kind == "choice":
            options = [("", t(N_("default"))), *[(c, c) for c in p.choices]]
        out.append(
            {
                "name": p.name,
                "param": p.param,
                "label": t(PARAM_LABELS.get(p.param, p.param)),
                "help": help_text,
                "kind": p.kind,
                "options": options,
            }
        )
    return out


def form_body(values: Mapping[str, str], *top: str) -> dict[str, Any]:
    """A run request's body from a form: the ``top`` fields as given (empty ones left
    out) and the parameters nested as the API takes them."""
    body: dict[str, Any] = {"params": {}, "integer_rules": {}}
    for name in top:
        value = values.get(name, "").strip()
        if value:
            body[name] = value
    for p in PARAM_FIELDS:
        value = values.get(p.name, "").strip()
        if value:
            group, key = p.name.split(".", 1)
            body[group][key] = value
    return body


# ---- who reads ------------------------------------------------------------------------


def reader_of(user: User) -> Principal:
    """The signed-in user as a reader of the plan API: planners and admins only (else
    403), in the user's districts. The user holds no API key (``key_id`` 0; a run the
    console queues records no key)."""
    if user.role not in ("planner", "admin"):
        raise ApiError(
            403, "forbidden_role", Text(N_("runs are for planners and administrators only"))
        )
    districts = [str(d) for d in user.districts] if user.districts else None
    return Principal(0, user.role, districts)


def _reader(user: UserDep) -> Principal:
    return reader_of(user)


ReaderDep = Annotated[Principal, Depends(_reader)]


# ---- the list and the form ------------------------------------------------------------


def _datasets(session: SessionDep) -> list[tuple[str, str]]:
    rows, _total = crud.list_datasets(session, limit=200, offset=0)
    return [(d.id, f"{d.name or d.id} ({d.id})") for d in rows]


def _dataset_names(session: SessionDep, runs: list[RunPublic]) -> dict[str, str]:
    out = {}
    for run in runs:
        if run.dataset_id not in out:
            row = session.get(DatasetRow, run.dataset_id)
            out[run.dataset_id] = (row.name or row.id) if row is not None else run.dataset_id
    return out


def _list_page(
    request: Request,
    session: SessionDep,
    who: Principal,
    offset: int,
    *,
    form: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    rows, total = crud.list_plan_runs(session, crud.RunFilters(), PAGE_ROWS, offset)
    runs = [RunPublic.from_row(r, who.districts) for r in rows]
    return page(
        request,
        "runs/list.html",
        {
            "runs": runs,
            "total": total,
            "offset": offset,
            "limit": PAGE_ROWS,
            "names": _dataset_names(session, runs),
            "status_names": STATUS_NAMES,
            "datasets": _datasets(session),
            "params": param_context(page_lang(request)),
            "form": dict(form or {}),
            "errors": dict(errors or {}),
            "error": error,
        },
        status=status,
    )


@router.get("/runs")
def runs_page(
    request: Request,
    session: SessionDep,
    who: ReaderDep,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Response:
    """The plan runs, newest first, and the form to queue one."""
    return _list_page(request, session, who, offset)


@router.post("/runs")
async def queue_run(
    request: Request, session: SessionDep, settings: SettingsDep, who: ReaderDep, user: UserDep
) -> Response:
    """Queue a run from the form, as POST /runs does (its checks, its helpers, its cap
    on queued runs: per user here)."""
    form = await request.form()
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        body = RunCreate.model_validate(
            form_body(values, "dataset_id", "label", "time_limit_s")
            | {"dataset_id": values.get("dataset_id", "")}
        )
        check_queue_of(session, settings, None, user.id)
        params = checked_params(body, session)
        run = new_run(
            body,
            settings,
            None,  # a console user's run: no key
            None,
            request_hash(body),
            created_by_user=user.id,
            dataset_id=body.dataset_id,
            base_dataset_id=None,
            scenario=None,
            warm_start_run_id=None,
            params=params,
        )
        run = commit_queued(request, session, run)
    except (ValidationError, ValueError, ApiError) as exc:
        session.rollback()
        if isinstance(exc, ApiError) and exc.status == 403:
            raise
        errors, message = field_errors(exc, page_lang(request))
        if isinstance(exc, ApiError) and exc.code == "not_found":
            errors.setdefault("dataset_id", message)
        return _list_page(
            request,
            session,
            who,
            0,
            form=values,
            errors=errors,
            error=message,
            status=refused_status(exc),
        )
    return RedirectResponse(f"/console/runs/{run.id}", status_code=303)


# ---- two runs compared ----------------------------------------------------------------


def _scalar_kpis(kpis: Mapping[str, Any]) -> list[str]:
    return [k for k, v in kpis.items() if v is None or isinstance(v, int | float | str | bool)]


@router.get("/runs/compare")
def compare_page(
    request: Request,
    session: SessionDep,
    who: ReaderDep,
    a: Annotated[str, Query(max_length=32)] = "",
    b: Annotated[str, Query(max_length=32)] = "",
) -> Response:
    """Two succeeded runs side by side: their KPIs, the differences, and the form to
    pick them (``a`` the reference, ``b`` the run compared with it)."""
    rows, _total = crud.list_plan_runs(session, crud.RunFilters(status="succeeded"), 200, 0)
    choices = [("", "—")] + [
        (r.id, f"{r.label or r.id} · {r.id[:8]} · {r.created_at:%Y-%m-%d %H:%M}") for r in rows
    ]
    diff = None
    keys: list[str] = []
    if a and b:
        diff = compare_route.diff(b, session, who, a)
        seen: dict[str, None] = {}
        for values in diff.kpis.values():
            seen.update(dict.fromkeys(_scalar_kpis(values)))
        keys = list(seen)
    return page(
        request,
        "runs/compare.html",
        {
            "choices": choices,
            "a": a,
            "b": b,
            "diff": diff,
            "keys": keys,
            "rows": 100,
            "kpi_names": KPI_NAMES,
            "column_names": COLUMN_NAMES,
        },
    )


# ---- one run --------------------------------------------------------------------------


def _progress(run: Run, who: Principal) -> dict[str, Any]:
    """The run's progress (read with ``getattr``: the column may be missing in an older
    store); for a reader scoped to districts without the city-wide incumbent and bound,
    as the API shows it."""
    progress = getattr(run, "progress", None)
    if not isinstance(progress, dict):
        return {}
    return dict(scoped_progress(progress, who.districts is not None) or {})


def run_context(run: Run, who: Principal) -> dict[str, Any]:
    """What the status part of a run's page shows."""
    return {
        "run": RunPublic.from_row(run, who.districts),
        "progress": _progress(run, who),
        "active": run.status in ACTIVE_STATUSES,
        "status_names": STATUS_NAMES,
        "stage_names": STAGE_NAMES,
        "part_names": PART_NAMES,
    }


def status_response(request: Request, run: Run, who: Principal, template: str) -> Response:
    """The polled status part: with its polling while the run is queued or running;
    once it has ended, without, and ``HX-Refresh`` so the whole page shows the end."""
    context = run_context(run, who)
    headers = {} if context["active"] else {"HX-Refresh": "true"}
    return page(request, template, context, headers=headers)


def _table(
    session: SessionDep,
    run_id: str,
    who: Principal,
    model: Any,
    fields: list[str],
    filters: dict[str, str | None],
    district: str | None,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    query = crud.ResultQuery(model, fields, run_id, filters, district_scope(who, district))
    return crud.result_page(session, query, TABLE_ROWS, offset)


def _blank(value: str | None) -> str | None:
    return value.strip() or None if value else None


class TableQuery(BaseModel):
    """The filters and pages of a run's two tables (``a_``: assignments, ``s_``: demand
    status), as the page's query carries them."""

    model_config = ConfigDict(extra="ignore")

    a_district: str = Field(default="", max_length=200)
    a_community: str = Field(default="", max_length=200)
    a_unit: str = Field(default="", max_length=200)
    a_offset: int = Field(default=0, ge=0, le=2**31 - 1)
    s_district: str = Field(default="", max_length=200)
    s_community: str = Field(default="", max_length=200)
    s_status: str = Field(default="", max_length=20)
    s_offset: int = Field(default=0, ge=0, le=2**31 - 1)


@router.get("/runs/{run_id}")
def run_page(
    request: Request,
    run_id: RunIdPath,
    session: SessionDep,
    who: ReaderDep,
    query: Annotated[TableQuery, Query()],
) -> Response:
    """A run: its state (updating by itself while queued or running), and once it has
    succeeded its KPIs, optimality claim, result tables and report."""
    return _run_page(request, session, who, get_run(session, run_id), query)


def _run_page(
    request: Request,
    session: SessionDep,
    who: Principal,
    run: Run,
    query: TableQuery,
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    context = run_context(run, who)
    filter_errors: dict[str, str] = {}
    lang = page_lang(request)
    filters = query.model_dump(exclude={"a_offset", "s_offset"})
    a_offset, s_offset = query.a_offset, query.s_offset
    if run.status == "succeeded":
        try:
            unit = UnitFilters(
                district=_blank(filters["a_district"]),
                community_id=_blank(filters["a_community"]),
                unit_id=_blank(filters["a_unit"]),
            )
            state = StatusFilters.model_validate(
                {
                    "district": _blank(filters["s_district"]),
                    "community_id": _blank(filters["s_community"]),
                    "status": _blank(filters["s_status"]),
                }
            )
        except ValidationError as exc:
            fields, message = field_errors(exc, lang)
            filter_errors = {"s_" + k: v for k, v in fields.items()}
            unit, state = UnitFilters(), StatusFilters()
            error = error or message
            status = 422
        assignments, a_total = _table(
            session,
            run.id,
            who,
            Assignment,
            store.ASSIGNMENT_FIELDS,
            {"community_id": unit.community_id, "unit_id": unit.unit_id},
            unit.district,
            a_offset,
        )
        demands, s_total = _table(
            session,
            run.id,
            who,
            DemandStatus,
            store.DEMAND_STATUS_FIELDS,
            {"community_id": state.community_id, "status": state.status},
            state.district,
            s_offset,
        )
        kpis = scope_kpis(run.kpis or {}, who.districts) or {}
        districts = sorted((kpis.get("coverage_by_district") or {}).items())
        demanded = sum(float(v.get("hours_demanded") or 0) for _name, v in districts)
        covered = sum(float(v.get("hours_covered") or 0) for _name, v in districts)
        context |= {
            "kpis": kpis,
            "districts": districts,
            # a district's reader: the figures of their districts, in place of the city's
            "scope_hours": (covered, demanded) if who.districts is not None and districts else None,
            "assignments": assignments,
            "a_total": a_total,
            "a_offset": a_offset,
            "demands": demands,
            "s_total": s_total,
            "s_offset": s_offset,
            "a_fields": store.ASSIGNMENT_FIELDS,
            "s_fields": store.DEMAND_STATUS_FIELDS,
            "may_report": who.districts is None,
        }
    dataset = session.get(DatasetRow, run.dataset_id)
    context |= {
        "dataset_name": (dataset.name or dataset.id) if dataset is not None else run.dataset_id,
        "filters": filters,
        "filter_errors": filter_errors,
        "column_names": COLUMN_NAMES,
        "rows": TABLE_ROWS,
        "error": error,
        "statuses": [("", "—")]
        + [(s, translator(lang)(N_(s))) for s in ("met", "partial", "unmet")],
    }
    return page(request, "runs/detail.html", context, status=status)


@router.get("/runs/{run_id}/status")
def run_status(
    request: Request, run_id: RunIdPath, session: SessionDep, who: ReaderDep
) -> Response:
    """The run's state and progress (the page polls it every 2 s while it runs)."""
    return status_response(request, get_run(session, run_id), who, "runs/_status.html")


@router.post("/runs/{run_id}/cancel")
def cancel_run(
    request: Request, run_id: RunIdPath, session: SessionDep, who: ReaderDep
) -> Response:
    """Cancel a queued or running run (the API's cancel); an ended run's page says so."""
    run = get_run(session, run_id)
    try:
        cancel_active(request, session, run_id, run)
    except ApiError as exc:
        if exc.status != 409:
            raise
        message = field_errors(exc, page_lang(request))[1]
        return _run_page(request, session, who, run, TableQuery(), error=message, status=409)
    return RedirectResponse(f"/console/runs/{run_id}", status_code=303)


@router.get("/runs/{run_id}/report")
def run_report(
    request: Request, run_id: RunIdPath, session: SessionDep, who: ReaderDep
) -> Response:
    """The run's HTML report as the API serves it, in the reader's language, which the
    console (and only the service itself) may show in a frame."""
    read = RunRead(run_id, request, session, who)
    succeeded_run(session, run_id)
    response = report_route.report(read, None, page_lang(request))
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Cache-Control"] = "no-store"
    return response
