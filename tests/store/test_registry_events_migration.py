"""Migration 0009 (an event may have no project): a registry at 0008 keeps every event and every webhook
delivery, and the deliveries still reference their events, on both databases; the downgrade drops the
registry events it can't keep."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from lineage_reg.store import migrations
from lineage_reg.store import schema as s
from lineage_reg.store.db import Database

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


async def _seed_0008(db: Database) -> None:
    """A project, two events, a webhook with one delivery per event and a ping (no event)."""
    async def work(conn: Any) -> None:
        await conn.execute(sa.insert(s.project), [dict(id=1, name="churn", created_at=AT)])
        await conn.execute(sa.insert(s.event), [
            dict(id=i, kind="project.created", actor="ann", at=AT, project_id=1, project="churn", payload={"n": i})
            for i in (1, 2)])
        await conn.execute(sa.insert(s.webhook), [dict(id=1, project_id=1, url="https://hooks.example/x",
                                                       kinds=["project.created"], secret_sealed="sealed",
                                                       active=True, created_at=AT)])
        await conn.execute(sa.insert(s.delivery), [
            dict(id=i, webhook_id=1, event_id=event_id, kind="project.created" if event_id else "ping",
                 payload={"d": i}, status="DELIVERED", attempts=1, created_at=AT, next_attempt_at=AT)
            for i, event_id in ((1, 1), (2, 2), (3, None))])

    await db.transaction(work)


async def _rows(db: Database) -> tuple[list[Any], list[Any]]:
    async with db.engine.connect() as conn:
        events = (await conn.execute(sa.text("SELECT id, kind, project_id, project FROM event ORDER BY id"))).all()
        deliveries = (await conn.execute(sa.text(
            "SELECT id, webhook_id, event_id, kind, status FROM webhook_delivery ORDER BY id"))).all()
    return [tuple(r) for r in events], [tuple(r) for r in deliveries]


async def _insert_event(db: Database, **values: Any) -> None:
    row = dict(kind="token.created", actor=None, at=AT, project_id=None, project="", payload={}) | values
    await db.transaction(lambda conn: conn.execute(sa.insert(s.event), [row]))


async def _downgrade(db: Database, revision: str) -> None:
    def run(conn: Connection) -> None:
        command.downgrade(migrations.alembic_config(conn), revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)


async def test_0008_to_0009_keeps_events_and_deliveries_and_allows_registry_events(
        empty_url: str, dialect: str) -> None:
    db = Database(empty_url)
    try:
        await migrations.upgrade(db, "0008")
        await _seed_0008(db)
        with pytest.raises(sa.exc.IntegrityError):  # before 0009 an event must have a project
            await _insert_event(db)
        before = await _rows(db)

        await migrations.upgrade(db)

        assert await _rows(db) == before
        assert before[1] == [(1, 1, 1, "project.created", "DELIVERED"), (2, 1, 2, "project.created", "DELIVERED"),
                             (3, 1, None, "ping", "DELIVERED")]
        await _insert_event(db, id=3)  # a registry event: no project
        assert (await _rows(db))[0][-1] == (3, "token.created", None, "")
        # The deliveries' foreign key still points at the (rebuilt) event table and is still enforced.
        with pytest.raises(sa.exc.IntegrityError):
            await db.transaction(lambda conn: conn.execute(sa.insert(s.delivery), [dict(
                webhook_id=1, event_id=999, kind="x", payload={}, status="PENDING", attempts=0, created_at=AT,
                next_attempt_at=AT)]))
        if dialect == "sqlite":
            async with db.engine.connect() as conn:
                fks = (await conn.execute(sa.text("PRAGMA foreign_key_list(webhook_delivery)"))).all()
                assert {r.table for r in fks} == {"event", "webhook"}
                assert (await conn.execute(sa.text("PRAGMA foreign_key_check"))).all() == []
    finally:
        await db.dispose()


async def test_downgrade_to_0008_drops_only_the_registry_events(empty_url: str, dialect: str) -> None:
    db = Database(empty_url)
    try:
        await migrations.upgrade(db, "0008")
        await _seed_0008(db)
        await migrations.upgrade(db)
        await _insert_event(db, id=3)
        events, deliveries = await _rows(db)

        await _downgrade(db, "0008")

        assert await _rows(db) == (events[:2], deliveries)
        with pytest.raises(sa.exc.IntegrityError):  # NOT NULL again
            await _insert_event(db, id=4)
        await migrations.upgrade(db)  # and up again
        await _insert_event(db, id=4)
    finally:
        await db.dispose()
