"""A cycle's public notice (公示): the list on notice, the objections and the planners'
answers, publishing (a form posting to the cycle's move route), the published versions
with what changed from one to the next, and the links to each community's public page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.console.deps import ConsoleActorDep
from api.console.forms import field_errors, refused_status
from api.console.pages import page, page_lang
from api.cycles import core, notice
from api.cycles.access import Actor
from api.cycles.schemas import CyclePublic
from api.cycles.schemas_notice import ObjectionAnswerCreate, ObjectionPublic
from api.db.models import Cycle
from api.deps import SessionDep
from api.errors import ApiError
from api.routes.console import console_router
from matcher.cycle.roles import can

__all__ = ["router"]

router = console_router()

CycleId = Annotated[str, Path(min_length=1, max_length=32)]
ObjectionId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _versions(session: Session, cycle: Cycle, actor: Actor) -> list[dict[str, Any]]:
    """The published versions, newest first, each with its diff against the one
    before (``None`` for the first)."""
    out = []
    for row, count in notice.list_versions(session, cycle, actor):
        out.append(
            {
                "version": row.version,
                "published_at": row.published_at,
                "run_id": row.run_id,
                "projects": count,
                "diff": row.diff,
            }
        )
    return list(reversed(out))


def _communities(session: Session, cycle: Cycle, ids: set[str]) -> list[tuple[str, str]]:
    """The communities of the list on notice: (id, name), by name."""
    named = [(c, notice.community_name(session, cycle, c) or c) for c in ids]
    return sorted(named, key=lambda x: (x[1], x[0]))


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    cycle: Cycle,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    listed = notice.notice_list(session, cycle)
    versions = _versions(session, cycle, actor)
    if listed.source == "none" and versions:
        # not on public notice now (delivery, closed ...): the newest version for the console
        row, stored = notice.get_version(session, cycle, actor, versions[0]["version"])
        rows = [
            {c: getattr(p, c) for c in notice.CSV_COLUMNS if c != "units"}
            | {"units": list(p.units)}
            for p in stored
        ]
        listed = notice.NoticeList(listed.on_notice, "version", row.version, row.published_at, rows)
    objections = [
        ObjectionPublic.from_row(o, contact=actor.is_planner)
        for o in notice.list_objections(session, cycle, actor)
    ]
    standing = core.valid_approvals(session, cycle)
    context: dict[str, Any] = {
        "cycle": CyclePublic.from_row(cycle, actor),
        "listed": listed,
        "communities": _communities(session, cycle, {p["community_id"] for p in listed.projects}),
        "unit_names": notice.unit_names(session, cycle) if listed.projects else {},
        "objections": objections,
        "open_objections": sum(1 for o in objections if o.answer is None),
        "missing_reviews": [p for p, r in standing.items() if r is None],
        "versions": versions,
        "may_answer": can(actor.role, cycle.phase, "answer_objection"),
        "may_publish": can(actor.role, cycle.phase, "publish"),
        "may_withdraw": can(actor.role, cycle.phase, "withdraw"),
        "form": form or {},
        "errors": errors or {},
        "error": error,
    }
    return page(request, "notice/page.html", context, status=status)


@router.get("/cycles/{cycle_id}/notice")
def notice_page(
    request: Request, cycle_id: CycleId, session: SessionDep, actor: ConsoleActorDep
) -> Response:
    """The list on notice, the objections, publishing and the published versions."""
    cycle = core.get_cycle(session, cycle_id, actor)
    return _page(request, session, actor, cycle)


@router.post("/cycles/{cycle_id}/notice/objections/{objection_id}/answer")
def answer_objection(
    request: Request,
    cycle_id: CycleId,
    objection_id: ObjectionId,
    session: SessionDep,
    actor: ConsoleActorDep,
    answer: Annotated[str, Form(max_length=20000)] = "",
    upheld: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """A planner's answer to one objection (once); a refusal shows the page again with
    the error and what was typed."""
    cycle = core.get_cycle(session, cycle_id, actor)
    try:
        body = ObjectionAnswerCreate(
            answer=answer,
            upheld=upheld or None,  # type: ignore[arg-type]  # the model reads yes / no
        )
        notice.answer_objection(
            session, cycle, actor, objection_id, answer=body.answer, upheld=body.upheld
        )
    except (ValidationError, ApiError) as exc:
        session.rollback()
        errors, message = field_errors(exc, page_lang(request))
        if isinstance(exc, ApiError) and exc.status == 404:
            raise
        cycle = core.get_cycle(session, cycle_id, actor)
        return _page(
            request,
            session,
            actor,
            cycle,
            form={"objection_id": objection_id, "answer": answer, "upheld": upheld},
            errors=errors,
            error=message,
            status=refused_status(exc),
        )
    return RedirectResponse(
        f"/console/cycles/{cycle_id}/notice#objection-{objection_id}", status_code=303
    )
