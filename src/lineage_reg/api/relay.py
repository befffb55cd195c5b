"""Relay-style connections with keyset cursors and a lazily counted ``totalCount``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from typing import Any, Generic, TypeVar

import strawberry

from .. import ids
from ..list_names import ListName
from ..services import lists
from .context import Info

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Total items in the list, all pages together (one extra query when asked for).")
    async def total_count(self, info: Info) -> int:
        return await self._count()


async def connection(
    info: Info, name: ListName, parent: Hashable, convert: Callable[[Any], T], *,
    first: int | None, after: str | None, arg: Any = None,
) -> Connection[T]:
    """One page of list ``name`` under ``parent``, batched with its siblings."""
    loaders = info.context.loaders
    size = lists.page_size(info.context.rt, first=first)
    after_key = ids.decode_cursor(after) if after else None
    page = await loaders.page(name, parent, first=size, after=after_key, arg=arg)
    cursors = [ids.encode_cursor(k) for k in page.keys]
    return Connection(
        edges=[Edge(cursor=c, node=convert(item)) for c, item in zip(cursors, page.items, strict=True)],
        page_info=PageInfo(
            has_next_page=page.has_next,
            has_previous_page=page.has_previous,
            start_cursor=cursors[0] if cursors else None,
            end_cursor=cursors[-1] if cursors else None,
        ),
        _count=lambda: loaders.count(name, parent, arg=arg),
    )
