"""The FastAPI application: ``create_app(settings)``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

import matcher
from api.console.pages import STATIC, ConsoleErrorPages
from api.console.state import ConsoleState
from api.db.session import make_engine, make_sessionmaker, migrate
from api.deps import single_query_values
from api.errors import install_handlers, responses
from api.middleware import (
    AddressRateLimit,
    BodySizeLimit,
    RateLimits,
    RefuseNul,
    SecurityHeaders,
)
from api.routes import (
    compare,
    cycle_delivery,
    cycle_drafts,
    cycle_lists,
    cycle_notice,
    cycles,
    datasets,
    explain,
    health,
    keys,
    projectlist,
    public,
    public_ratings,
    recommendations,
    reports,
    results,
    runs,
    templates,
)
from api.routes.console import page_routers
from api.settings import Settings
from api.worker import Dispatcher, mark_interrupted

__all__ = ["DESCRIPTION", "create_app"]

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
        # What uploads a killed server was unpacking: the folder is this database's
        # server's alone, so all that is in it now is left over.
        from api.uploads import prepare_upload_root, remove_upload_root, upload_root

        uploads_root = upload_root(settings)
        await run_in_threadpool(
            prepare_upload_root, uploads_root, shared_tmp=settings.upload_dir is None
        )
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
                artifact_limit=settings.read_time_limit_s,
                read_memory_mb=settings.read_memory_mb,
            )
            dispatcher.start()
        app.state.dispatcher = dispatcher
        try:
            yield
        finally:
            if dispatcher is not None:
                await run_in_threadpool(dispatcher.stop)
            engine.dispose()
            if settings.upload_dir is None:
                # The default folder is this server's own: not left empty in /tmp.
                remove_upload_root(uploads_root)

    app = FastAPI(
        title="Co-construction planner",
        version=matcher.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(single_query_values)],
        responses=responses(429),
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.dispatcher = None
    install_handlers(app)
    routers = (
        health,
        datasets,
        runs,
        results,
        compare,
        reports,
        projectlist,
        explain,
        keys,
        recommendations,
        templates,
        cycles,
        cycle_lists,
        cycle_drafts,
        cycle_notice,
        public,
        cycle_delivery,
        public_ratings,
    )
    for module in routers:
        app.include_router(module.router)
    # The console: pages under /console, its errors as pages, its files under /static.
    app.state.console = ConsoleState(settings, engine)
    app.state.error_pages = ConsoleErrorPages()
    for page_router in page_routers():
        app.include_router(page_router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    # inside the body limit: the bodies it reads are already bounded
    app.add_middleware(RefuseNul)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.state.rate_limits = None
    if settings.rate_limits:
        app.state.rate_limits = RateLimits(
            settings.rate_limit_per_key,
            settings.rate_limit_per_address,
            settings.rate_limit_failed_auth,
            settings.rate_limit_storage,
            {
                "objections": settings.rate_limit_objections,
                "ratings": settings.rate_limit_ratings,
                "sign_in": settings.rate_limit_sign_in,
            },
        )
        # outside the body limit: a flooding address is refused before its body is read
        app.add_middleware(AddressRateLimit, limits=app.state.rate_limits)
    docs = {app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url}
    # outermost: 413s and 429s sent by the middleware above get the headers too
    app.add_middleware(
        SecurityHeaders,
        docs_paths=frozenset(p for p in docs if p),
        own_prefixes=("/console/", "/console"),
    )
    return app
