"""Alembic migrations; ``upgrade(db)`` brings any database to head."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from ..db import Database

HERE = Path(__file__).resolve().parent


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


async def upgrade(db: Database, revision: str = "head") -> None:
    def run(conn: Connection) -> None:
        command.upgrade(alembic_config(conn), revision)

    await db.check()  # a missing database or a wrong password: one sentence, not a traceback from Alembic
    async with db.engine.begin() as conn:
        await conn.run_sync(run)
