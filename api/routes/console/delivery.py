"""A cycle's delivery (项目实施): units (and planners) record delivered hours, one
assignment at a time or a CSV of many; communities confirm or reject the pending ones
(many at once); each project's progress, planned against recorded and approved."""

from __future__ import annotations

from typing import Annotated, Any

import pandas as pd
from fastapi import File, Form, Path, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.console.deps import ConsoleActorDep
from api.console.forms import field_errors, refused_status
from api.console.pages import page, page_lang
from api.cycles import core, delivery
from api.cycles.access import Actor, authorize
from api.cycles.schemas import CyclePublic
from api.cycles.schemas_delivery import DeliveryCreate
from api.db.models import Cycle
from api.deps import SessionDep
from api.errors import ApiError
from api.routes.console import console_router
from matcher.csvsafe import neutralise_formulas
from matcher.cycle.delivery import EXPORT_COLUMNS, recorded_hours
from matcher.cycle.roles import can
from matcher.i18n import N_, Text, render

__all__ = ["router"]

router = console_router()

CycleId = Annotated[str, Path(min_length=1, max_length=32)]
PAGE_ROWS = 100
MAX_FILE = 5 * 1024 * 1024
"""The largest CSV of deliveries read from the form (bytes)."""
SEP = "|"
"""Joins an assignment's supplier kind, supplier and demand in the form's choice."""


def _published(session: Session, cycle: Cycle) -> delivery.Published | None:
    """The published list, or ``None`` while the cycle has none."""
    try:
        return delivery.published(session, cycle)
    except ApiError as exc:
        if exc.code != "not_published":
            raise
        return None


def _assignments(
    session: Session, cycle: Cycle, actor: Actor, pub: delivery.Published
) -> pd.DataFrame:
    """The published assignments the person records for (a unit: its units'), with the
    hours left on each (planned less pending and approved)."""
    a = pub.assignments
    if actor.role == "unit" and actor.units is not None:
        a = a[a["unit_id"].astype(str).isin(list(actor.units))]
    done = recorded_hours(delivery.deliveries_frame(delivery.delivery_rows(session, cycle)))
    keys = zip(a["supplier_kind"], a["supplier_id"], a["demand_id"], strict=True)
    left = [
        int(h) - done.get((str(k), str(s), str(d)), 0)
        for (k, s, d), h in zip(keys, a["hours"], strict=True)
    ]
    return a.assign(left=left).sort_values(["demand_id", "supplier_kind", "supplier_id"])


def _choices(frame: pd.DataFrame) -> list[tuple[str, str]]:
    return [
        (
            SEP.join((str(r["supplier_kind"]), str(r["supplier_id"]), str(r["demand_id"]))),
            f"{r['demand_id']} · {r['supplier_kind']} {r['supplier_id']} · {r['unit_id']}"
            f" · {int(r['left'])}/{int(r['hours'])} h",
        )
        for r in frame.to_dict("records")
    ]


def _page(  # noqa: PLR0913 -- the page and what a refused form brings back
    request: Request,
    session: Session,
    actor: Actor,
    cycle: Cycle,
    *,
    status_filter: str | None = None,
    offset: int = 0,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    error: str = "",
    issues: list[dict[str, Any]] | None = None,
    status: int = 200,
) -> Response:
    pub = _published(session, cycle)
    may_record = can(actor.role, cycle.phase, "record_delivery")
    rows, total = delivery.list_deliveries(
        session,
        cycle,
        actor,
        status=status_filter,
        demand_id=None,
        limit=PAGE_ROWS,
        offset=offset,
    )
    progress = [] if pub is None else delivery.progress(session, cycle, actor).to_dict("records")
    if actor.role == "community" and actor.communities is not None:
        progress = [p for p in progress if p["community_id"] in actor.communities]
    context: dict[str, Any] = {
        "cycle": CyclePublic.from_row(cycle, actor),
        "published": pub is not None,
        "version": None if pub is None else pub.version,
        "may_record": may_record,
        "may_decide": can(actor.role, cycle.phase, "confirm_delivery"),
        "choices": (
            _choices(_assignments(session, cycle, actor, pub))
            if may_record and pub is not None
            else []
        ),
        "columns": EXPORT_COLUMNS,
        "deliveries": rows,
        "total": total,
        "offset": offset,
        "limit": PAGE_ROWS,
        "status_filter": status_filter or "",
        "progress": progress,
        "form": form or {},
        "errors": errors or {},
        "error": error,
        "issues": issues or [],
    }
    return page(request, "delivery/page.html", context, status=status)


def _refused(
    request: Request,
    session: Session,
    actor: Actor,
    cycle_id: str,
    exc: Exception,
    form: dict[str, Any],
    *,
    issues: bool = False,
) -> Response:
    """The page again after a refused form: the error, what was typed."""
    session.rollback()
    lang = page_lang(request)
    errors, message = field_errors(exc, lang)
    for name in ("supplier_kind", "supplier_id", "demand_id"):
        if name in errors:
            errors.setdefault("assignment", errors.pop(name))
    found: list[dict[str, Any]] = []
    if issues and isinstance(exc, ApiError):
        rendered = render(exc.errors or [], lang)
        if isinstance(rendered, list):
            found = [i for i in rendered if isinstance(i, dict)]
    cycle = core.get_cycle(session, cycle_id, actor)
    return _page(
        request,
        session,
        actor,
        cycle,
        form=form,
        errors=errors,
        error=message,
        issues=found,
        status=refused_status(exc),
    )


@router.get("/cycles/{cycle_id}/delivery")
def delivery_page(
    request: Request,
    cycle_id: CycleId,
    session: SessionDep,
    actor: ConsoleActorDep,
    status: Annotated[str, Query(pattern="^(|pending|approved|rejected)$")] = "",
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> Response:
    """The deliveries the person sees, the forms they may use and the progress."""
    cycle = core.get_cycle(session, cycle_id, actor)
    return _page(request, session, actor, cycle, status_filter=status or None, offset=offset)


@router.post("/cycles/{cycle_id}/delivery/record")
def record_delivery(
    request: Request,
    cycle_id: CycleId,
    session: SessionDep,
    actor: ConsoleActorDep,
    assignment: Annotated[str, Form(max_length=700)] = "",
    hours: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Record hours delivered on one assignment (pending until its community decides)."""
    cycle = core.get_cycle(session, cycle_id, actor)
    form = {"assignment": assignment, "hours": hours}
    parts = assignment.split(SEP)
    kind, supplier, demand = parts if len(parts) == 3 else ("", "", "")
    try:
        body = DeliveryCreate(
            supplier_kind=kind,
            supplier_id=supplier,
            demand_id=demand,
            hours=hours.strip(),  # type: ignore[arg-type]  # the model reads the number
        )
        delivery.record(
            session,
            cycle,
            actor,
            supplier_kind=body.supplier_kind,
            supplier_id=body.supplier_id,
            demand_id=body.demand_id,
            hours=body.hours,
        )
    except (ValidationError, ApiError) as exc:
        return _refused(request, session, actor, cycle_id, exc, form)
    return RedirectResponse(f"/console/cycles/{cycle_id}/delivery#deliveries", status_code=303)


@router.post("/cycles/{cycle_id}/delivery/file")
def record_delivery_file(
    request: Request,
    cycle_id: CycleId,
    session: SessionDep,
    actor: ConsoleActorDep,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Record a CSV of delivered hours: every row or none; a refusal lists every problem
    (row, column, value, what was expected)."""
    cycle = core.get_cycle(session, cycle_id, actor)
    content = b"" if file is None else file.file.read(MAX_FILE + 1)
    name = (file.filename if file is not None else None) or "deliveries.csv"
    try:
        if len(content) > MAX_FILE:
            raise ApiError(
                413,
                "too_large",
                Text(N_("the file is larger than {n} MB"), n=MAX_FILE // (1024 * 1024)),
                [{"field": "file", "value": name}],
            )
        delivery.record_file(session, cycle, actor, content, file=name[:200])
    except ApiError as exc:
        return _refused(request, session, actor, cycle_id, exc, {}, issues=True)
    return RedirectResponse(f"/console/cycles/{cycle_id}/delivery#deliveries", status_code=303)


@router.get("/cycles/{cycle_id}/delivery/template.csv")
def delivery_template(cycle_id: CycleId, session: SessionDep, actor: ConsoleActorDep) -> Response:
    """The person's published assignments in the bulk format, ``hours_delivered`` 0:
    fill it in and upload it."""
    cycle = core.get_cycle(session, cycle_id, actor)
    authorize(actor, cycle, "record_delivery")  # names cadres: for those who record
    pub = delivery.published(session, cycle)
    frame = _assignments(session, cycle, actor, pub)
    out = frame[[c for c in EXPORT_COLUMNS if c in frame.columns]].assign(hours_delivered=0)
    # ids that a spreadsheet would run as formulas are written as text (csvsafe)
    body = "\ufeff" + neutralise_formulas(out).to_csv(index=False)
    return Response(
        body.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="cycle-{cycle_id}-deliveries.csv"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/cycles/{cycle_id}/delivery/decide")
def decide_deliveries(
    request: Request,
    cycle_id: CycleId,
    session: SessionDep,
    actor: ConsoleActorDep,
    delivery_id: Annotated[list[str] | None, Form()] = None,
    status: Annotated[str, Form(max_length=20)] = "",
    only: Annotated[str, Form(max_length=60)] = "",
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Confirm or reject the ticked pending deliveries (``status``), or one (``only``:
    ``id:status``): all or none."""
    cycle = core.get_cycle(session, cycle_id, actor)
    ticked = [d for d in (delivery_id or []) if d.strip()]
    if only:
        one, _sep, status = only.partition(":")
        ticked = [one]
    form = {"ticked": ticked, "status": status, "reason": reason}
    try:
        ids = [int(d) for d in ticked]
    except ValueError:
        ids = []
    try:
        if not ids:
            raise ValueError(Text(N_("tick at least one pending delivery")))
        for ident in ids:
            delivery.decide(session, cycle, actor, ident, status, reason)
    except (ApiError, ValueError) as exc:
        return _refused(request, session, actor, cycle_id, exc, form)
    return RedirectResponse(f"/console/cycles/{cycle_id}/delivery#deliveries", status_code=303)
