"""The deploy bot's hot read: a reference to its version in one prebuilt statement.

Statements are built once with bind parameters, so SQLAlchemy's cache key and
compiled form are computed once per process, not per request.
"""

from __future__ import annotations


import sqlalchemy as sa

from . import schema as s
from ..records import VersionRec
from .db import Conn

_coll = s.collection.alias("target")
_proj = s.project.alias("target_project")
_in_collection = sa.and_(
    _coll.c.project_id == _proj.c.id,
    _proj.c.name == sa.bindparam("project"),
    _coll.c.name == sa.bindparam("name"),
)

_BY_ALIAS = s.select_versions().where(
    s.version.c.id == sa.select(s.alias.c.version_id)
    .join(_coll, _coll.c.id == s.alias.c.collection_id)
    .join(_proj, _in_collection)
    .where(s.alias.c.name == sa.bindparam("alias"))
    .scalar_subquery()
)

_BY_INDEX = s.select_versions().where(
    s.version.c.id.in_(
        sa.union_all(
            sa.select(s.version.c.id)
            .join(_coll, sa.and_(_coll.c.id == s.version.c.artifact_id, _coll.c.kind == "artifact"))
            .join(_proj, _in_collection)
            .where(s.version.c.index == sa.bindparam("index")),
            sa.select(s.link.c.version_id)
            .join(_coll, sa.and_(_coll.c.id == s.link.c.model_id, _coll.c.kind == "model"))
            .join(_proj, _in_collection)
            .where(s.link.c.index == sa.bindparam("index")),
        )
    )
)


async def version_by_alias(conn: Conn, project: str, name: str, alias: str) -> VersionRec | None:
    row = (await conn.execute(_BY_ALIAS, {"project": project, "name": name, "alias": alias})).first()
    return VersionRec.from_row(row) if row else None


async def version_by_index(conn: Conn, project: str, name: str, index: int) -> VersionRec | None:
    row = (await conn.execute(_BY_INDEX, {"project": project, "name": name, "index": index})).first()
    return VersionRec.from_row(row) if row else None
