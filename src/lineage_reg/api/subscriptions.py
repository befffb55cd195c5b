"""Subscriptions: replay the log after ``after``, then stream live events, in sequence order with no gap.

The bus delivers events in sequence order, each once, from the sequence a
subscription starts at; the replay reads the log from ``after`` up to that
sequence, so every event is either replayed or live, never both, never
neither.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable

import strawberry

from .. import ids, refs
from ..errors import BadInput, Forbidden, NotFound, Overflow
from ..services import events as event_service
from ..services import find, owners
from ..services.runtime import Runtime
from ..event_kinds import ALIAS_MOVES, EVENT_KINDS, REGISTRY_KINDS
from ..records import EventRec
from .context import Info
from .loaders import Loaders
from .permissions import actor_of, may_read_event, project_reader
from .types.events import AliasChange, Event

ALIAS_KINDS = ALIAS_MOVES
SLOW_CONSUMER_CLOSE = 1013
REVOKED_CLOSE = 4403  # graphql-transport-ws: Forbidden


SHARED_EVENTS = 64


def loaders_for_event(rt: Runtime, event_id: int) -> Loaders:
    """One set of DataLoaders per event, shared by every subscriber it goes to.

    Loaders built per connection would serve stale rows on a long subscription;
    per subscriber and event, 1,000 subscribers would mean 1,000 identical reads.
    Shared per event, the reads of all subscribers batch into one. Loaders hold
    records only: access is still checked per subscriber, by the resolvers.
    """
    shared: OrderedDict[int, Loaders] = rt.caches.setdefault("event-loaders", OrderedDict())
    loaders = shared.get(event_id)
    if loaders is None:
        loaders = shared[event_id] = Loaders(rt)
        if len(shared) > SHARED_EVENTS:
            shared.popitem(last=False)
    return loaders


async def _stream(info: Info, after: float | None, keep: Callable[[EventRec], bool],
                  **filters: object) -> AsyncGenerator[EventRec, None]:
    first = ids.sequence(after) if after is not None else None
    rt = info.context.rt
    sub = rt.bus.subscribe(rt.settings.subscriber_queue)
    try:
        # The bus delivers every event from ``sub.start`` on, in order; the log holds everything before it
        # (the bus moves past a number only once it is committed or can never be): replay up to there.
        last = first if first is not None else sub.start - 1
        if first is not None:
            async for rec in event_service.replay(rt, after=last, before=sub.start, **filters):
                if not await _still_allowed(info):
                    return
                if not keep(rec):  # e.g. another project's event, which this actor may not read
                    continue
                info.context.loaders = loaders_for_event(rt, rec.id)
                last = rec.id
                yield rec
        while True:
            try:
                rec = await sub.get()
            except Overflow:
                if info.context.websocket is None:
                    raise
                await _disconnect_slow(info, last)
                return
            if not await _still_allowed(info):
                return
            if rec.id > last and keep(rec):  # ``after`` may be ahead of this process (seen on another one)
                info.context.loaders = loaders_for_event(rt, rec.id)
                last = rec.id
                yield rec
    finally:
        sub.close()


async def _still_allowed(info: Info) -> bool:
    """Ask again who holds the socket's token (cached for seconds): a revoked or expired token closes the
    connection before anything more reaches it, and changed roles apply to the filters and fields at once."""
    reauthenticate = info.context.reauthenticate
    if reauthenticate is None:
        return True
    actor = await reauthenticate()
    if actor is None or actor.role is None:
        await info.context.websocket.close(code=REVOKED_CLOSE,
                                           reason="the token was revoked or expired; reconnect with a valid one")
        return False
    info.context.actor = actor
    return True


async def _disconnect_slow(info: Info, last: int) -> None:
    """Close the socket (1013 Try Again Later) rather than buffer without bound; the reason says how to resume."""
    reason = f"subscriber fell behind; resubscribe with after: {last}"
    await info.context.websocket.close(code=SLOW_CONSUMER_CLOSE, reason=reason)


@strawberry.type
class Subscription:
    @strawberry.subscription(description="Alias moves, optionally narrowed; `after` replays missed changes first.")
    async def alias_changed(
        self, info: Info, collection: str | None = None, alias: str | None = None, after: float | None = None
    ) -> AsyncGenerator[AliasChange, None]:
        actor_of(info)  # a subscription's root field is no resolver: ProjectAccess does not see it
        project = name = None
        if collection is not None:
            c = refs.parse_collection(collection)
            project, name = c.project, c.name
            await project_reader(info, lambda: owners.collection(info.context.rt, ref=collection))  # type: ignore[arg-type]
            if await find.collection_named(info.context.rt, project=project, name=name) is None:
                raise NotFound(f"collection {collection!r} not found; subscribe to an existing project/name",
                               collection=collection)
        if alias is not None:
            refs.check_alias(alias)

        def keep(e: EventRec) -> bool:
            return (e.kind in ALIAS_KINDS and (project is None or (e.project == project and e.collection == name))
                    and (alias is None or e.alias == alias) and may_read_event(info.context.actor, e.project_id))

        async for rec in _stream(info, after, keep, project=project, collection=name, alias=alias, kinds=ALIAS_KINDS):
            yield AliasChange.of(rec)

    @strawberry.subscription
    async def events(
        self, info: Info, project: str | None = None, kinds: list[str] | None = None, after: float | None = None
    ) -> AsyncGenerator[Event, None]:
        actor = actor_of(info)  # a subscription's root field is no resolver: ProjectAccess does not see it
        if project is not None:
            await project_reader(info, lambda: owners.project(info.context.rt, name=project))  # type: ignore[arg-type]
            if await find.project_named(info.context.rt, name=refs.check_project_name(project)) is None:
                raise NotFound(f"project {project!r} not found", project=project)
        unknown = [k for k in kinds or [] if k not in EVENT_KINDS]
        if unknown:
            raise BadInput(f"unknown event kinds {unknown}; known kinds: {', '.join(EVENT_KINDS)}")
        registry = [k for k in kinds or [] if k in REGISTRY_KINDS]
        if registry and not actor.has("admin"):
            raise Forbidden(f"{', '.join(registry)} are registry events (tokens made or revoked): only a global "
                            f"admin may subscribe to them; your token has {actor.role}")

        def keep(e: EventRec) -> bool:
            return ((project is None or e.project == project) and (not kinds or e.kind in kinds)
                    and may_read_event(info.context.actor, e.project_id))

        async for rec in _stream(info, after, keep, project=project, kinds=kinds):
            yield Event.of(rec)
