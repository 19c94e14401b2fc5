"""``/public/cycles/{id}/ratings``: residents rate delivered projects with the tokens
their community handed out, and anyone reads each project's count and mean. No key.

Ratings are limited per client address (``MATCHER_RATE_LIMIT_RATINGS``,
:func:`api.deps.limit_public_write`) whenever the service's rate limits are on.
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.cycles import core, evaluation
from api.cycles.access import PUBLIC
from api.cycles.schemas_delivery import PublicRatingCreate, PublicRatingPublic
from api.deps import SessionDep, limit_public_write
from api.errors import responses
from api.routes.cycles import PUBLIC_RESPONSES, CycleId

__all__ = ["router"]

router = APIRouter(prefix="/public", tags=["public"], responses=PUBLIC_RESPONSES)


@router.post(
    "/cycles/{cycle_id}/ratings",
    status_code=201,
    response_model=PublicRatingPublic,
    responses=responses(403, 409, 422, 429),
)
def rate(
    cycle_id: CycleId, body: PublicRatingCreate, request: Request, session: SessionDep
) -> PublicRatingPublic:
    """Rate a delivered project 1 to 5 with a token of its community (phase
    evaluation), once per token and project; answers the project's ratings so far."""
    limit_public_write(request, "ratings")
    cycle = core.get_cycle(session, cycle_id, PUBLIC)
    evaluation.rate_public(
        session,
        cycle,
        demand_id=body.demand_id,
        token=body.token,
        rating=body.rating,
        comment=body.comment,
    )
    frame = evaluation.public_aggregate(session, cycle)
    row = frame[frame["demand_id"] == body.demand_id].iloc[0]
    return PublicRatingPublic(
        demand_id=body.demand_id, count=int(row["count"]), mean=float(row["mean"])
    )


@router.get("/cycles/{cycle_id}/ratings", response_model=list[PublicRatingPublic])
def read_ratings(cycle_id: CycleId, session: SessionDep) -> list[PublicRatingPublic]:
    """Each rated project's number of ratings and mean (nothing about who rated)."""
    cycle = core.get_cycle(session, cycle_id, PUBLIC)
    frame = evaluation.public_aggregate(session, cycle)
    return [
        PublicRatingPublic(
            demand_id=str(r["demand_id"]), count=int(r["count"]), mean=float(r["mean"])
        )
        for r in frame.to_dict("records")
    ]
