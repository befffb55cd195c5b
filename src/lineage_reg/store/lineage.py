"""SQL for walking lineage edges: one batched statement per hop and node kind.

Statements are built once per shape (direction, edge-kind filter, time cut).
A batch's ids travel as one parameter (a JSON array read by ``json_each`` on
SQLite, an array on PostgreSQL), so a statement is compiled once however many
ids it carries. The walk's statement selects only columns of the edge indexes
(an edge's kind follows from its ends' kinds: ``EDGE_KIND``), so the database
answers it from the index alone.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from . import schema as s
from .tables.lineage import KIND_CODE
from .db import Conn

EdgeRow = tuple[str, int, str]  # (other kind, other id, edge kind)


class Label(NamedTuple):
    """A node's display name and its project (None for datasets), so callers can hide what they may not read."""

    text: str
    project_id: int | None


WalkRow = tuple[int, int]  # (this node's key, other node's key): keys as in tables.lineage.KIND_CODE


def _is_postgres(conn: Conn) -> bool:
    return conn.dialect_name == "postgresql"


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
    conn: Conn, kind: str, ids: Sequence[int], *, downstream: bool, via: str | None = None,
    as_of: datetime | None = None, ordered: bool = True,
) -> dict[int, list[EdgeRow]]:
    """Edges out of (downstream) or into (upstream) the given nodes of one kind."""
    array = _is_postgres(conn)
    stmt = _statement(array, downstream, via is not None, as_of is not None, ordered)
    out: dict[int, list[EdgeRow]] = {i: [] for i in ids}
    params: dict[str, Any] = {"kind": kind, "ids": _ids_param(ids, array)}
    if via is not None:
        params["via"] = via
    if as_of is not None:
        params["as_of"] = as_of
    for r in (await conn.execute(stmt, params)).all():
        out[r[0]].append((r[1], r[2], r[3]))
    return out


def _node_key(kind: sa.ColumnElement[str], row_id: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
    """A node's key, computed by the database (see ``KIND_CODE``)."""
    return row_id * 4 + sa.case(KIND_CODE, value=kind)


@lru_cache(maxsize=16)
def _walk_statement(array: bool, downstream: bool, with_as_of: bool) -> sa.Select[Any]:
    e = s.edge.c
    here_kind, here_id, there_kind, there_id = (
        (e.src_kind, e.src_id, e.dst_kind, e.dst_id) if downstream else (e.dst_kind, e.dst_id, e.src_kind, e.src_id)
    )
    stmt = sa.select(here_id * 4 + sa.bindparam("code"), _node_key(there_kind, there_id)).where(
        here_kind == sa.bindparam("kind"), _ids_in(here_id, array)
    )
    if with_as_of:
        stmt = stmt.where(e.created_at <= sa.bindparam("as_of", type_=e.created_at.type))
    return stmt


async def walk_edges(conn: Conn, kind: str, ids: Sequence[int], *, downstream: bool,
                     as_of: datetime | None = None) -> Sequence[WalkRow]:
    """Edges out of (downstream) or into (upstream) the given nodes of one kind, as
    ``(this node's key, other node's key)`` rows in no particular order: one statement."""
    array = _is_postgres(conn)
    params: dict[str, Any] = {"kind": kind, "code": KIND_CODE[kind], "ids": _ids_param(ids, array)}
    if as_of is not None:
        params["as_of"] = as_of
    return (await conn.execute(_walk_statement(array, downstream, as_of is not None), params)).all()  # type: ignore[no-any-return]


def _ids_in(column: sa.ColumnElement[int], array: bool, name: str = "ids") -> sa.ColumnElement[bool]:
    """``column`` is one of the ids in parameter ``name`` (see ``_ids_param``)."""
    if array:
        return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(sa.Integer)))
    value: sa.ColumnClause[Any] = sa.literal_column("value")  # json_each's column
    listed = sa.select(value).select_from(sa.func.json_each(sa.bindparam(name, type_=sa.String)))
    return column.in_(listed.scalar_subquery())


def _ids_param(ids: Sequence[int], array: bool) -> Any:
    return list(ids) if array else json.dumps(list(ids))


@lru_cache(maxsize=4)
def _label_statement(array: bool) -> sa.CompoundSelect:
    v, c, p, r, d = s.version.c, s.collection.c, s.project.c, s.run.c, s.dataset.c
    nothing = sa.null().cast(sa.String)
    return sa.union_all(  # one statement for the three kinds; the texts are put together in Python
        sa.select(sa.literal("v"), v.id, p.name, c.name, v.index, c.project_id)
        .join_from(s.version, s.collection, c.id == v.artifact_id).join(s.project, p.id == c.project_id)
        .where(_ids_in(v.id, array, "v")),
        sa.select(sa.literal("r"), r.id, r.name, nothing, sa.null(), r.project_id).where(_ids_in(r.id, array, "r")),
        sa.select(sa.literal("d"), d.id, d.namespace, d.name, sa.null(), sa.null()).where(_ids_in(d.id, array, "d")),
    )


async def labels(conn: Conn, ids: Mapping[str, Sequence[int]]) -> dict[int, Label]:
    """Display names (no JSON columns decoded) and projects of nodes given as ids per kind, by node key: a
    version's ref, a run's name, a dataset's namespace/name (datasets belong to no project). One statement."""
    array = _is_postgres(conn)
    params = {kind: _ids_param(ids.get(kind, ()), array) for kind in "vrd"}
    out: dict[int, Label] = {}
    for kind, row_id, a, b, index, project_id in (await conn.execute(_label_statement(array), params)).all():
        key = row_id * 4 + KIND_CODE[kind]
        if kind == "v":
            out[key] = Label(f"{a}/{b}:v{index}", project_id)
        elif kind == "r":
            out[key] = Label(a, project_id)
        else:
            out[key] = Label(f"{a}/{b}", None)
    return out


def _code_sql(kind: str) -> str:
    return "CASE " + kind + "".join(f" WHEN '{k}' THEN {code}" for k, code in KIND_CODE.items()) + " END"


@lru_cache(maxsize=16)
def _closure_statement(postgres: bool, downstream: bool, with_as_of: bool, bounded: bool) -> sa.TextClause:
    here, there = ("src", "dst") if downstream else ("dst", "src")
    cut = " AND e.created_at <= :as_of" if with_as_of else ""
    # Unbounded: UNION over (kind, id), so each node enters once however many paths reach it. Bounded by
    # depth: UNION over (kind, id, hop), so a node enters once per hop count it is reached at, and nothing
    # beyond ``depth`` hops is read. Either way LIMIT stops the recursion early (SQLite takes it inside the
    # recursive part, PostgreSQL only outside, where it reads the CTE lazily), a root with ``:wide`` or more
    # edges (a hub) stops it before it starts, and the edges are only sent when the reachable set fits: a
    # cut-off set costs the caller little more than the count.
    hop, start, step, within = (", hop", ", 0", ", r.hop + 1", " WHERE r.hop < :depth") if bounded else ("", "", "", "")
    inner_limit, capped = ("", "SELECT k, id FROM reach LIMIT :limit") if postgres else (" LIMIT :limit", "SELECT k, id FROM reach")
    # SQLite evaluates a CTE again at each reference unless told to keep it (3.35+; measured: 2.1 -> 1.0 ms
    # for a 370-node walk); PostgreSQL keeps a CTE referenced more than once by itself.
    keep = " MATERIALIZED" if not postgres and sqlite3.sqlite_version_info >= (3, 35) else ""
    stmt = sa.text(f"""
WITH RECURSIVE wide(n) AS (
    SELECT COUNT(*) FROM (SELECT 1 FROM lineage_edge WHERE {here}_kind = :kind AND {here}_id = :id LIMIT :wide) w
), reach(k, id{hop}) AS (
    SELECT CAST(:kind AS VARCHAR(1)), CAST(:id AS INTEGER){start} WHERE (SELECT n FROM wide) < :wide
    UNION
    SELECT e.{there}_kind, e.{there}_id{step} FROM reach r JOIN lineage_edge e
      ON e.{here}_kind = r.k AND e.{here}_id = r.id{cut}{within}{inner_limit}
), capped AS{keep} ({capped}), nodes AS{keep} (SELECT DISTINCT k, id FROM capped)
SELECT NULL, CASE WHEN (SELECT n FROM wide) < :wide THEN (SELECT COUNT(*) FROM capped) ELSE :limit END
UNION ALL
SELECT e.{here}_id * 4 + {_code_sql(f"e.{here}_kind")}, e.{there}_id * 4 + {_code_sql(f"e.{there}_kind")}
FROM nodes n JOIN lineage_edge e ON e.{here}_kind = n.k AND e.{here}_id = n.id{cut}
WHERE (SELECT COUNT(*) FROM capped) < :limit""")
    if with_as_of:
        stmt = stmt.bindparams(sa.bindparam("as_of", type_=s.edge.c.created_at.type))
    return stmt


async def closure(
    conn: Conn, root: tuple[str, int], *, downstream: bool, limit: int, depth: int | None = None,
    wide: int, as_of: datetime | None = None,
) -> tuple[dict[int, list[WalkRow]], bool]:
    """Every edge out of (or into) the nodes reachable from ``root`` (within ``depth`` hops if given),
    in one recursive query, if there are at most ``limit`` of them and ``root`` has fewer than ``wide`` edges.

    Returns, per node key, its edges as ``walk_edges`` rows, and whether the reachable set was complete
    (when it was not, no edges are returned).
    """
    params: dict[str, Any] = {"kind": root[0], "id": root[1], "limit": limit + 1, "wide": wide}
    if depth is not None:
        params["depth"] = depth
    if as_of is not None:
        params["as_of"] = as_of
    statement = _closure_statement(_is_postgres(conn), downstream, as_of is not None, depth is not None)
    rows = (await conn.execute(statement, params)).all()
    adjacency: dict[int, list[WalkRow]] = {}
    reached = 0
    for here, there in rows:
        if here is None:  # the row that carries how many nodes the walk reached
            reached = int(there)
            continue
        adjacency.setdefault(here, []).append((here, there))
    return adjacency, reached <= limit
