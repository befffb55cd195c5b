"""SQL for the append-only event log."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from . import schema as s
from ..event_kinds import ALIAS_MOVES
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


def _moves(collection_id: int, alias: str) -> sa.Select[Any]:
    e = s.event.c
    return (sa.select(s.event).where(e.collection_id == collection_id, e.alias == alias, e.kind.in_(ALIAS_MOVES))
            .order_by(e.id.desc()).limit(1))


async def last_alias_move(conn: Conn, collection_id: int, alias: str, *, at_or_before: datetime | None = None
                          ) -> EventRec | None:
    """The newest ``alias.set`` / ``alias.removed`` of one alias (at or before a time): one read down the
    (collection_id, alias, id) index, newest first. Events are numbered in commit order of their inserts and
    timed at their transaction's start, so for a time the newest event at or before it is the holder then."""
    stmt = _moves(collection_id, alias)
    if at_or_before is not None:
        stmt = stmt.where(s.event.c.at <= at_or_before)
    row = (await conn.execute(stmt)).first()
    return EventRec.from_row(row) if row else None


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
