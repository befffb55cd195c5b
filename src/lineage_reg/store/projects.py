"""SQL for projects and collections (artifacts and registered models)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from datetime import datetime

import sqlalchemy as sa

from . import schema as s
from ..records import CollectionRec, ProjectRec
from .db import Conn


_PROJECT_BY_NAME = sa.select(s.project).where(s.project.c.name == sa.bindparam("name"))
_COLLECTION_BY_NAME = s.select_collections().where(
    s.project.c.name == sa.bindparam("project"), s.collection.c.name == sa.bindparam("name")
)
_COLLECTION_BY_NAME_FOR_UPDATE = _COLLECTION_BY_NAME.with_for_update(of=s.collection)
_COLLECTIONS_BY_ID = s.select_collections().where(s.collection.c.id.in_(sa.bindparam("ids", expanding=True)))
_LOCK_COLLECTION = sa.select(s.collection.c.id).where(s.collection.c.id == sa.bindparam("id")).with_for_update()


async def project_by_name(conn: Conn, name: str) -> ProjectRec | None:
    row = (await conn.execute(_PROJECT_BY_NAME, {"name": name})).first()
    return ProjectRec.from_row(row) if row else None


async def projects_by_id(conn: Conn, ids: Sequence[int]) -> dict[int, ProjectRec]:
    rows = (await conn.execute(sa.select(s.project).where(s.project.c.id.in_(ids)))).all()
    return {r.id: ProjectRec.from_row(r) for r in rows}


async def insert_project(conn: Conn, *, name: str, description: str | None, at: datetime, actor: str | None) -> int:
    values = {"name": name, "description": description, "created_at": at, "created_by": actor}
    return await s.insert_returning_id(conn, s.project, values)


async def collection_by_name(conn: Conn, project: str, name: str, *, for_update: bool = False) -> CollectionRec | None:
    stmt = _COLLECTION_BY_NAME_FOR_UPDATE if for_update else _COLLECTION_BY_NAME
    row = (await conn.execute(stmt, {"project": project, "name": name})).first()
    return CollectionRec.from_row(row) if row else None


async def collections_by_id(conn: Conn, ids: Sequence[int]) -> dict[int, CollectionRec]:
    rows = (await conn.execute(_COLLECTIONS_BY_ID, {"ids": list(ids)})).all()
    return {r.id: CollectionRec.from_row(r) for r in rows}


async def insert_collection(
    conn: Conn,
    *,
    project_id: int,
    name: str,
    kind: str,
    type: str | None,
    description: str | None,
    at: datetime,
    actor: str | None,
) -> int:
    values = dict(
        project_id=project_id, name=name, kind=kind, type=type, description=description,
        tags=[], created_at=at, created_by=actor,
    )
    return await s.insert_returning_id(conn, s.collection, values)


async def lock_collection(conn: Conn, dialect: str, collection_id: int) -> bool:
    """Serialise writers of one collection on PostgreSQL. SQLite's write transactions begin IMMEDIATE and so
    are serialised already: there the statement would lock nothing and cost a read (~0.15 ms), so none is sent.
    True when a lock was taken now: rows of the collection read before it may have changed meanwhile."""
    if dialect != "postgresql":
        return False
    await conn.execute(_LOCK_COLLECTION, {"id": collection_id})
    return True


async def update_collection(conn: Conn, collection_id: int, values: dict[str, Any]) -> None:
    """Set ``description`` and/or ``name`` (the (project, name) unique key refuses a taken name)."""
    await conn.execute(sa.update(s.collection).where(s.collection.c.id == collection_id).values(**values))


async def set_collection_tags(conn: Conn, collection_id: int, tags: list[str]) -> None:
    await conn.execute(sa.update(s.collection).where(s.collection.c.id == collection_id).values(tags=tags))
