"""create_app(settings) -> Starlette: routes, middleware and the lifespan that wires services."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from .blobs.local import LocalBlobStore
from .blobs.signing import LinkSigner
from .config import Settings
from .events.bus import InProcessBus
from .events.postgres import PostgresBus
from .events.sqlite import SqliteBus
from .http import files
from .services import auth
from .services import events as event_service
from .services.runtime import Runtime
from .store import migrations
from .store.db import Database

log = logging.getLogger("lineage_reg")


def build_runtime(settings: Settings) -> Runtime:
    db = Database(settings.effective_database_url)
    signer = LinkSigner(settings.signing_key(), settings.link_ttl_seconds)
    blobs = LocalBlobStore(settings.blob_dir, signer)
    rt = Runtime(db=db, blobs=blobs, bus=InProcessBus(), settings=settings)
    # Several API processes may share one database: events cross between them
    # by LISTEN/NOTIFY on PostgreSQL, by watching data_version on SQLite.
    catch_up: dict[str, Any] = dict(
        fetch_after=lambda after: event_service.fetch_after(rt, after),
        latest_id=lambda: event_service.last_sequence(rt),
    )
    rt.bus = SqliteBus(db.change_counter, **catch_up) if db.is_sqlite else PostgresBus(db.driver_dsn(), **catch_up)
    return rt


def create_app(settings: Settings) -> Starlette:
    from .api.response_cache import ResponseCache
    from .api.view import GraphQLView

    rt = build_runtime(settings)
    authenticator = auth.Authenticator(rt)
    graphql = GraphQLView(rt, authenticator)
    http_graphql: Any = graphql
    if settings.response_cache:
        # SQLite: its data_version sees every commit from any process. PostgreSQL: the bus sees them.
        counter = rt.db.change_counter if rt.db.is_sqlite else rt.bus.counter
        http_graphql = ResponseCache(graphql, counter)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await migrations.upgrade(rt.db)
        await rt.bus.start()
        secret = await auth.bootstrap_admin_token(rt)
        if secret is not None:
            log.warning("no API tokens existed: created an admin token, saved to %s", settings.data_dir / auth.BOOTSTRAP_FILE)
        yield
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
            Route("/graphql", http_graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=lifespan,
    )
    app.state.runtime = rt
    return app

