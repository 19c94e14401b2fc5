"""``GET /health``: open to all, answers while solves run."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

import matcher
from api import crud
from api.schemas import HealthPublic

__all__ = ["router"]

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic, summary="Liveness and the run queue")
async def health(request: Request) -> HealthPublic:
    """Whether the service and its database answer, and how many runs wait and run."""
    found = await run_in_threadpool(crud.queue_counts, request.app.state.sessionmaker)
    if found is None:
        return HealthPublic(status="degraded", database="unreachable", version=matcher.__version__)
    return HealthPublic(
        status="ok",
        database="ok",
        queued=found.get("queued", 0),
        running=found.get("running", 0),
        version=matcher.__version__,
    )
