"""A cycle's draft project list: plan runs on the cycle's lists (queued from a form, their
state updating by itself), the run adopted as the draft, the planner's edits of it
(exclude, pin, move hours: stable re-plans whose churn the service stores) and the stable
plan against the cycle before's published list.

Planners act (in planning, as the role table says); reviewers read the draft with its
suppliers and the edits; everyone else in scope reads the public project list. Every
action goes through :mod:`api.cycles.drafts`, as the JSON routes do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api import crud
from api.console.deps import ConsoleActorDep
from api.console.forms import field_errors, refused_status
from api.console.pages import page, page_lang
from api.cycles import core, drafts
from api.cycles.access import Actor, authorize, forbidden_role
from api.cycles.schemas import CyclePublic
from api.cycles.schemas_drafts import (
    AdoptCreate,
    CycleRunCreate,
    DraftEditsCreate,
    EditPublic,
    StableCreate,
)
from api.db.models import ACTIVE_STATUSES, Cycle, Run
from api.deps import Principal, SessionDep, SettingsDep
from api.errors import ApiError
from api.routes.console import console_router
from api.routes.console.runs import (
    COLUMN_NAMES,
    STAGE_NAMES,
    STATUS_NAMES,
    form_body,
    param_context,
    run_context,
)
from api.settings import Settings
from matcher.cycle.projects import EDIT_CHANGE_PENALTY
from matcher.cycle.roles import can
from matcher.i18n import N_

__all__ = ["router"]

router = console_router()

CycleId = Annotated[str, Path(min_length=1, max_length=32)]
PROJECT_ROWS = 50
EDIT_ACTIONS = {
    "exclude": N_("exclude the assignment"),
    "pin": N_("pin the assignment"),
    "move_hours": N_("move hours to another supplier"),
}
"""The edits the service offers (:class:`~api.cycles.schemas_drafts.DraftEditCreate`)."""
EDIT_FIELDS = ("action", "supplier_kind", "supplier_id", "demand_id", "hours", "to_kind", "to_id")
SUPPLIER_KINDS = ("cadre", "service")
STABLE_FIELDS = {"change_penalty": "stable_penalty"}
"""The stable plan's form field for the request's (the edit form has a change penalty
too: ids are unique on a page)."""
CHURN_NAMES = {
    "hours_changed": N_("hours changed"),
    "hours_added": N_("hours added"),
    "hours_removed": N_("hours removed"),
    "hours_kept": N_("hours kept"),
    "assignments_changed": N_("assignments changed"),
    "assignments_added": N_("assignments added"),
    "assignments_removed": N_("assignments removed"),
    "assignments_kept": N_("assignments kept"),
}
"""The churn figures an edit shows (:func:`matcher.analysis.replan.churn`)."""


def _reader(actor: Actor) -> Principal:
    """The actor as a reader of the runs' figures (the scope of its districts)."""
    return Principal(0, "planner", list(actor.districts) if actor.districts else None)


def _cycle_runs(session: Session, cycle: Cycle) -> list[Run]:
    """The plan runs on the cycle's lists, newest first (the cycle's dataset)."""
    if cycle.dataset_id is None:
        return []
    rows, _total = crud.list_plan_runs(
        session, crud.RunFilters(dataset_id=cycle.dataset_id), 100, 0
    )
    return list(rows)


def _runs_context(session: Session, cycle: Cycle, actor: Actor) -> dict[str, Any]:
    runs = _cycle_runs(session, cycle)
    who = _reader(actor)
    return {
        "cycle_id": cycle.id,
        "draft_run_id": cycle.draft_run_id,
        "runs": [run_context(r, who) for r in runs],
        "polling": any(r.status in ACTIVE_STATUSES for r in runs),
        "may_adopt": can(actor.role, cycle.phase, "adopt_run"),
        "status_names": STATUS_NAMES,
        "stage_names": STAGE_NAMES,
    }


@dataclass(frozen=True)
class Shown:
    """What a draft page shows besides the cycle: the page of projects, a form's values,
    and a refused form's errors (``which``: run, adopt, edit or stable)."""

    offset: int = 0
    form: Mapping[str, str] = field(default_factory=dict)
    errors: Mapping[str, str] = field(default_factory=dict)
    error: str = ""
    which: str = ""
    status: int = 200


def _draft_page(
    request: Request, session: Session, actor: Actor, cycle: Cycle, shown: Shown
) -> Response:
    full = actor.role in drafts.FULL_READERS
    try:
        draft = drafts.draft_projects(session, cycle, actor)
    except ApiError as exc:
        if exc.status != 409:
            raise
        draft = None
    projects = draft["projects"] if draft else []
    offset = shown.offset
    edits = (
        [EditPublic.from_row(e) for e in drafts.list_edits(session, cycle, actor)] if full else []
    )
    may_edit = can(actor.role, cycle.phase, "edit_draft")
    context: dict[str, Any] = {
        "cycle": CyclePublic.from_row(cycle, actor),
        "full": full,
        "draft": draft,
        "projects": projects[offset : offset + PROJECT_ROWS],
        "p_total": len(projects),
        "p_offset": offset,
        "p_rows": PROJECT_ROWS,
        "edits": list(reversed(edits)),
        "may_run": can(actor.role, cycle.phase, "run_plan"),
        "may_edit": may_edit and draft is not None,
        "may_stable": may_edit and cycle.previous_cycle_id is not None,
        "params": param_context(page_lang(request)),
        "edit_actions": EDIT_ACTIONS,
        "supplier_kinds": SUPPLIER_KINDS,
        "churn_names": CHURN_NAMES,
        "column_names": COLUMN_NAMES,
        "default_penalty": EDIT_CHANGE_PENALTY,
        "form": dict(shown.form),
        "errors": dict(shown.errors),
        "error": shown.error,
        "which": shown.which,
    }
    if full:
        context |= _runs_context(session, cycle, actor)
    return page(request, "drafts/draft.html", context, status=shown.status)


@router.get("/cycles/{cycle_id}/draft")
def draft_page(
    request: Request,
    cycle_id: CycleId,
    session: SessionDep,
    actor: ConsoleActorDep,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    supplier_kind: Annotated[str, Query(max_length=16)] = "",
    supplier_id: Annotated[str, Query(max_length=200)] = "",
    demand_id: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The cycle's draft: its runs, the draft project list, its edits (a project's
    supplier picked from the list fills in the edit form)."""
    cycle = core.get_cycle(session, cycle_id, actor)
    form = {"supplier_kind": supplier_kind, "supplier_id": supplier_id, "demand_id": demand_id}
    return _draft_page(request, session, actor, cycle, Shown(offset=offset, form=form))


@router.get("/cycles/{cycle_id}/draft/runs")
def draft_runs(
    request: Request, cycle_id: CycleId, session: SessionDep, actor: ConsoleActorDep
) -> Response:
    """The cycle's runs and their state (polled every 2 s while one is queued or
    running; once none is, ``HX-Refresh`` shows the page anew)."""
    cycle = core.get_cycle(session, cycle_id, actor)
    if actor.role not in drafts.FULL_READERS:
        raise forbidden_role(actor, "read_edits", drafts.FULL_READERS)
    context = _runs_context(session, cycle, actor)
    headers = {} if context["polling"] else {"HX-Refresh": "true"}
    return page(request, "drafts/_runs.html", context, headers=headers)


def _queue(
    request: Request,
    session: Session,
    settings: Settings,
    cycle: Cycle,
    actor: Actor,
    body: CycleRunCreate,
) -> Run:
    """Queue a plan run on the cycle's lists (the JSON route's service)."""
    return drafts.queue_run(
        request, session, settings, cycle, actor, body.model_dump(exclude_unset=True)
    )


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _refused(
    request: Request,
    session: Session,
    actor: Actor,
    cycle_id: str,
    exc: Exception,
    values: Mapping[str, str],
    which: str,
    names: Mapping[str, str] | None = None,
) -> Response:
    session.rollback()
    if isinstance(exc, ApiError) and exc.status in (403, 404):
        raise exc
    errors, message = field_errors(exc, page_lang(request))
    errors = {(names or {}).get(k, k): v for k, v in errors.items()}
    cycle = core.get_cycle(session, cycle_id, actor)
    return _draft_page(
        request,
        session,
        actor,
        cycle,
        Shown(0, values, errors, message, which, refused_status(exc)),
    )


@router.post("/cycles/{cycle_id}/draft/runs")
async def run_plan(
    request: Request,
    cycle_id: CycleId,
    session: SessionDep,
    settings: SettingsDep,
    actor: ConsoleActorDep,
) -> Response:
    """Queue a plan run on the cycle's lists from the form."""
    cycle = core.get_cycle(session, cycle_id, actor)
    values = await _form(request)
    try:
        body = CycleRunCreate.model_validate(form_body(values, "label", "time_limit_s"))
        _queue(request, session, settings, cycle, actor, body)
    except (ValidationError, ValueError, ApiError) as exc:
        return _refused(request, session, actor, cycle_id, exc, values, "run")
    return RedirectResponse(f"/console/cycles/{cycle_id}/draft#runs", status_code=303)


@router.post("/cycles/{cycle_id}/draft/adopt")
async def adopt(
    request: Request, cycle_id: CycleId, session: SessionDep, actor: ConsoleActorDep
) -> Response:
    """Adopt a succeeded run of the cycle's lists as the draft."""
    cycle = core.get_cycle(session, cycle_id, actor)
    values = await _form(request)
    try:
        body = AdoptCreate(run_id=values.get("run_id", ""))
        drafts.adopt_run(session, cycle, actor, body.run_id)
    except (ValidationError, ValueError, ApiError) as exc:
        return _refused(request, session, actor, cycle_id, exc, values, "adopt")
    return RedirectResponse(f"/console/cycles/{cycle_id}/draft", status_code=303)


def _edit_errors(errors: dict[str, str]) -> dict[str, str]:
    """An edit's errors by the form's field names (``edits.0.hours`` and
    ``edits[0].hours`` are the field ``hours``)."""
    out: dict[str, str] = {}
    for name, message in errors.items():
        key = name.rsplit(".", 1)[-1] if name.startswith("edits") else name
        out.setdefault(key, message)
    return out


@router.post("/cycles/{cycle_id}/draft/edits")
async def edit_draft(
    request: Request, cycle_id: CycleId, session: SessionDep, actor: ConsoleActorDep
) -> Response:
    """Edit the draft (one edit: exclude, pin or move hours) by a stable re-plan; the
    page then shows the edit's churn."""
    cycle = core.get_cycle(session, cycle_id, actor)
    values = await _form(request)
    try:
        edit = {k: values[k].strip() for k in EDIT_FIELDS if values.get(k, "").strip()}
        body = DraftEditsCreate.model_validate(
            {"edits": [edit]}
            | (
                {"change_penalty": values["change_penalty"].strip()}
                if values.get("change_penalty", "").strip()
                else {}
            )
        )
        drafts.edit(
            session,
            cycle,
            actor,
            [e.model_dump(exclude_none=True) for e in body.edits],
            body.change_penalty,
        )
    except (ValidationError, ValueError, ApiError) as exc:
        session.rollback()
        if isinstance(exc, ApiError) and exc.status in (403, 404):
            raise
        errors, message = field_errors(exc, page_lang(request))
        status = refused_status(exc)
        cycle = core.get_cycle(session, cycle_id, actor)
        shown = Shown(0, values, _edit_errors(errors), message, "edit", status)
        return _draft_page(request, session, actor, cycle, shown)
    return RedirectResponse(f"/console/cycles/{cycle_id}/draft#edits", status_code=303)


@router.post("/cycles/{cycle_id}/draft/stable")
async def stable(
    request: Request, cycle_id: CycleId, session: SessionDep, actor: ConsoleActorDep
) -> Response:
    """Plan the cycle's lists keeping the cycle before's published list where it can."""
    cycle = core.get_cycle(session, cycle_id, actor)
    values = await _form(request)
    try:
        body = StableCreate.model_validate({"change_penalty": values.get("stable_penalty", "")})
        authorize(actor, cycle, "edit_draft")
        previous = drafts.previous_version_run(session, cycle)
        drafts.stable_plan(session, cycle, actor, previous, body.change_penalty)
    except (ValidationError, ValueError, ApiError) as exc:
        return _refused(request, session, actor, cycle_id, exc, values, "stable", STABLE_FIELDS)
    return RedirectResponse(f"/console/cycles/{cycle_id}/draft#edits", status_code=303)
