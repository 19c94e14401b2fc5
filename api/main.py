"""The FastAPI application: ``create_app(settings)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool

import matcher
from api.db.session import make_engine, make_sessionmaker, migrate
from api.deps import single_query_values
from api.errors import install_handlers
from api.middleware import BodySizeLimit
from api.routes import (
    compare,
    datasets,
    explain,
    health,
    keys,
    recommendations,
    reports,
    results,
    runs,
)
from api.settings import Settings
from api.worker import Dispatcher, mark_interrupted

DESCRIPTION = """\
The co-construction planner as a service: upload datasets, queue planning runs (solved
by `matcher.plan` in worker processes), and read plans as JSON, CSV, Parquet or GeoJSON.

Every route but `/health` and the docs needs an API key (`X-API-Key` header, or
`Authorization: Bearer`). Roles: viewer (read), planner (datasets and runs), admin (keys).
"""


def create_app(settings: Settings | None = None, *, start_dispatcher: bool = True) -> FastAPI:
    """Build the application.

    On startup the store is migrated to the newest schema, runs left ``running`` by a
    stopped server are marked failed, and the run dispatcher starts.

    Parameters
    ----------
    settings
        The settings; read from the environment if ``None``.
    start_dispatcher
        Whether to run queued runs (tests of the API alone may turn it off).
    """
    settings = settings or Settings()
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(migrate, engine)
        await run_in_threadpool(mark_interrupted, engine)
        dispatcher = None
        if start_dispatcher:
            dispatcher = Dispatcher(
                engine,
                settings.database_url,
                settings.max_concurrent_runs,
                settings.run_time_limit_s,
                settings.dispatch_interval_s,
                solve_engine=settings.engine,
                ray_address=settings.ray_address,
            )
            dispatcher.start()
        app.state.dispatcher = dispatcher
        try:
            yield
        finally:
            if dispatcher is not None:
                await run_in_threadpool(dispatcher.stop)
            engine.dispose()

    app = FastAPI(
        title="Co-construction planner",
        version=matcher.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(single_query_values)],
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.dispatcher = None
    install_handlers(app)
    routers = (health, datasets, runs, results, compare, reports, explain, keys, recommendations)
    for module in routers:
        app.include_router(module.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
