"""Alembic migrations; ``upgrade(db)`` brings any database to head."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from ..db import Database

HERE = Path(__file__).resolve().parent


def include_object(dialect: str) -> Callable[..., bool]:
    """Alembic's ``include_object`` for one database: an index declared for another dialect only
    (``Index(...).ddl_if(dialect="postgresql")``, the GIN indexes of search) is not expected on this one."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        only = getattr(obj, "_ddl_if", None)
        return not (type_ == "index" and not reflected and only is not None and only.dialect not in (None, dialect))

    return include


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
