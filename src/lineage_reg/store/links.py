"""SQL for registered-model links and aliases."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from . import schema as s
from ..records import AliasRec, LinkRec
from .db import Conn


async def links_by_id(conn: Conn, ids: Sequence[int]) -> dict[int, LinkRec]:
    rows = (await conn.execute(s.select_links().where(s.link.c.id.in_(ids)))).all()
    return {r.id: LinkRec.from_row(r) for r in rows}


async def link_for(conn: Conn, model_id: int, version_id: int) -> LinkRec | None:
    stmt = s.select_links().where(s.link.c.model_id == model_id, s.link.c.version_id == version_id)
    row = (await conn.execute(stmt)).first()
    return LinkRec.from_row(row) if row else None


async def link_by_index(conn: Conn, model_id: int, index: int) -> LinkRec | None:
    stmt = s.select_links().where(s.link.c.model_id == model_id, s.link.c.index == index)
    row = (await conn.execute(stmt)).first()
    return LinkRec.from_row(row) if row else None


async def latest_link(conn: Conn, model_id: int) -> LinkRec | None:
    stmt = s.select_links().where(s.link.c.model_id == model_id).order_by(s.link.c.index.desc()).limit(1)
    row = (await conn.execute(stmt)).first()
    return LinkRec.from_row(row) if row else None


async def links_of_versions(conn: Conn, version_ids: Sequence[int]) -> dict[int, list[LinkRec]]:
    stmt = s.select_links().where(s.link.c.version_id.in_(version_ids)).order_by(s.link.c.id)
    out: dict[int, list[LinkRec]] = {v: [] for v in version_ids}
    for r in (await conn.execute(stmt)).all():
        out[r.version_id].append(LinkRec.from_row(r))
    return out


async def aliases_on_version(conn: Conn, version_id: int) -> list[tuple[int, str]]:
    """(collection id, alias) of every alias, in any collection, pointing at a version."""
    stmt = sa.select(s.alias.c.collection_id, s.alias.c.name).where(s.alias.c.version_id == version_id)
    return [(int(r[0]), r[1]) for r in (await conn.execute(stmt.order_by(s.alias.c.collection_id, s.alias.c.name))).all()]


async def next_link_index(conn: Conn, model_id: int) -> int:
    stmt = sa.select(sa.func.max(s.link.c.index)).where(s.link.c.model_id == model_id)
    current = (await conn.execute(stmt)).scalar()
    return 0 if current is None else int(current) + 1


async def insert_link(conn: Conn, *, model_id: int, version_id: int, index: int, at: datetime, actor: str | None) -> int:
    values = dict(model_id=model_id, version_id=version_id, index=index, linked_at=at, linked_by=actor)
    return await s.insert_returning_id(conn, s.link, values)


async def delete_link(conn: Conn, link_id: int) -> None:
    await conn.execute(sa.delete(s.link).where(s.link.c.id == link_id))


# --- aliases ---


_ALIAS_TARGET = sa.select(s.alias.c.version_id).where(
    s.alias.c.collection_id == sa.bindparam("collection_id"), s.alias.c.name == sa.bindparam("name")
)
_ALIAS_TARGET_FOR_UPDATE = _ALIAS_TARGET.with_for_update()


async def alias_target(conn: Conn, collection_id: int, name: str, *, for_update: bool = False) -> int | None:
    stmt = _ALIAS_TARGET_FOR_UPDATE if for_update else _ALIAS_TARGET
    value = (await conn.execute(stmt, {"collection_id": collection_id, "name": name})).scalar()
    return None if value is None else int(value)


async def insert_alias(conn: Conn, collection_id: int, name: str, version_id: int, at: datetime) -> None:
    values = dict(collection_id=collection_id, name=name, version_id=version_id, updated_at=at)
    await conn.execute(sa.insert(s.alias).values(**values))


async def update_alias(conn: Conn, collection_id: int, name: str, version_id: int, at: datetime) -> None:
    stmt = (
        sa.update(s.alias)
        .where(s.alias.c.collection_id == collection_id, s.alias.c.name == name)
        .values(version_id=version_id, updated_at=at)
    )
    await conn.execute(stmt)


async def delete_alias(conn: Conn, collection_id: int, name: str) -> None:
    await conn.execute(sa.delete(s.alias).where(s.alias.c.collection_id == collection_id, s.alias.c.name == name))


async def aliases_of_collections(conn: Conn, collection_ids: Sequence[int]) -> dict[int, list[AliasRec]]:
    stmt = sa.select(s.alias).where(s.alias.c.collection_id.in_(collection_ids)).order_by(s.alias.c.name)
    out: dict[int, list[AliasRec]] = {c: [] for c in collection_ids}
    for r in (await conn.execute(stmt)).all():
        out[r.collection_id].append(AliasRec.from_row(r))
    return out


async def alias_names_of(conn: Conn, pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], list[str]]:
    """Alias names per (collection id, version id) pair, in one statement."""
    out: dict[tuple[int, int], list[str]] = {p: [] for p in pairs}
    if not pairs:
        return out
    stmt = (
        sa.select(s.alias.c.collection_id, s.alias.c.version_id, s.alias.c.name)
        .where(sa.tuple_(s.alias.c.collection_id, s.alias.c.version_id).in_(list(pairs)))
        .order_by(s.alias.c.name)
    )
    for r in (await conn.execute(stmt)).all():
        out[(r.collection_id, r.version_id)].append(r.name)
    return out
