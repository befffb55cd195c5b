"""create_app(settings) -> Starlette: routes, middleware and the lifespan that wires services."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from .config import Settings
from .http import files, graphiql
from .http import openlineage as openlineage_http
from .services import actors, tokens
from .services import gc, promotions
from .services.lifecycle import build_blob_store, build_runtime, running
from .services.runtime import Runtime
from .services.webhook_delivery import Dispatcher

__all__ = ["build_blob_store", "build_runtime", "create_app"]  # the first two: kept importable from here

log = logging.getLogger("lineage_reg")


async def periodic_gc(rt: Runtime) -> None:
    """Optional in-server GC (``LINEAGE_REG_GC_INTERVAL_SECONDS``); several servers may run it safely."""
    while True:
        await asyncio.sleep(rt.settings.gc_interval_seconds)
        try:
            report = await gc.collect(rt)
            if report.freed_bytes or report.abandoned_versions:
                log.info("gc: %d abandoned versions, freed %d bytes", len(report.abandoned_versions), report.freed_bytes)
        except Exception:
            log.exception("periodic gc failed; will try again")


def create_app(settings: Settings) -> Starlette:
    from .api.request_guard import RequestGuard
    from .api.response_cache import ResponseCache
    from .api.view import GraphQLView

    rt = build_runtime(settings)
    dispatcher = Dispatcher(rt)
    rt.deliveries_queued = dispatcher.wake
    # SQLite: its data_version sees every commit from any process, the access epoch those that took access
    # away. PostgreSQL: the bus sees them, and tells the ones that took access away. Either way the token cache
    # outlives ordinary writes.
    counter = rt.db.change_counter if rt.db.is_sqlite else rt.bus.counter
    access_changes = rt.db.access_counter if rt.db.is_sqlite else rt.bus.auth_counter
    authenticator = actors.Authenticator(rt, access_changes)
    graphql = GraphQLView(rt, authenticator, ide=graphiql.page if settings.dev else None)
    http_graphql: Any = graphql
    if settings.response_cache:
        http_graphql = ResponseCache(graphql, counter, authenticator.actor)
    # Outermost: a body that is not JSON, or too big, goes no further (not even into the cache's buffer).
    http_graphql = RequestGuard(http_graphql, max_body_bytes=settings.max_body_bytes)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with running(rt):
            await dispatcher.start()
            gc_task = asyncio.create_task(periodic_gc(rt)) if settings.gc_interval_seconds > 0 else None
            expiry_task = asyncio.create_task(promotions.periodic_expiry(rt))
            try:
                if await tokens.bootstrap_admin_token(rt) is not None:
                    # Only where it is: logs are collected, shipped and kept where a secret must never go.
                    log.warning("no API tokens existed: created an admin token in %s (mode 0600); read it from "
                                "there", settings.data_dir / tokens.BOOTSTRAP_FILE)
                yield
            finally:
                for task in (gc_task, expiry_task):
                    if task is not None:
                        task.cancel()
                        await asyncio.gather(task, return_exceptions=True)
                await dispatcher.stop()

    async def healthz(request: Request) -> Response:
        try:
            await rt.db.ping()
        except Exception:
            log.exception("health check failed")
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            *files.routes(rt),
            *openlineage_http.routes(rt, authenticator),
            *(graphiql.routes() if settings.dev else []),
            Route("/graphql", http_graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=lifespan,
    )
    app.state.runtime = rt
    return app

