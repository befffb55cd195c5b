"""Pages and counts of the named lists, and batches of records by key: the reads the API's loaders make.

The SQL is in ``store/lists.py`` and ``store/batches.py``; here is what a caller
may ask for (page sizes are checked against the configured maximum) and the
short read each answer takes.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from ..errors import BadInput, LimitExceeded
from ..list_names import Batch, ListName
from ..records import Page
from ..store import batches as batch_store
from ..store import lists as list_store
from .runtime import Runtime

DEFAULT_PAGE = 50


def page_size(rt: Runtime, *, first: int | None) -> int:
    """The page size a list's ``first`` argument asks for: the default when absent, refused when out of range."""
    if first is None:
        return DEFAULT_PAGE
    if first < 0:
        raise BadInput(f"first must be >= 0, got {first}")
    if first > rt.settings.max_page_size:
        raise LimitExceeded(f"first is {first}; ask for at most {rt.settings.max_page_size} and page with `after`")
    return first


async def pages(
    rt: Runtime, *, name: ListName, parents: Sequence[Hashable], first: int, after: Any, arg: Any = None
) -> dict[Hashable, Page[Any]]:
    async with rt.db.reader() as r:
        return await list_store.pages_of(r, name, parents, first=first, after=after, arg=arg)


async def counts(rt: Runtime, *, name: ListName, parents: Sequence[Hashable], arg: Any = None) -> dict[Hashable, int]:
    async with rt.db.reader() as r:
        return await list_store.counts_of(r, name, parents, arg=arg)


async def batch(rt: Runtime, *, kind: Batch, keys: Sequence[Hashable]) -> dict[Any, Any]:
    async with rt.db.reader() as r:
        return await batch_store.read_batch(r, kind, keys)
