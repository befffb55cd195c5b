"""Migrations build exactly the schema the code declares, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from lineage_reg.store import migrations
from lineage_reg.store.db import Database
from lineage_reg.store.tables import metadata


async def test_migrated_database_matches_models(database_url: str, dialect: str) -> None:
    db = Database(database_url)
    try:
        await migrations.upgrade(db)
        await migrations.upgrade(db)  # idempotent: a second start changes nothing

        def diff(conn: Any) -> list[Any]:
            opts = {"compare_type": True, "include_object": migrations.include_object(dialect)}
            return list(compare_metadata(MigrationContext.configure(conn, opts=opts), metadata))

        async with db.engine.connect() as conn:
            assert await conn.run_sync(diff) == []
    finally:
        await db.dispose()
