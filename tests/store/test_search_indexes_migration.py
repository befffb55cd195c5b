"""Migration 0011 (search indexes): a registry at 0010 with data keeps every row and gains the indexes the
searches use (docs/search.md, "Indexes"): btree on both databases, GIN (jsonb_path_ops) on PostgreSQL only;
the downgrade drops exactly those."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import Connection

from lineage_reg.store import migrations
from lineage_reg.store import schema as s
from lineage_reg.store.db import Database

AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
BTREE = {"ix_artifact_version_state_created_at_id", "ix_artifact_version_created_at_id", "ix_collection_type",
         "ix_run_created_at_id"}
GIN = {"ix_artifact_version_metadata_gin", "ix_artifact_version_tags_gin", "ix_collection_tags_gin",
       "ix_run_config_gin"}


async def _seed_0010(db: Database) -> None:
    async def work(conn: Any) -> None:
        await conn.execute(sa.insert(s.project), [dict(id=1, name="churn", created_at=AT)])
        await conn.execute(sa.insert(s.collection), [
            dict(id=1, project_id=1, name="clf", kind="artifact", type="model", tags=["a"], created_at=AT)])
        await conn.execute(sa.insert(s.run), [dict(id=1, project_id=1, name="r", status="FINISHED",
                                                   config={"lr": 0.1}, summary={"auc": 0.9}, created_at=AT)])
        await conn.execute(sa.insert(s.version), [
            dict(id=i, artifact_id=1, index=i, digest=f"d{i}", state="COMMITTED", size=1, file_count=0,
                 metadata={"framework": "sklearn", "n": i}, tags=["candidate"] if i % 2 else [], pending_aliases=[],
                 run_id=1, created_at=AT) for i in (1, 2, 3)])

    await db.transaction(work)


async def _rows(db: Database) -> list[Any]:
    async with db.engine.connect() as conn:
        versions = (await conn.execute(sa.select(s.version.c.id, s.version.c.metadata, s.version.c.tags)
                                       .order_by(s.version.c.id))).all()
        runs = (await conn.execute(sa.select(s.run.c.id, s.run.c.config))).all()
    return [tuple(r) for r in (*versions, *runs)]


async def _indexes(db: Database, dialect: str) -> dict[str, str]:
    """Every index of the four searched tables: name → definition (PostgreSQL) or its columns (SQLite)."""
    async with db.engine.connect() as conn:
        if dialect == "postgresql":
            rows = (await conn.execute(sa.text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
                "('artifact_version', 'collection', 'run')"))).all()
            return {name: definition for name, definition in rows}

        def read(sync: Connection) -> dict[str, str]:
            inspector = sa.inspect(sync)
            return {ix["name"]: ",".join(str(c) for c in ix["column_names"])
                    for table in ("artifact_version", "collection", "run") for ix in inspector.get_indexes(table)}

        return await conn.run_sync(read)


async def _downgrade(db: Database, revision: str) -> None:
    def run(conn: Connection) -> None:
        command.downgrade(migrations.alembic_config(conn), revision)

    async with db.engine.begin() as conn:
        await conn.run_sync(run)


async def test_0010_to_0011_keeps_rows_and_adds_the_search_indexes(empty_url: str, dialect: str) -> None:
    db = Database(empty_url)
    try:
        await migrations.upgrade(db, "0010")
        await _seed_0010(db)
        before, old = await _rows(db), await _indexes(db, dialect)
        assert not (BTREE | GIN) & set(old)

        await migrations.upgrade(db)

        assert await _rows(db) == before
        new = await _indexes(db, dialect)
        assert set(new) - set(old) == (BTREE | GIN if dialect == "postgresql" else BTREE)
        if dialect == "postgresql":
            for name in GIN:
                assert "USING gin" in new[name] and "jsonb_path_ops" in new[name], new[name]
            assert new["ix_artifact_version_state_created_at_id"].endswith("USING btree (state, created_at, id)")
        else:
            assert new["ix_artifact_version_state_created_at_id"] == "state,created_at,id"

        await _downgrade(db, "0010")
        assert set(await _indexes(db, dialect)) == set(old)
        assert await _rows(db) == before
        await migrations.upgrade(db)  # and up again
        assert set(await _indexes(db, dialect)) == set(new)
    finally:
        await db.dispose()
