"""SQL for the append-only event log."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from . import schema as s
from ..records import EventRec
from .db import Conn


async def insert_event(conn: Conn, values: dict[str, Any]) -> EventRec:
    return EventRec.from_row(await s.insert_returning_row(conn, s.event, values))


async def events_by_id(conn: Conn, ids: Sequence[int]) -> dict[int, EventRec]:
    rows = (await conn.execute(sa.select(s.event).where(s.event.c.id.in_(ids)))).all()
    return {r.id: EventRec.from_row(r) for r in rows}


def events_after(*, after: int, before: int | None = None, project: str | None = None, kinds: Sequence[str] | None = None,
                 collection: str | None = None, alias: str | None = None) -> sa.Select[Any]:
    stmt = sa.select(s.event).where(s.event.c.id > after)
    if before is not None:
        stmt = stmt.where(s.event.c.id < before)
    if project is not None:
        stmt = stmt.where(s.event.c.project == project)
    if kinds:
        stmt = stmt.where(s.event.c.kind.in_(list(kinds)))
    if collection is not None:
        stmt = stmt.where(s.event.c.collection == collection)
    if alias is not None:
        stmt = stmt.where(s.event.c.alias == alias)
    return stmt.order_by(s.event.c.id)


async def fetch_events(conn: Conn, stmt: sa.Select[Any], limit: int) -> list[EventRec]:
    return [EventRec.from_row(r) for r in (await conn.execute(stmt.limit(limit))).all()]


async def last_event_id(conn: Conn) -> int:
    return int((await conn.execute(sa.select(sa.func.coalesce(sa.func.max(s.event.c.id), 0)))).scalar_one())



# PostgreSQL: the transactions that hold the event table's insert lock. An INSERT takes that lock (ROW EXCLUSIVE)
# before its default draws the sequence number and keeps it until the transaction ends, so a number drawn
# before this query ran either belongs to one of these transactions or has already committed or rolled back.
_EVENT_WRITERS = sa.text(
    "SELECT DISTINCT virtualtransaction FROM pg_locks WHERE locktype = 'relation' AND mode = 'RowExclusiveLock' "
    "AND relation = CAST(:table AS regclass) AND pid <> pg_backend_pid()"
).bindparams(table=s.event.name)


async def open_event_writers(conn: Conn) -> set[str]:
    return {row[0] for row in (await conn.execute(_EVENT_WRITERS)).all()}
