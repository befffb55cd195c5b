"""Keyset pagination, for one parent or for many parents in one query.

A page is ordered by a unique key (a row id, an index, a file path); the cursor is the
key of the last row seen. Pages for many parents come from one statement with
``ROW_NUMBER() OVER (PARTITION BY parent ...)``, so a list of projects each
showing its first runs costs one query, not one per project.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from functools import lru_cache
from typing import Any, TypeVar

import sqlalchemy as sa

from ..records import Page
from .db import Conn

R = TypeVar("R")


def _keyset(stmt: sa.Select[Any], key: sa.ColumnElement[Any], with_after: bool, descending: bool) -> sa.Select[Any]:
    if with_after:
        after = sa.bindparam("after", type_=key.type)
        stmt = stmt.where(key < after if descending else key > after)
    return stmt


@lru_cache(maxsize=256)
def _pages_statement(stmt: sa.Select[Any], parent: sa.ColumnElement[Any], key: sa.ColumnElement[Any],
                     with_after: bool, descending: bool) -> sa.Select[Any]:
    """Built once per list shape; parents, cursor and page size are bind parameters."""
    order = key.desc() if descending else key.asc()
    rn = sa.func.row_number().over(partition_by=parent, order_by=order).label("_rn")
    inner = _keyset(stmt.add_columns(rn, parent.label("_parent"), key.label("_key")), key, with_after, descending)
    inner = inner.where(parent.in_(sa.bindparam("parents", expanding=True))).subquery()
    return (
        sa.select(inner)
        .where(inner.c["_rn"] <= sa.bindparam("limit"))
        .order_by(inner.c["_parent"], inner.c["_rn"])
    )


@lru_cache(maxsize=256)
def _one_parent_statement(stmt: sa.Select[Any], parent: sa.ColumnElement[Any], key: sa.ColumnElement[Any],
                          with_after: bool, descending: bool) -> sa.Select[Any]:
    """One parent's page as ORDER BY key LIMIT n: an index on (parent, key) stops after n rows, where
    ``ROW_NUMBER() OVER (PARTITION BY parent)`` numbers every row of the parent first (a 100,000-version
    artifact's first page took ~10x longer than a page read through a cursor near its end)."""
    order = key.desc() if descending else key.asc()
    stmt = _keyset(stmt.add_columns(parent.label("_parent"), key.label("_key")), key, with_after, descending)
    return stmt.where(parent == sa.bindparam("parent")).order_by(order).limit(sa.bindparam("limit"))


@lru_cache(maxsize=256)
def _page_statement(stmt: sa.Select[Any], key: sa.ColumnElement[Any], with_after: bool,
                    descending: bool) -> sa.Select[Any]:
    order = key.desc() if descending else key.asc()
    stmt = _keyset(stmt.add_columns(key.label("_key")), key, with_after, descending)
    return stmt.order_by(order).limit(sa.bindparam("limit"))


async def fetch_pages(
    conn: Conn,
    stmt: sa.Select[Any],
    *,
    parent: sa.ColumnElement[Any],
    parents: Sequence[Hashable],
    key: sa.ColumnElement[Any],
    first: int,
    after: Any,
    descending: bool,
    build: Callable[[Any], R],
    params: dict[str, Any] | None = None,
) -> dict[Hashable, Page[R]]:
    """One page per parent, all in one statement."""
    if len(parents) == 1:
        values = {"parent": parents[0], "limit": first + 1, **(params or {})}
        if after is not None:
            values["after"] = after
        rows = (await conn.execute(_one_parent_statement(stmt, parent, key, after is not None, descending),
                                   values)).all()
        return {parents[0]: _page(rows, first, after, build)}
    outer = _pages_statement(stmt, parent, key, after is not None, descending)
    values = {"parents": list(parents), "limit": first + 1, **(params or {})}
    if after is not None:
        values["after"] = after
    grouped: dict[Hashable, list[Any]] = defaultdict(list)
    for row in (await conn.execute(outer, values)).all():
        grouped[row._mapping["_parent"]].append(row)
    return {p: _page(grouped.get(p, []), first, after, build) for p in parents}


async def fetch_page(
    conn: Conn,
    stmt: sa.Select[Any],
    *,
    key: sa.ColumnElement[Any],
    first: int,
    after: Any,
    descending: bool,
    build: Callable[[Any], R],
    params: dict[str, Any] | None = None,
) -> Page[R]:
    """One page of a top-level list."""
    values = {"limit": first + 1, **(params or {})}
    if after is not None:
        values["after"] = after
    rows = (await conn.execute(_page_statement(stmt, key, after is not None, descending), values)).all()
    return _page(rows, first, after, build)


def _page(rows: Sequence[Any], first: int, after: Any, build: Callable[[Any], R]) -> Page[R]:
    """``rows`` holds up to first + 1 rows: the extra one only says there is a next page."""
    kept = rows[:first]
    return Page(
        items=[build(r) for r in kept],
        keys=[r._mapping["_key"] for r in kept],
        has_next=len(rows) > first,
        has_previous=after is not None,
    )


async def count_by_parent(
    conn: Conn, stmt: sa.Select[Any], parent: sa.ColumnElement[Any], parents: Sequence[Hashable],
    params: dict[str, Any] | None = None,
) -> dict[Hashable, int]:
    """Total rows per parent in one grouped statement (``totalCount``)."""
    grouped = (
        stmt.with_only_columns(parent, sa.func.count(), maintain_column_froms=True)
        .where(parent.in_(list(parents)))
        .group_by(parent)
    )
    counts = {row[0]: int(row[1]) for row in (await conn.execute(grouped, params or {})).all()}
    return {p: counts.get(p, 0) for p in parents}
