"""Subscriptions: replay the log after ``after``, then stream live events, with no gap.

The bus subscription is opened before the replay query runs, so an event
committed meanwhile is either in the replay or in the queue; ids already
replayed are skipped when they arrive live. Live events are not filtered by
"id greater than the last one": on PostgreSQL, sequence numbers can commit
out of order, and the bus delivers each event once anyway.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable

import strawberry

from .. import refs
from ..errors import BadInput
from ..services import events as event_service
from ..store.records import EventRec
from .context import Info
from .loaders import Loaders
from .permissions import can_read
from .types.events import AliasChange, Event

ALIAS_KINDS = ("alias.set", "alias.removed")


async def _stream(info: Info, after: float | None, keep: Callable[[EventRec], bool],
                  **filters: object) -> AsyncGenerator[EventRec, None]:
    can_read(info)
    if after is not None and (after < 0 or after != int(after)):
        raise BadInput("after must be an event's sequence number")
    rt = info.context.rt
    sub = rt.bus.subscribe()
    try:
        start = int(after) if after is not None else await event_service.last_sequence(rt)
        replayed: set[int] = set()
        async for rec in event_service.replay(rt, after=start, **filters):
            replayed.add(rec.id)
            yield rec
        while True:
            rec = await sub.get()
            if rec.id > start and rec.id not in replayed and keep(rec):
                # Loaders cache per connection; a long subscription must see fresh rows.
                info.context.loaders = Loaders(rt)
                yield rec
    finally:
        sub.close()


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Alias moves, optionally narrowed; `after` replays missed changes first.")
    async def alias_changed(
        self, info: Info, collection: str | None = None, alias: str | None = None, after: float | None = None
    ) -> AsyncGenerator[AliasChange, None]:
        project = name = None
        if collection is not None:
            c = refs.parse_collection(collection)
            project, name = c.project, c.name

        def keep(e: EventRec) -> bool:
            return (e.kind in ALIAS_KINDS and (project is None or (e.project == project and e.collection == name))
                    and (alias is None or e.alias == alias))

        async for rec in _stream(info, after, keep, project=project, collection=name, alias=alias, kinds=ALIAS_KINDS):
            yield AliasChange.of(rec)

    @strawberry.subscription
    async def events(
        self, info: Info, project: str | None = None, kinds: list[str] | None = None, after: float | None = None
    ) -> AsyncGenerator[Event, None]:
        def keep(e: EventRec) -> bool:
            return (project is None or e.project == project) and (not kinds or e.kind in kinds)

        async for rec in _stream(info, after, keep, project=project, kinds=kinds):
            yield Event.of(rec)
