"""Cross-process events over PostgreSQL LISTEN/NOTIFY: no broker to run.

Every write transaction that wrote events sends ``NOTIFY lineage_reg`` before
it commits (PostgreSQL delivers it only if the commit happens). Each process
keeps one listening connection and, on a notification, catches up from the
log. While that connection is down, ``counter()`` is None: caches that depend
on it switch off rather than serve answers nobody could invalidate.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from ..services.runtime import EVENT_CHANNEL
from .catchup import CatchUpBus


class PostgresBus(CatchUpBus):
    lookback = 200  # more than the write transactions that can be in flight at once
    def __init__(self, dsn: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._dsn = dsn
        self._conn: asyncpg.Connection | None = None

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        await conn.add_listener(EVENT_CHANNEL, lambda *_: self._notified())
        conn.add_termination_listener(lambda _conn: self._lost())
        self._conn = conn
        self.generation += 1

    def _notified(self) -> None:
        self.changed()  # another process committed something, events or not
        self.wake()

    def _lost(self) -> None:
        self._conn = None
        self.wake()

    async def _ensure_connected(self) -> None:
        if self._conn is None:
            await self._connect()

    async def _disconnect(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            await conn.close()

    def counter(self) -> int | None:
        return self.generation if self._conn is not None else None
