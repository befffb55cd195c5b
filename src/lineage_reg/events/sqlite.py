"""Cross-process events on SQLite: poll the database's change counter, catch up when it moves.

``PRAGMA data_version`` changes whenever any other connection commits, so a
poll costs microseconds and finds other processes' events within ``POLL_SECONDS``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from .catchup import CatchUpBus

POLL_SECONDS = 0.05


class SqliteBus(CatchUpBus):
    def __init__(self, change_counter: Callable[[], int | None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._change_counter = change_counter
        self._poller: asyncio.Task[None] | None = None

    async def _connect(self) -> None:
        if self._poller is None:
            # The baseline now, not when the task first runs: a commit in between (start() reads the log's end
            # next, and on SQLite that need not yield) must move the counter past it, or it waits for the next.
            self._poller = asyncio.create_task(self._poll(self._change_counter()), name="lineage-reg-bus-poll")

    async def _disconnect(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            await asyncio.gather(self._poller, return_exceptions=True)
            self._poller = None

    async def _ensure_connected(self) -> None:
        await self._connect()

    async def _poll(self, seen: int | None) -> None:
        while True:
            await asyncio.sleep(POLL_SECONDS)
            now = self._change_counter()
            if now != seen:
                seen = now
                self.wake()
