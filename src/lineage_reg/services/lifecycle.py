"""Opening and closing the runtime: the one way the app, the CLI, the tests and the benches get one.

``open_runtime(settings)`` builds the runtime, brings the database to head, starts the event bus and the blob
store, and closes them in reverse::

    async with open_runtime(settings) as rt:
        await projects.create_project(rt, ...)

``build_runtime`` only constructs (no I/O): the app needs its runtime before its lifespan starts (its routes hold
it), and opens it there with ``running(rt)``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from ..blobs.base import BlobStore
from ..blobs.local import LocalBlobStore
from ..blobs.s3 import S3BlobStore
from ..blobs.signing import LinkSigner
from ..config import Settings
from ..event_kinds import EVENT_CHANNEL
from ..events.bus import EventBus, InProcessBus
from ..events.postgres import PostgresBus
from ..events.sqlite import SqliteBus
from ..store import migrations
from ..store.db import Database
from . import events as event_service
from .runtime import Runtime


def build_blob_store(settings: Settings) -> BlobStore:
    sizes = dict(multipart_threshold=settings.multipart_threshold, part_size=settings.part_size)
    if settings.storage_url:
        return S3BlobStore(settings.storage_url, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region,
                           link_ttl_seconds=settings.link_ttl_seconds, verify=settings.verify, **sizes)
    signer = LinkSigner(settings.signing_key(), settings.link_ttl_seconds)
    return LocalBlobStore(settings.blob_dir, signer, **sizes)


def build_runtime(settings: Settings, *, events: bool = True) -> Runtime:
    """The runtime, constructed and wired but not opened (no connection made, nothing migrated).

    ``events``: deliver other processes' events here too (PostgreSQL LISTEN/NOTIFY, SQLite's data_version); a
    process with no subscribers (a CLI command, a bench) passes False and gets an in-process bus. Either way its
    own commits notify the others (PostgreSQL sends NOTIFY on every write transaction).
    """
    db = Database(settings.effective_database_url)
    if not db.is_sqlite:
        db.change_channel = EVENT_CHANNEL
    rt: Runtime  # the catch-up reads below run only once the bus has started, long after ``rt`` is bound
    bus: EventBus
    if not events:
        bus = InProcessBus()
    else:
        catch_up = dict(fetch_after=lambda after, limit: event_service.fetch_after(rt, after=after, limit=limit),
                        latest_id=lambda: event_service.last_sequence(rt), settle=lambda: event_service.settle(rt))
        bus = SqliteBus(db.change_counter, **catch_up) if db.is_sqlite else PostgresBus(db.driver_dsn(), **catch_up)
    db.on_commit = bus.changed
    rt = Runtime(db=db, blobs=build_blob_store(settings), bus=bus, settings=settings)
    return rt


@asynccontextmanager
async def running(rt: Runtime, *, migrate: bool = True) -> AsyncIterator[Runtime]:
    """Open a built runtime: the database brought to head (unless ``migrate=False``), the bus and the blob store
    started; on exit all closed in reverse, also when opening failed halfway."""
    async with AsyncExitStack() as stack:
        stack.push_async_callback(rt.db.dispose)
        if migrate:
            await migrations.upgrade(rt.db)
        await rt.bus.start()
        stack.push_async_callback(rt.bus.stop)
        await rt.blobs.start()
        stack.push_async_callback(rt.blobs.stop)
        yield rt


@asynccontextmanager
async def open_runtime(settings: Settings, *, events: bool = True, migrate: bool = True) -> AsyncIterator[Runtime]:
    """``build_runtime`` then ``running``: the runtime, open, for the ``async with`` block."""
    async with running(build_runtime(settings, events=events), migrate=migrate) as rt:
        yield rt


async def upgrade_database(settings: Settings) -> None:
    """Bring the settings' database to head (``lineage-reg db upgrade``): no blob store, no bus."""
    db = Database(settings.effective_database_url)
    try:
        await migrations.upgrade(db)
    finally:
        await db.dispose()
