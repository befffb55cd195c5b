"""What every service needs: the database, the blob store, the bus and settings."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from ..blobs.base import BlobStore
from ..config import Settings
from ..events.bus import EventBus
from ..store import events as event_store
from ..store import tokens as token_store
from ..store.db import Database
from ..records import CollectionRec, EventRec
from ..clock import utcnow
from ..event_kinds import AUTH_CHANGED, REGISTRY_KINDS
from . import outbox
from ..store.db import Conn

T = TypeVar("T")


@dataclass
class Runtime:
    db: Database
    blobs: BlobStore
    bus: EventBus
    settings: Settings
    # Called after a commit that queued webhook deliveries (the dispatcher's doorbell).
    deliveries_queued: Callable[[], None] = lambda: None
    # Per-process caches that upper layers own (e.g. the API's per-event DataLoaders).
    caches: dict[str, Any] = field(default_factory=dict)


@dataclass
class Tx:
    """One write transaction: its connection, who acts, when, and the events it writes."""

    conn: Conn
    dialect: str
    actor: str | None
    at: datetime
    events: list[EventRec] = field(default_factory=list)
    deliveries: int = 0
    access_changed: bool = False

    async def change_access(self) -> None:
        """This transaction takes rights away (or may): every process's token cache forgets what it knew, this
        one's at commit, the others' at the NOTIFY (PostgreSQL) or when they see the access epoch move (SQLite)."""
        if not self.access_changed:
            await token_store.bump_access_epoch(self.conn)
            self.access_changed = True

    async def event(
        self,
        kind: str,
        *,
        project_id: int,
        project: str,
        collection: CollectionRec | None = None,
        alias: str | None = None,
        from_version: int | None = None,
        to_version: int | None = None,
        **payload: Any,
    ) -> EventRec:
        values = dict(
            kind=kind,
            actor=self.actor,
            at=self.at,
            project_id=project_id,
            project=project,
            collection_id=collection.id if collection else None,
            collection=collection.name if collection else None,
            alias=alias,
            from_version_id=from_version,
            to_version_id=to_version,
            payload=payload,
        )
        return await self._insert(values)

    async def registry_event(self, kind: str, **payload: Any) -> EventRec:
        """An event of the registry itself (a token made or revoked): no project (``project_id`` NULL, ``project``
        ""), so only a global admin reads it and no webhook is sent it."""
        if kind not in REGISTRY_KINDS:
            raise ValueError(f"{kind!r} is not a registry event kind ({', '.join(REGISTRY_KINDS)})")
        values = dict(kind=kind, actor=self.actor, at=self.at, project_id=None, project="", collection_id=None,
                      collection=None, alias=None, from_version_id=None, to_version_id=None, payload=payload)
        return await self._insert(values)

    async def _insert(self, values: dict[str, Any]) -> EventRec:
        rec = await event_store.insert_event(self.conn, values)
        self.events.append(rec)
        return rec


async def write(rt: Runtime, *, actor: str | None, work: Callable[[Tx], Awaitable[T]]) -> T:
    """Run ``work`` in one retried transaction; publish its events once it has committed.

    Every change goes through here, so every change can write events (``tx.event``) and the audit log misses
    none: who created a version, moved an alias, added a member or changed a webhook."""
    attempt: list[Tx] = []

    async def run(conn: Conn) -> T:
        tx = Tx(conn=conn, dialect=rt.db.dialect, actor=actor, at=utcnow())
        attempt[:] = [tx]
        result = await work(tx)
        if tx.events:
            tx.deliveries = await outbox.enqueue(conn, tx.events)
        return result

    def last_sequence() -> str:  # the NOTIFY payload: lets other processes skip events they already have
        if attempt[0].access_changed:
            return AUTH_CHANGED  # the listeners forget their cached tokens and read the log
        return str(max(e.id for e in attempt[0].events)) if attempt[0].events else ""

    result = await rt.db.transaction(run, notify_payload=last_sequence)
    if attempt[0].access_changed:
        rt.bus.auth_changed()
    rt.bus.publish(attempt[0].events)
    if attempt[0].deliveries:
        rt.deliveries_queued()
    return result
