"""``GET /health``: open to all, answers while solves run."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

import matcher
from api.db.models import Run
from api.schemas import HealthPublic

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic, summary="Liveness and the run queue")
async def health(request: Request) -> HealthPublic:
    """Whether the service and its database answer, and how many runs wait and run."""

    def counts() -> dict[str, int]:
        with request.app.state.sessionmaker() as session:
            rows = session.execute(
                select(Run.status, func.count())
                .where(Run.status.in_(("queued", "running")))
                .group_by(Run.status)
            ).all()
        return {str(s): int(n) for s, n in rows}

    try:
        found = await run_in_threadpool(counts)
    except SQLAlchemyError:
        return HealthPublic(status="degraded", database="unreachable", version=matcher.__version__)
    return HealthPublic(
        status="ok",
        database="ok",
        queued=found.get("queued", 0),
        running=found.get("running", 0),
        version=matcher.__version__,
    )
