"""SQL for runs, metric history, datasets and lineage edges."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from . import schema as s
from ..records import DatasetRec, RunRec
from .tables.lineage import EDGE_KIND
from .db import Conn


def _upsert(dialect: str) -> Any:
    """The dialect's own insert (both have on_conflict_do_nothing/do_update, their signatures differ)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def runs_by_id(conn: Conn, ids: Sequence[int], *, for_update: bool = False) -> dict[int, RunRec]:
    stmt = sa.select(s.run).where(s.run.c.id.in_(ids))
    if for_update:
        stmt = stmt.with_for_update()
    return {r.id: RunRec.from_row(r) for r in (await conn.execute(stmt)).all()}


async def insert_run(conn: Conn, values: dict[str, Any]) -> int:
    return await s.insert_returning_id(conn, s.run, values)


async def finish_run(conn: Conn, run_id: int, *, status: str, summary: dict[str, Any] | None, at: datetime) -> None:
    values: dict[str, Any] = {"status": status, "finished_at": at}
    if summary is not None:
        values["summary"] = summary
    await conn.execute(sa.update(s.run).where(s.run.c.id == run_id).values(**values))


async def upsert_metrics(conn: Conn, dialect: str, rows: list[dict[str, Any]]) -> None:
    insert = _upsert(dialect)(s.metric)
    stmt = insert.on_conflict_do_update(
        index_elements=["run_id", "key", "step"],
        set_={"value": insert.excluded.value, "logged_at": insert.excluded.logged_at},
    )
    await conn.execute(stmt, rows)


async def latest_metrics(conn: Conn, run_ids: Sequence[int]) -> dict[int, dict[str, float]]:
    """Each run's last logged value of every metric key (highest step)."""
    m = s.metric.c
    last = (sa.select(m.run_id, m.key, sa.func.max(m.step).label("step"))
            .where(m.run_id.in_(list(run_ids))).group_by(m.run_id, m.key).subquery())
    stmt = sa.select(m.run_id, m.key, m.value).join(
        last, sa.and_(m.run_id == last.c.run_id, m.key == last.c.key, m.step == last.c.step))
    found: dict[int, dict[str, float]] = {}
    for row in (await conn.execute(stmt)).all():
        found.setdefault(int(row.run_id), {})[row.key] = float(row.value)
    return found


async def metric_history(conn: Conn, run_id: int, key: str | None, limit: int) -> list[tuple[str, int, float]]:
    stmt = sa.select(s.metric.c.key, s.metric.c.step, s.metric.c.value).where(s.metric.c.run_id == run_id)
    if key is not None:
        stmt = stmt.where(s.metric.c.key == key)
    stmt = stmt.order_by(s.metric.c.key, s.metric.c.step).limit(limit)
    return [(r.key, int(r.step), float(r.value)) for r in (await conn.execute(stmt)).all()]


async def dataset_get_or_create(conn: Conn, dialect: str, namespace: str, name: str, at: datetime) -> DatasetRec:
    """The dataset of this name (or the one it is a symlink of); created if neither exists."""
    a, d = s.dataset_alias.c, s.dataset.c
    via = sa.select(s.dataset).join(s.dataset_alias, a.dataset_id == d.id).where(a.namespace == namespace,
                                                                                 a.name == name)
    row = (await conn.execute(via)).first()
    if row is not None:
        return DatasetRec.from_row(row)
    insert = _upsert(dialect)(s.dataset).values(namespace=namespace, name=name, created_at=at)
    await conn.execute(insert.on_conflict_do_nothing())
    stmt = sa.select(s.dataset).where(s.dataset.c.namespace == namespace, s.dataset.c.name == name)
    return DatasetRec.from_row((await conn.execute(stmt)).one())


async def datasets_by_id(conn: Conn, ids: Sequence[int]) -> dict[int, DatasetRec]:
    rows = (await conn.execute(sa.select(s.dataset).where(s.dataset.c.id.in_(ids)))).all()
    return {r.id: DatasetRec.from_row(r) for r in rows}


# --- lineage edges: kinds r(un), v(ersion), d(ataset) ---


async def add_edge(conn: Conn, dialect: str, src: tuple[str, int], dst: tuple[str, int], at: datetime) -> bool:
    """Insert an edge (its kind follows from its ends); False when it already existed."""
    values = dict(src_kind=src[0], src_id=src[1], dst_kind=dst[0], dst_id=dst[1], kind=EDGE_KIND[(src[0], dst[0])],
                  created_at=at)
    result = await conn.execute(_upsert(dialect)(s.edge).values(**values).on_conflict_do_nothing())
    return bool(result.rowcount)


async def has_edge(conn: Conn, src: tuple[str, int], dst: tuple[str, int]) -> bool:
    e = s.edge.c
    stmt = sa.select(sa.literal(1)).where(
        e.src_kind == src[0], e.src_id == src[1], e.dst_kind == dst[0], e.dst_id == dst[1]
    )
    return (await conn.execute(stmt)).first() is not None
