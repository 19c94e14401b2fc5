"""A cycle's evaluation (评议): rating tokens for a community's residents (shown once,
ready to print with the public page to rate on), the ratings per project, unit and
community, the committee's own rating, and the cadres' points once the cycle is closed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.console.deps import ConsoleActorDep
from api.console.forms import field_errors, refused_status
from api.console.pages import page, page_lang
from api.cycles import core, delivery, evaluation
from api.cycles.access import Actor
from api.cycles.schemas import CyclePublic
from api.cycles.schemas_delivery import RatingCreate, TokensCreate
from api.db.models import Cycle
from api.deps import SessionDep
from api.errors import ApiError
from api.routes.console import console_router
from matcher.cycle.roles import can

__all__ = ["router"]

router = console_router()

CycleId = Annotated[str, Path(min_length=1, max_length=32)]
LEVELS = ("project", "unit", "community")
"""The ratings' aggregates shown, one table each."""


def _mine(actor: Actor, community: str) -> bool:
    return actor.role != "community" or actor.communities is None or community in actor.communities


def _page(  # noqa: PLR0913 -- the page and what a form brings back
    request: Request,
    session: Session,
    actor: Actor,
    cycle: Cycle,
    *,
    tokens: dict[str, Any] | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    error: str = "",
    which: str = "",
    status: int = 200,
) -> Response:
    try:
        pub: delivery.Published | None = delivery.published(session, cycle)
    except ApiError as exc:
        if exc.code != "not_published":
            raise
        pub = None
    projects: list[dict[str, Any]] = []
    aggregates: dict[str, list[dict[str, Any]]] = {}
    if pub is not None:
        status_rows = pub.demand_status.drop_duplicates("demand_id")
        approved = {
            str(r["demand_id"]): int(r["approved_hours"])
            for r in delivery.progress(session, cycle, actor).to_dict("records")
        }
        projects = [
            {
                "demand_id": str(r["demand_id"]),
                "community_id": str(r["community_id"]),
                "approved_hours": approved.get(str(r["demand_id"]), 0),
            }
            for r in status_rows.sort_values("demand_id").to_dict("records")
            if str(r["demand_id"]) in approved
        ]
        for level in LEVELS:
            frame = evaluation.aggregate(session, cycle, actor, level)
            column = frame.columns[0]
            aggregates[level] = [
                {"group": str(r[column])} | {k: r[k] for k in frame.columns[1:]}
                for r in frame.to_dict("records")
            ]
    may_issue = can(actor.role, cycle.phase, "issue_rating_tokens") and pub is not None
    may_rate = can(actor.role, cycle.phase, "rate") and pub is not None
    communities = sorted({p["community_id"] for p in projects if _mine(actor, p["community_id"])})
    context: dict[str, Any] = {
        "cycle": CyclePublic.from_row(cycle, actor),
        "published": pub is not None,
        "projects": projects,
        "community_choices": [(c, c) for c in communities],
        "rate_choices": [
            (p["demand_id"], f"{p['demand_id']} · {p['community_id']}")
            for p in projects
            if p["approved_hours"] > 0 and _mine(actor, p["community_id"])
        ],
        "aggregates": aggregates,
        "levels": LEVELS,
        "may_issue": may_issue,
        "may_rate": may_rate,
        "points": (
            evaluation.points(session, cycle, actor)
            if cycle.phase == "closed" and actor.role in evaluation.POINTS_READERS
            else None
        ),
        "tokens": tokens,
        "site": str(request.base_url).rstrip("/"),
        "form": form or {},
        "errors": errors or {},
        "error": error,
        "which": which,
    }
    return page(request, "evaluation/page.html", context, status=status)


@router.get("/cycles/{cycle_id}/evaluation")
def evaluation_page(
    request: Request, cycle_id: CycleId, session: SessionDep, actor: ConsoleActorDep
) -> Response:
    """The ratings so far, the forms the person may use, the points after closing."""
    cycle = core.get_cycle(session, cycle_id, actor)
    return _page(request, session, actor, cycle)


def _refused(
    request: Request,
    session: Session,
    actor: Actor,
    cycle_id: str,
    exc: Exception,
    form: dict[str, str],
    which: str,
) -> Response:
    session.rollback()
    errors, message = field_errors(exc, page_lang(request))
    cycle = core.get_cycle(session, cycle_id, actor)
    return _page(
        request,
        session,
        actor,
        cycle,
        form=form,
        errors=errors,
        error=message,
        which=which,
        status=refused_status(exc),
    )


@router.post("/cycles/{cycle_id}/evaluation/tokens")
def issue_tokens(
    request: Request,
    cycle_id: CycleId,
    session: SessionDep,
    actor: ConsoleActorDep,
    community_id: Annotated[str, Form(max_length=400)] = "",
    count: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """New rating tokens for a community's residents, shown on this page only (the
    store keeps their hashes): a sheet to print and hand out."""
    cycle = core.get_cycle(session, cycle_id, actor)
    form = {"community_id": community_id, "count": count}
    try:
        body = TokensCreate(
            community_id=community_id,
            count=count.strip(),  # type: ignore[arg-type]  # the model reads the number
        )
        made = evaluation.issue_tokens(session, cycle, actor, body.community_id, body.count)
    except (ValidationError, ApiError) as exc:
        return _refused(request, session, actor, cycle_id, exc, form, "tokens")
    shown = {"community_id": body.community_id, "tokens": made}
    return _page(request, session, actor, cycle, tokens=shown)


@router.post("/cycles/{cycle_id}/evaluation/ratings")
def rate(
    request: Request,
    cycle_id: CycleId,
    session: SessionDep,
    actor: ConsoleActorDep,
    demand_id: Annotated[str, Form(max_length=400)] = "",
    rating: Annotated[str, Form(max_length=20)] = "",
    comment: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    """The community committee's rating of one of its delivered projects (once)."""
    cycle = core.get_cycle(session, cycle_id, actor)
    form = {"demand_id": demand_id, "rating": rating, "comment": comment}
    try:
        body = RatingCreate(
            demand_id=demand_id,
            rating=rating.strip(),  # type: ignore[arg-type]  # the model reads the number
            comment=comment or None,
        )
        evaluation.rate(
            session,
            cycle,
            actor,
            demand_id=body.demand_id,
            rating=body.rating,
            comment=body.comment,
        )
    except (ValidationError, ApiError) as exc:
        return _refused(request, session, actor, cycle_id, exc, form, "rate")
    return RedirectResponse(f"/console/cycles/{cycle_id}/evaluation#ratings", status_code=303)
