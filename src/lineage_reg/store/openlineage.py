"""Set-based SQL for OpenLineage ingestion: a batch of events costs a handful of statements, not one per event."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from . import schema as s
from .runs import _upsert
from .db import Conn

Pair = tuple[str, str]
CHUNK = 400  # pairs per IN list: well under every driver's parameter limit


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), CHUNK):
        yield items[i:i + CHUNK]


async def project_ids(conn: Conn, names: Sequence[str]) -> dict[str, int]:
    rows = (await conn.execute(sa.select(s.project.c.name, s.project.c.id).where(s.project.c.name.in_(names)))).all()
    return {r.name: int(r.id) for r in rows}


async def alias_targets(conn: Conn, pairs: Sequence[Pair]) -> dict[Pair, int]:
    a = s.dataset_alias.c
    found: dict[Pair, int] = {}
    for chunk in _chunks(list(pairs)):
        stmt = sa.select(a.namespace, a.name, a.dataset_id).where(sa.tuple_(a.namespace, a.name).in_(chunk))
        found.update({(r.namespace, r.name): int(r.dataset_id) for r in (await conn.execute(stmt)).all()})
    return found


async def datasets_by_pair(conn: Conn, pairs: Sequence[Pair]) -> dict[Pair, Any]:
    d = s.dataset.c
    found: dict[Pair, Any] = {}
    for chunk in _chunks(list(pairs)):
        stmt = sa.select(d.id, d.namespace, d.name, d.facets, d.facet_times).where(
            sa.tuple_(d.namespace, d.name).in_(chunk))
        found.update({(r.namespace, r.name): r for r in (await conn.execute(stmt)).all()})
    return found


async def datasets_by_ids(conn: Conn, ids: Sequence[int]) -> dict[int, Any]:
    d = s.dataset.c
    stmt = sa.select(d.id, d.namespace, d.name, d.facets, d.facet_times).where(d.id.in_(list(ids)))
    return {int(r.id): r for r in (await conn.execute(stmt)).all()}


async def insert_datasets(conn: Conn, dialect: str, pairs: Sequence[Pair], at: datetime) -> None:
    if pairs:
        rows = [dict(namespace=ns, name=name, created_at=at, facets={}, facet_times={}) for ns, name in pairs]
        await conn.execute(_upsert(dialect)(s.dataset).on_conflict_do_nothing(), rows)


async def insert_aliases(conn: Conn, dialect: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(_upsert(dialect)(s.dataset_alias).on_conflict_do_nothing(), rows)


_UPDATE_DATASET_FACETS = (
    sa.update(s.dataset).where(s.dataset.c.id == sa.bindparam("b_id"))
    .values(facets=sa.bindparam("b_facets"), facet_times=sa.bindparam("b_times"))
)


async def update_dataset_facets(conn: Conn, rows: list[dict[str, Any]]) -> None:
    """rows: b_id, b_facets, b_times."""
    if rows:
        await conn.execute(_UPDATE_DATASET_FACETS, rows)


async def runs_by_external_id(conn: Conn, external_ids: Sequence[str]) -> dict[str, Any]:
    r = s.run.c
    found: dict[str, Any] = {}
    for chunk in _chunks(list(external_ids)):
        stmt = sa.select(r.id, r.external_id, r.status, r.created_at, r.finished_at, r.parent_id, r.facets,
                         r.facet_times).where(r.external_id.in_(chunk))
        found.update({row.external_id: row for row in (await conn.execute(stmt)).all()})
    return found


async def insert_runs(conn: Conn, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(sa.insert(s.run), rows)


_UPDATE_RUN = (
    sa.update(s.run).where(s.run.c.id == sa.bindparam("b_id"))
    .values(status=sa.bindparam("b_status"), created_at=sa.bindparam("b_created_at"),
            finished_at=sa.bindparam("b_finished_at"), parent_id=sa.bindparam("b_parent_id"),
            facets=sa.bindparam("b_facets"), facet_times=sa.bindparam("b_times"))
)


async def update_runs(conn: Conn, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(_UPDATE_RUN, rows)


async def insert_edges(conn: Conn, dialect: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        await conn.execute(_upsert(dialect)(s.edge).on_conflict_do_nothing(), rows)


async def dataset_by_name(conn: Conn, namespace: str, name: str) -> Any | None:
    """The dataset with this name, or the one this name is a symlink of."""
    d, a = s.dataset.c, s.dataset_alias.c
    direct = sa.select(s.dataset).where(d.namespace == namespace, d.name == name)
    row = (await conn.execute(direct)).first()
    if row is None:
        via = sa.select(s.dataset).join(s.dataset_alias, a.dataset_id == d.id).where(
            a.namespace == namespace, a.name == name)
        row = (await conn.execute(via)).first()
    return row
