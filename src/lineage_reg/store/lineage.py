"""SQL for walking lineage edges: one batched statement per hop and node kind.

Statements are built once per shape (direction, edge-kind filter, time cut)
with an expanding bind parameter for the node ids; big frontiers are sent in
chunks below SQLite's bound-variable limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from . import schema as s

CHUNK = 5000
EdgeRow = tuple[str, int, str]  # (other kind, other id, edge kind)


def _is_postgres(conn: Any) -> bool:
    return (getattr(conn, "dialect_name", None) or conn.dialect.name) == "postgresql"


@lru_cache(maxsize=64)
def _statement(array: bool, downstream: bool, with_via: bool, with_as_of: bool, ordered: bool) -> sa.Select[Any]:
    e = s.edge.c
    here_kind, here_id, there_kind, there_id = (
        (e.src_kind, e.src_id, e.dst_kind, e.dst_id) if downstream else (e.dst_kind, e.dst_id, e.src_kind, e.src_id)
    )
    stmt = sa.select(here_id, there_kind, there_id, e.kind).where(
        here_kind == sa.bindparam("kind"), _ids_in(here_id, array)
    )
    if with_via:
        stmt = stmt.where(e.kind == sa.bindparam("via"))
    if with_as_of:
        stmt = stmt.where(e.created_at <= sa.bindparam("as_of", type_=e.created_at.type))
    if ordered:
        stmt = stmt.order_by(here_id, e.created_at, there_id)
    return stmt


async def neighbours(
    conn: Any, kind: str, ids: Sequence[int], *, downstream: bool, via: str | None = None,
    as_of: datetime | None = None, ordered: bool = True,
) -> dict[int, list[EdgeRow]]:
    """Edges out of (downstream) or into (upstream) the given nodes of one kind."""
    array = _is_postgres(conn)
    stmt = _statement(array, downstream, via is not None, as_of is not None, ordered)
    out: dict[int, list[EdgeRow]] = {i: [] for i in ids}
    step = max(1, len(ids)) if array else CHUNK
    for start in range(0, len(ids), step):
        params: dict[str, Any] = {"kind": kind, "ids": list(ids[start:start + CHUNK])}
        if via is not None:
            params["via"] = via
        if as_of is not None:
            params["as_of"] = as_of
        for r in (await conn.execute(stmt, params)).all():
            out[r[0]].append((r[1], r[2], r[3]))
    return out


def _ids_in(column: sa.ColumnElement[int], array: bool) -> sa.ColumnElement[bool]:
    """``column IN (...)``; on PostgreSQL ``= ANY(array)``: one parameter however many ids."""
    if array:
        return column == sa.any_(sa.bindparam("ids", type_=postgresql.ARRAY(sa.Integer)))
    return column.in_(sa.bindparam("ids", expanding=True))


@lru_cache(maxsize=8)
def _label_statement(kind: str, array: bool) -> sa.Select[Any]:
    if kind == "v":
        return (
            sa.select(s.version.c.id, s.project.c.name, s.collection.c.name, s.version.c.index,
                      s.collection.c.project_id)
            .join(s.collection, s.collection.c.id == s.version.c.artifact_id)
            .join(s.project, s.project.c.id == s.collection.c.project_id)
            .where(_ids_in(s.version.c.id, array))
        )
    if kind == "r":
        return sa.select(s.run.c.id, s.run.c.name, s.run.c.project_id).where(_ids_in(s.run.c.id, array))
    return sa.select(s.dataset.c.id, s.dataset.c.namespace, s.dataset.c.name).where(_ids_in(s.dataset.c.id, array))


async def labels(conn: Any, kind: str, ids: Sequence[int]) -> dict[int, tuple[str, int | None]]:
    """Display names (no JSON columns decoded) and projects: a version's ref, a run's name, a dataset's
    namespace/name (datasets belong to no project)."""
    array = _is_postgres(conn)
    stmt = _label_statement(kind, array)
    out: dict[int, tuple[str, int | None]] = {}
    step = max(1, len(ids)) if array else CHUNK
    for start in range(0, len(ids), step):
        rows = (await conn.execute(stmt, {"ids": list(ids[start:start + step])})).all()
        if kind == "v":
            out.update((r[0], (f"{r[1]}/{r[2]}:v{r[3]}", r[4])) for r in rows)
        elif kind == "r":
            out.update((r[0], (r[1], r[2])) for r in rows)
        else:
            out.update((r[0], (f"{r[1]}/{r[2]}", None)) for r in rows)
    return out


def _closure_sql(dialect: str, downstream: bool, with_as_of: bool) -> str:
    here, there = ("src", "dst") if downstream else ("dst", "src")
    cut = " AND e.created_at <= :as_of" if with_as_of else ""
    # UNION over (kind, id) alone: each node enters once, however many paths reach it.
    return f"""
WITH RECURSIVE reach(k, id) AS (
    SELECT CAST(:kind AS VARCHAR(1)), CAST(:id AS INTEGER)
    UNION
    SELECT e.{there}_kind, e.{there}_id FROM reach r JOIN lineage_edge e
      ON e.{here}_kind = r.k AND e.{here}_id = r.id{cut}
), nodes AS (SELECT k, id FROM reach LIMIT :limit)
SELECT NULL, NULL, NULL, NULL, NULL, (SELECT COUNT(*) FROM nodes)
UNION ALL
SELECT e.{here}_kind, e.{here}_id, e.{there}_kind, e.{there}_id, e.kind, NULL
FROM nodes n JOIN lineage_edge e ON e.{here}_kind = n.k AND e.{here}_id = n.id{cut}"""


async def closure(
    conn: Any, dialect: str, root: tuple[str, int], *, downstream: bool, limit: int, as_of: datetime | None = None
) -> tuple[dict[tuple[str, int], list[EdgeRow]], bool]:
    """Every edge out of (or into) the first ``limit`` nodes reachable from ``root``, in one recursive query.

    Returns the adjacency and whether the reachable set was complete (not cut by ``limit``).
    """
    sql = sa.text(_closure_sql(dialect, downstream, as_of is not None))
    params: dict[str, Any] = {"kind": root[0], "id": root[1], "limit": limit + 1}
    if as_of is not None:
        sql = sql.bindparams(sa.bindparam("as_of", type_=s.edge.c.created_at.type))
        params["as_of"] = as_of
    adjacency: dict[tuple[str, int], list[EdgeRow]] = {}
    reached = 0
    for r in (await conn.execute(sql, params)).all():
        if r[0] is None:  # the first row carries how many nodes the walk reached
            reached = int(r[5])
            continue
        adjacency.setdefault((r[0], r[1]), []).append((r[2], r[3], r[4]))
    return adjacency, reached <= limit
