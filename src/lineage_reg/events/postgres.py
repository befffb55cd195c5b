"""Cross-process events over PostgreSQL LISTEN/NOTIFY: no broker to run.

Every write transaction sends ``NOTIFY lineage_reg`` before it commits
(PostgreSQL delivers it only if the commit happens), with the sequence of its
last event as payload (empty when it wrote none; "auth" when it revoked a token
or changed a role: token caches expire). Each process keeps one
listening connection; a notification expires its caches and, unless it already
has that event, it catches up from the log. While that connection is down, ``counter()`` is None: caches that depend
on it switch off rather than serve answers nobody could invalidate.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from ..event_kinds import AUTH_CHANGED, EVENT_CHANNEL
from .catchup import CatchUpBus


class PostgresBus(CatchUpBus):
    def __init__(self, dsn: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._dsn = dsn
        self._conn: asyncpg.Connection | None = None

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        await conn.add_listener(EVENT_CHANNEL, lambda _conn, _pid, _channel, payload: self._notified(payload))
        conn.add_termination_listener(lambda _conn: self._lost())
        self._conn = conn
        self.generation += 1

    def _notified(self, payload: str) -> None:
        """A write committed (payload: its last event's sequence, "auth" when it revoked a token or changed a
        role, "" when it wrote no events)."""
        self.changed()
        if payload == AUTH_CHANGED:  # the transaction may also have written events (a member's role changed)
            self.auth_changed()
            self.wake()
            return
        if payload == "":
            return  # a write with no events (metric points): nothing in the log to read
        if payload.isdigit() and self.seen(int(payload)):
            return  # our own write (published at commit) or already caught up: no read needed
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

    def auth_counter(self) -> int | None:
        return self.auth_generation if self._conn is not None else None
