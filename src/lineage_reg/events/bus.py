"""The event bus: after a transaction commits, its events are published here.

Events are dispatched in sequence order, and a subscription gets every event
from its ``start`` on: what came before is the log's to replay.
Subscribers get an asyncio queue each. A subscriber that falls too far behind
is dropped (its stream ends with an error) instead of growing memory without
bound; a reconnecting client replays from the log with ``after``.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from ..errors import Overflow
from ..records import EventRec

QUEUE_LIMIT = 10_000


class Subscription:
    def __init__(self, bus: InProcessBus, limit: int) -> None:
        self._bus = bus
        self.start = bus.next_sequence  # the first sequence it will get; each one after it, in order, follows
        self.queue: asyncio.Queue[EventRec | None] = asyncio.Queue(limit)
        self.overflowed = False

    async def get(self) -> EventRec:
        item = await self.queue.get()
        if item is None:
            raise Overflow("subscription fell behind; reconnect with `after` set to the last event you saw")
        return item

    def close(self) -> None:
        self._bus._subscriptions.discard(self)


class EventBus(Protocol):
    def publish(self, events: list[EventRec]) -> None: ...
    def subscribe(self, limit: int = QUEUE_LIMIT) -> Subscription: ...
    def counter(self) -> int | None: ...
    def changed(self) -> None: ...
    def auth_counter(self) -> int | None: ...
    def auth_changed(self) -> None: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class InProcessBus:
    """Delivers this process's events to this process's subscribers."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self.generation = 0
        self.auth_generation = 0
        self.next_sequence = 1  # the sequence of the next event to dispatch

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def counter(self) -> int | None:
        """Changes with every event delivered here (what caches compare against)."""
        return self.generation

    def publish(self, events: list[EventRec]) -> None:
        for event in events:
            self.dispatch(event)

    def changed(self) -> None:
        """Something was committed (with or without events): caches keyed on ``counter()`` expire."""
        self.generation += 1

    def auth_counter(self) -> int | None:
        """Changes whenever a token is revoked or a role changes (what the token cache compares against)."""
        return self.auth_generation

    def auth_changed(self) -> None:
        self.auth_generation += 1

    def dispatch(self, event: EventRec) -> None:
        """Deliver ``event``; the caller dispatches in sequence order."""
        self.generation += 1
        self.next_sequence = event.id + 1
        for sub in list(self._subscriptions):
            if sub.overflowed:
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                sub.overflowed = True
                sub.queue.get_nowait()
                sub.queue.put_nowait(None)

    def subscribe(self, limit: int = QUEUE_LIMIT) -> Subscription:
        sub = Subscription(self, limit)
        self._subscriptions.add(sub)
        return sub
