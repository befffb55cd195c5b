"""SQL for protected-alias settings (per project, per collection)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from . import schema as s
from .runs import _upsert
from .db import Conn


_PROJECT_ROW = sa.select(s.project.c.id).where(s.project.c.id == sa.bindparam("id"))
_MOVING = _PROJECT_ROW.with_for_update(read=True)  # FOR SHARE: moves don't wait for each other
_CHANGING = _PROJECT_ROW.with_for_update(key_share=True)  # FOR NO KEY UPDATE: inserts below the project go on


async def guard(conn: Conn, project_id: int, *, changing: bool) -> None:
    """Order a project's protection changes against the alias moves that check them (PostgreSQL; SQLite's writer
    lock already does): a move that read "not protected" commits before the change that protects it."""
    await conn.execute(_CHANGING if changing else _MOVING, {"id": project_id})


def scope_key(project_id: int, collection_id: int | None) -> str:
    return f"c:{collection_id}" if collection_id is not None else f"p:{project_id}"


async def upsert(conn: Conn, dialect: str, values: dict[str, Any]) -> None:
    insert = _upsert(dialect)(s.protected_aliases).values(**values)
    await conn.execute(insert.on_conflict_do_update(
        index_elements=["scope"],
        set_={"names": insert.excluded.names, "updated_at": insert.excluded.updated_at,
              "updated_by": insert.excluded.updated_by}))


async def settings_many(conn: Conn, scopes: list[str]) -> dict[str, list[str]]:
    t = s.protected_aliases.c
    rows = (await conn.execute(sa.select(t.scope, t.names).where(t.scope.in_(scopes)))).all()
    return {r.scope: list(r.names) for r in rows}
