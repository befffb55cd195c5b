"""Keyset pagination, for one parent or for many parents in one query.

A page is ordered by a unique key (a row id, an index, a file path); the cursor is the
key of the last row seen. Pages for many parents come from one statement with
``ROW_NUMBER() OVER (PARTITION BY parent ...)``, so a list of projects each
showing its first runs costs one query, not one per project.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

R = TypeVar("R")


@dataclass(slots=True)
class Page(Generic[R]):
    items: list[R]
    keys: list[Any]
    has_next: bool
    has_previous: bool


def _keyset(stmt: sa.Select[Any], key: sa.ColumnElement[Any], after: Any, descending: bool) -> sa.Select[Any]:
    if after is not None:
        stmt = stmt.where(key < after if descending else key > after)
    return stmt


async def fetch_pages(
    conn: Any,
    stmt: sa.Select[Any],
    *,
    parent: sa.ColumnElement[Any],
    parents: Sequence[Hashable],
    key: sa.ColumnElement[Any],
    first: int,
    after: Any,
    descending: bool,
    build: Callable[[Any], R],
) -> dict[Hashable, Page[R]]:
    """One page per parent, all in one statement."""
    order = key.desc() if descending else key.asc()
    rn = sa.func.row_number().over(partition_by=parent, order_by=order).label("_rn")
    inner = _keyset(stmt.add_columns(rn, parent.label("_parent"), key.label("_key")), key, after, descending)
    inner = inner.where(parent.in_(list(parents))).subquery()
    outer = sa.select(inner).where(inner.c["_rn"] <= first + 1).order_by(inner.c["_parent"], inner.c["_rn"])
    grouped: dict[Hashable, list[Any]] = defaultdict(list)
    for row in (await conn.execute(outer)).all():
        grouped[row._mapping["_parent"]].append(row)
    pages: dict[Hashable, Page[R]] = {}
    for p in parents:
        rows = grouped.get(p, [])
        kept = rows[:first]
        pages[p] = Page(
            items=[build(r) for r in kept],
            keys=[r._mapping["_key"] for r in kept],
            has_next=len(rows) > first,
            has_previous=after is not None,
        )
    return pages


async def fetch_page(
    conn: Any,
    stmt: sa.Select[Any],
    *,
    key: sa.ColumnElement[Any],
    first: int,
    after: Any,
    descending: bool,
    build: Callable[[Any], R],
) -> Page[R]:
    """One page of a top-level list."""
    order = key.desc() if descending else key.asc()
    stmt = _keyset(stmt.add_columns(key.label("_key")), key, after, descending).order_by(order).limit(first + 1)
    rows = (await conn.execute(stmt)).all()
    kept = rows[:first]
    return Page(
        items=[build(r) for r in kept],
        keys=[r._mapping["_key"] for r in kept],
        has_next=len(rows) > first,
        has_previous=after is not None,
    )


async def count_by_parent(
    conn: Any, stmt: sa.Select[Any], parent: sa.ColumnElement[Any], parents: Sequence[Hashable]
) -> dict[Hashable, int]:
    """Total rows per parent in one grouped statement (``totalCount``)."""
    grouped = (
        stmt.with_only_columns(parent, sa.func.count(), maintain_column_froms=True)
        .where(parent.in_(list(parents)))
        .group_by(parent)
    )
    counts = {row[0]: int(row[1]) for row in (await conn.execute(grouped)).all()}
    return {p: counts.get(p, 0) for p in parents}
