"""A cycle's discussion (两议) and reviews (两审): the draft's comments with the form to
comment, the reviews given so far, and the reviewers' approve / return forms (which
post to the cycle's move route, :mod:`api.routes.console.cycles`)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.console.deps import ConsoleActorDep
from api.console.forms import field_errors, refused_status
from api.console.pages import page, page_lang
from api.cycles import core, discussion
from api.cycles.access import Actor
from api.cycles.schemas import CyclePublic
from api.cycles.schemas_notice import CommentCreate
from api.db.models import Cycle
from api.deps import SessionDep
from api.errors import ApiError
from api.routes.console import console_router
from matcher.cycle.roles import can

__all__ = ["router"]

router = console_router()

CycleId = Annotated[str, Path(min_length=1, max_length=32)]


def _projects(session: Session, cycle: Cycle, actor: Actor) -> list[tuple[str, str]]:
    """The draft's projects the person may comment on: (demand, its label)."""
    projects = discussion.draft_projects(session, cycle)
    mine = actor.communities if actor.role == "community" else None
    return [(d, f"{d} · {c}") for d, c in sorted(projects.items()) if mine is None or c in mine]


def _page(
    request: Request,
    session: Session,
    actor: Actor,
    cycle: Cycle,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> Response:
    standing = core.valid_approvals(session, cycle)
    context: dict[str, Any] = {
        "cycle": CyclePublic.from_row(cycle, actor),
        "comments": discussion.list_comments(session, cycle, actor),
        "kinds": discussion.KINDS,
        "projects": _projects(session, cycle, actor),
        "reviews": discussion.reviews(session, cycle, actor),
        "standing": {p: r.id for p, r in standing.items() if r is not None},
        "review_phases": [p for p in core.REVIEW_PHASES if p not in cycle.skipped],
        "may_comment": can(actor.role, cycle.phase, "comment"),
        "may_review": can(actor.role, cycle.phase, "approve"),
        "form": form or {},
        "errors": errors or {},
        "error": error,
    }
    return page(request, "discussion/page.html", context, status=status)


@router.get("/cycles/{cycle_id}/discussion")
def discussion_page(
    request: Request, cycle_id: CycleId, session: SessionDep, actor: ConsoleActorDep
) -> Response:
    """The draft's comments, the reviews so far, and the forms the person may use."""
    cycle = core.get_cycle(session, cycle_id, actor)
    return _page(request, session, actor, cycle)


@router.post("/cycles/{cycle_id}/discussion/comments")
def add_comment(
    request: Request,
    cycle_id: CycleId,
    session: SessionDep,
    actor: ConsoleActorDep,
    kind: Annotated[str, Form(max_length=40)] = "",
    body: Annotated[str, Form(max_length=20000)] = "",
    demand_id: Annotated[str, Form(max_length=400)] = "",
) -> Response:
    """Comment on the draft or one of its projects; a refusal shows the page again
    with the error and what was typed."""
    cycle = core.get_cycle(session, cycle_id, actor)
    values = {"kind": kind, "body": body, "demand_id": demand_id}
    try:
        made = CommentCreate(
            kind=kind,  # type: ignore[arg-type]  # checked by the model
            body=body,
            demand_id=demand_id.strip() or None,
        )
        discussion.add_comment(
            session, cycle, actor, kind=made.kind, body=made.body, demand_id=made.demand_id
        )
    except (ValidationError, ApiError) as exc:
        session.rollback()
        errors, message = field_errors(exc, page_lang(request))
        cycle = core.get_cycle(session, cycle_id, actor)
        return _page(
            request,
            session,
            actor,
            cycle,
            form=values,
            errors=errors,
            error=message,
            status=refused_status(exc),
        )
    return RedirectResponse(f"/console/cycles/{cycle_id}/discussion#comments", status_code=303)


@router.post("/cycles/{cycle_id}/discussion/review/{decision}")
def review(
    request: Request,
    cycle_id: CycleId,
    decision: Annotated[str, Path(pattern="^(approve|return)$")],
    session: SessionDep,
    actor: ConsoleActorDep,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """A reviewer's decision (the cycle's ``approve`` / ``return`` move); a refusal (a
    return without a reason, another phase) shows this page again with why and the
    reason typed."""
    cycle = core.get_cycle(session, cycle_id, actor)
    try:
        core.move(session, cycle, actor, decision, reason.strip())
    except ApiError as exc:
        session.rollback()
        if exc.status == 403:
            raise
        errors, message = field_errors(exc, page_lang(request))
        cycle = core.get_cycle(session, cycle_id, actor)
        return _page(
            request,
            session,
            actor,
            cycle,
            form={f"reason_{decision}": reason},
            errors={f"reason_{decision}": message} if decision == "return" else errors,
            error=message,
            status=exc.status,
        )
    return RedirectResponse(f"/console/cycles/{cycle_id}/discussion", status_code=303)
