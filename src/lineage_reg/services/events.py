"""Reading the event log for replays."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from ..store import events as event_store
from ..store.records import EventRec
from .runtime import Runtime

REPLAY_BATCH = 500


async def last_sequence(rt: Runtime) -> int:
    async with rt.db.reader() as r:
        return await event_store.last_event_id(r)


async def replay(
    rt: Runtime, *, after: int, project: str | None = None, kinds: Sequence[str] | None = None,
    collection: str | None = None, alias: str | None = None,
) -> AsyncIterator[EventRec]:
    """Events after ``after`` in order, read in batches so a long log never sits in memory."""
    while True:
        stmt = event_store.events_after(after=after, project=project, kinds=kinds, collection=collection, alias=alias)
        async with rt.db.reader() as r:
            batch = await event_store.fetch_events(r, stmt, REPLAY_BATCH)
        for rec in batch:
            yield rec
        if len(batch) < REPLAY_BATCH:
            return
        after = batch[-1].id


async def fetch_after(rt: Runtime, after: int) -> list[EventRec]:
    """Every event after ``after``, in order (for the cross-process bus's catch-up)."""
    return [rec async for rec in replay(rt, after=after)]
