"""Reading the event log for replays."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Sequence

from ..store import events as event_store
from ..records import EventRec
from .runtime import Runtime

REPLAY_BATCH = 500
SETTLE_POLL_SECONDS = 0.01
SETTLE_WARN_SECONDS = 10.0

log = logging.getLogger("lineage_reg.events")


async def last_sequence(rt: Runtime) -> int:
    async with rt.db.reader() as r:
        return await event_store.last_event_id(r)


async def replay(
    rt: Runtime, *, after: int, before: int | None = None, project: str | None = None, kinds: Sequence[str] | None = None,
    collection: str | None = None, alias: str | None = None,
) -> AsyncIterator[EventRec]:
    """Events after ``after`` (and before ``before``) in order, read in batches so a long log never sits in
    memory."""
    while True:
        stmt = event_store.events_after(after=after, before=before, project=project, kinds=kinds, collection=collection, alias=alias)
        async with rt.db.reader() as r:
            batch = await event_store.fetch_events(r, stmt, REPLAY_BATCH)
        for rec in batch:
            yield rec
        if len(batch) < REPLAY_BATCH:
            return
        after = batch[-1].id


async def fetch_after(rt: Runtime, *, after: int, limit: int) -> list[EventRec]:
    """Up to ``limit`` events after ``after``, in order (for the cross-process bus)."""
    async with rt.db.reader() as r:
        return await event_store.fetch_events(r, event_store.events_after(after=after), limit)


async def settle(rt: Runtime) -> None:
    """Return once every transaction that is open now, and could still commit an event, has ended: then an event
    sequence number below a committed one that is still missing from the log will never be in it.

    SQLite serialises its writers, so a committed event's transaction was the last to draw numbers: nothing below
    it is in flight. PostgreSQL draws numbers from a sequence concurrently, so wait for the transactions that hold
    the event table's insert lock right now (a transaction that has yet to take it will draw a higher number).
    """
    if rt.db.is_sqlite:
        return
    async with rt.db.reader() as r:
        waiting = await event_store.open_event_writers(r)
    since = warned = time.monotonic()
    while waiting:
        await asyncio.sleep(SETTLE_POLL_SECONDS)
        async with rt.db.reader() as r:
            waiting &= await event_store.open_event_writers(r)
        if waiting and time.monotonic() - warned > SETTLE_WARN_SECONDS:
            warned = time.monotonic()
            log.warning("live events are held back for %.0fs by open transactions that wrote to the event log "
                        "(PostgreSQL virtual transactions %s)", warned - since, ", ".join(sorted(waiting)))
