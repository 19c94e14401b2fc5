"""``/cycles/{id}/deliveries``, ``/progress``, ``/rating-tokens``, ``/ratings``,
``/points`` and ``/next``: a cycle's delivery, its evaluation and the next quarter.

Thin: every rule is in :mod:`api.cycles.delivery` and :mod:`api.cycles.evaluation`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from api.cycles import core, delivery, evaluation
from api.cycles.access import ActorDep
from api.cycles.schemas import CyclePublic
from api.cycles.schemas_delivery import (
    DecisionCreate,
    DeliveryCreate,
    DeliveryPublic,
    NextCycleCreate,
    PointsPublic,
    ProgressPublic,
    RatingAggregatePublic,
    RatingCreate,
    RatingPublic,
    TokensCreate,
    TokensPublic,
)
from api.deps import RowsLimit, RowsOffset, SessionDep
from api.errors import responses
from api.routes.cycles import CYCLE_RESPONSES, CycleId
from api.schemas import Page, as_utc

__all__ = ["router"]

router = APIRouter(prefix="/cycles", tags=["cycles"], responses=CYCLE_RESPONSES)

DeliveryId = Annotated[int, Path(ge=1, le=2**31 - 1, description="A delivery's id.")]

_CSV_BODY = {
    "required": True,
    "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
    "description": "The export's assignments columns plus hours_delivered (UTF-8 CSV).",
}


@router.post(
    "/{cycle_id}/deliveries",
    status_code=201,
    response_model=DeliveryPublic,
    responses=responses(409, 422),
)
def record_delivery(
    cycle_id: CycleId, body: DeliveryCreate, session: SessionDep, actor: ActorDep
) -> DeliveryPublic:
    """Record hours delivered on one assignment of the published list (units for their
    units, planners; phase delivery): pending until the community decides."""
    cycle = core.get_cycle(session, cycle_id, actor)
    row = delivery.record(
        session,
        cycle,
        actor,
        supplier_kind=body.supplier_kind,
        supplier_id=body.supplier_id,
        demand_id=body.demand_id,
        hours=body.hours,
    )
    return DeliveryPublic.from_row(row)


@router.post(
    "/{cycle_id}/deliveries/file",
    status_code=201,
    response_model=list[DeliveryPublic],
    responses=responses(409, 422),
    openapi_extra={"requestBody": _CSV_BODY},
)
async def record_delivery_file(
    cycle_id: CycleId, request: Request, session: SessionDep, actor: ActorDep
) -> list[DeliveryPublic]:
    """Record a CSV of delivered hours (the export's format plus ``hours_delivered``):
    all rows or none, 422 listing every problem (file, row, column, value, expected); an
    empty or unreadable body is one of them."""
    from starlette.concurrency import run_in_threadpool

    body = await request.body()

    def record() -> list[DeliveryPublic]:
        cycle = core.get_cycle(session, cycle_id, actor)
        rows = delivery.record_file(session, cycle, actor, body)
        return [DeliveryPublic.from_row(r) for r in rows]

    return await run_in_threadpool(record)


@router.get("/{cycle_id}/deliveries", response_model=Page[DeliveryPublic])
def list_deliveries(
    cycle_id: CycleId,
    session: SessionDep,
    actor: ActorDep,
    limit: RowsLimit = 100,
    offset: RowsOffset = 0,
    status: Literal["pending", "approved", "rejected"] | None = None,
    demand_id: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[DeliveryPublic]:
    """The cycle's deliveries, oldest first (a unit or community key: its own)."""
    cycle = core.get_cycle(session, cycle_id, actor)
    rows, total = delivery.list_deliveries(
        session, cycle, actor, status=status, demand_id=demand_id, limit=limit, offset=offset
    )
    return Page(
        items=[DeliveryPublic.from_row(r) for r in rows], total=total, limit=limit, offset=offset
    )


@router.post(
    "/{cycle_id}/deliveries/{delivery_id}/decision",
    response_model=DeliveryPublic,
    responses=responses(409, 422),
)
def decide_delivery(
    cycle_id: CycleId,
    delivery_id: DeliveryId,
    body: DecisionCreate,
    session: SessionDep,
    actor: ActorDep,
) -> DeliveryPublic:
    """Approve or reject a pending delivery (community keys, for their communities'
    projects); a second decision is 409 naming the delivery and its status."""
    cycle = core.get_cycle(session, cycle_id, actor)
    return DeliveryPublic.from_row(
        delivery.decide(session, cycle, actor, delivery_id, body.status, body.reason)
    )


@router.get("/{cycle_id}/progress", response_model=list[ProgressPublic], responses=responses(409))
def read_progress(cycle_id: CycleId, session: SessionDep, actor: ActorDep) -> list[ProgressPublic]:
    """Each project's planned, pending, approved and rejected hours and its progress."""
    cycle = core.get_cycle(session, cycle_id, actor)
    frame = delivery.progress(session, cycle, actor)
    return [ProgressPublic.model_validate(r) for r in frame.to_dict("records")]


@router.post(
    "/{cycle_id}/rating-tokens",
    status_code=201,
    response_model=TokensPublic,
    responses=responses(409, 422),
)
def issue_tokens(
    cycle_id: CycleId, body: TokensCreate, session: SessionDep, actor: ActorDep
) -> TokensPublic:
    """Rating tokens for a community's residents (its community key, planners; phases
    delivery and evaluation), shown this once: only their hashes are kept."""
    cycle = core.get_cycle(session, cycle_id, actor)
    tokens = evaluation.issue_tokens(session, cycle, actor, body.community_id, body.count)
    return TokensPublic(community_id=body.community_id, tokens=tokens)


@router.post(
    "/{cycle_id}/ratings",
    status_code=201,
    response_model=RatingPublic,
    responses=responses(409, 422),
)
def rate(
    cycle_id: CycleId, body: RatingCreate, session: SessionDep, actor: ActorDep
) -> RatingPublic:
    """A community committee rates one of its delivered projects (phase evaluation),
    once per key and project."""
    cycle = core.get_cycle(session, cycle_id, actor)
    row = evaluation.rate(
        session, cycle, actor, demand_id=body.demand_id, rating=body.rating, comment=body.comment
    )
    return RatingPublic(
        id=row.id,
        demand_id=row.demand_id,
        community_id=row.community_id,
        role=row.role,
        rating=row.rating,
        comment=row.comment,
        at=as_utc(row.at) or row.at,
    )


@router.get(
    "/{cycle_id}/ratings", response_model=list[RatingAggregatePublic], responses=responses(409, 422)
)
def read_ratings(
    cycle_id: CycleId,
    session: SessionDep,
    actor: ActorDep,
    level: Annotated[str, Query(max_length=20)] = "project",
) -> list[RatingAggregatePublic]:
    """The ratings' count, mean and n1..n5 per project, unit, community or district."""
    cycle = core.get_cycle(session, cycle_id, actor)
    frame = evaluation.aggregate(session, cycle, actor, level)
    column = frame.columns[0]
    return [
        RatingAggregatePublic(
            level=level,
            group=str(r[column]),
            count=int(r["count"]),
            mean=float(r["mean"]),
            n1=int(r["n1"]),
            n2=int(r["n2"]),
            n3=int(r["n3"]),
            n4=int(r["n4"]),
            n5=int(r["n5"]),
        )
        for r in frame.to_dict("records")
    ]


@router.get("/{cycle_id}/points", response_model=list[PointsPublic])
def read_points(cycle_id: CycleId, session: SessionDep, actor: ActorDep) -> list[PointsPublic]:
    """Each cadre's approved hours and points of a closed cycle (planners, admins,
    reviewers; a unit key: its units' cadres)."""
    cycle = core.get_cycle(session, cycle_id, actor)
    return [PointsPublic.from_row(r) for r in evaluation.points(session, cycle, actor)]


@router.post(
    "/{cycle_id}/next", status_code=201, response_model=CyclePublic, responses=responses(409, 422)
)
def open_next(
    cycle_id: CycleId,
    session: SessionDep,
    actor: ActorDep,
    body: NextCycleCreate | None = None,
) -> CyclePublic:
    """Open the next quarter's cycle from a closed one (planners): the demands not fully
    met carried over with their remaining hours, cadres' hours scaled by reliability when
    asked."""
    cycle = core.get_cycle(session, cycle_id, actor)
    body = body or NextCycleCreate()
    new = evaluation.open_next(
        session,
        cycle,
        actor,
        period=body.period,
        scale_by_reliability=body.scale_by_reliability,
    )
    return CyclePublic.from_row(new, actor)
