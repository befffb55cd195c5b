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

from .blobs.base import BlobStore
from .blobs.local import LocalBlobStore
from .blobs.s3 import S3BlobStore
from .blobs.signing import LinkSigner
from .config import Settings
from .events.bus import InProcessBus
from .events.postgres import PostgresBus
from .events.sqlite import SqliteBus
from .http import files
from .http import openlineage as openlineage_http
from .services import auth
from .services import events as event_service
from .services import gc
from .event_kinds import EVENT_CHANNEL
from .services.runtime import Runtime
from .services.webhook_delivery import Dispatcher
from .store import migrations
from .store.db import Database

log = logging.getLogger("lineage_reg")


def build_blob_store(settings: Settings) -> BlobStore:
    sizes = dict(multipart_threshold=settings.multipart_threshold, part_size=settings.part_size)
    if settings.storage_url:
        return S3BlobStore(settings.storage_url, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
                           link_ttl_seconds=settings.link_ttl_seconds, verify=settings.verify, **sizes)
    signer = LinkSigner(settings.signing_key(), settings.link_ttl_seconds)
    return LocalBlobStore(settings.blob_dir, signer, **sizes)


def build_runtime(settings: Settings) -> Runtime:
    db = Database(settings.effective_database_url)
    blobs = build_blob_store(settings)
    rt = Runtime(db=db, blobs=blobs, bus=InProcessBus(), settings=settings)
    # Several API processes may share one database: events cross between them
    # by LISTEN/NOTIFY on PostgreSQL, by watching data_version on SQLite.
    catch_up: dict[str, Any] = dict(
        fetch_after=lambda after, limit: event_service.fetch_after(rt, after, limit),
        latest_id=lambda: event_service.last_sequence(rt),
        settle=lambda: event_service.settle(rt),
    )
    rt.bus = SqliteBus(db.change_counter, **catch_up) if db.is_sqlite else PostgresBus(db.driver_dsn(), **catch_up)
    if not db.is_sqlite:
        db.change_channel = EVENT_CHANNEL
    db.on_commit = rt.bus.changed
    return rt


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
    authenticator = auth.Authenticator(rt, access_changes)
    graphql = GraphQLView(rt, authenticator)
    http_graphql: Any = graphql
    if settings.response_cache:
        http_graphql = ResponseCache(graphql, counter, authenticator.actor)
    # Outermost: a body that is not JSON, or too big, goes no further (not even into the cache's buffer).
    http_graphql = RequestGuard(http_graphql, max_body_bytes=settings.max_body_bytes)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await migrations.upgrade(rt.db)
        await rt.bus.start()
        await rt.blobs.start()
        await dispatcher.start()
        gc_task = asyncio.create_task(periodic_gc(rt)) if settings.gc_interval_seconds > 0 else None
        if await auth.bootstrap_admin_token(rt) is not None:
            # Only where it is: logs are collected, shipped and kept where a secret must never go.
            log.warning("no API tokens existed: created an admin token in %s (mode 0600); read it from there",
                        settings.data_dir / auth.BOOTSTRAP_FILE)
        yield
        if gc_task is not None:
            gc_task.cancel()
            await asyncio.gather(gc_task, return_exceptions=True)
        await dispatcher.stop()
        await rt.blobs.stop()
        await rt.bus.stop()
        await rt.db.dispose()

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
            Route("/graphql", http_graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=lifespan,
    )
    app.state.runtime = rt
    return app

