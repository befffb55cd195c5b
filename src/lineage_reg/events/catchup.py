"""A bus that also delivers events written by other processes, by reading them back from the log.

Subclasses decide *when* to look (a PostgreSQL NOTIFY, a change of SQLite's
data_version). Each look reads the events after the highest id seen, minus
``lookback`` ids (on PostgreSQL sequence numbers can commit out of order under
concurrent writers; SQLite's writers are serialised, so it looks back 0), and
delivers the ones not delivered yet. This
process's own events are delivered at once by ``publish`` and remembered.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable

from ..store.records import EventRec
from .bus import InProcessBus

REMEMBER = 100_000
RETRY_SECONDS = 1.0

log = logging.getLogger("lineage_reg.events")


class CatchUpBus(InProcessBus):
    lookback = 0

    def __init__(
        self, *, fetch_after: Callable[[int], Awaitable[list[EventRec]]], latest_id: Callable[[], Awaitable[int]]
    ) -> None:
        super().__init__()
        self._fetch_after = fetch_after
        self._latest_id = latest_id
        self._floor = 0  # events up to here predate this process: never delivered
        self._high = 0
        self._delivered: set[int] = set()
        self._order: deque[int] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._connect()
        self._floor = self._high = await self._latest_id()
        self._task = asyncio.create_task(self._run(), name="lineage-reg-bus")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._disconnect()

    async def _connect(self) -> None:
        """Open whatever tells us of new events."""

    async def _disconnect(self) -> None:
        pass

    def wake(self) -> None:
        self._wake.set()

    def seen(self, event_id: int) -> bool:
        """Delivered already, or older than this process (never delivered)."""
        return event_id in self._delivered or event_id <= self._floor

    def publish(self, events: list[EventRec]) -> None:
        for event in events:
            self._deliver(event)

    def _deliver(self, event: EventRec) -> None:
        if event.id in self._delivered or event.id <= self._floor:
            return
        self._delivered.add(event.id)
        self._order.append(event.id)
        if len(self._order) > REMEMBER:
            self._delivered.discard(self._order.popleft())
        self._high = max(self._high, event.id)
        self.dispatch(event)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._ensure_connected()
                for event in await self._fetch_after(max(self._floor, self._high - self.lookback)):
                    self._deliver(event)
            except Exception as exc:  # a lost database must not end delivery for good
                log.warning("event catch-up failed: %s; retrying in %.0fs", exc, RETRY_SECONDS)
                await self._disconnect()
                await asyncio.sleep(RETRY_SECONDS)
                self._wake.set()

    async def _ensure_connected(self) -> None:
        pass
