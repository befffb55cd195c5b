"""DataLoaders: every nested field batches through here, one statement per kind of read.

Record loaders fetch rows by id. List loaders are keyed by (list, page size,
cursor, filter): all parents asking for the same page of the same list are
answered by one windowed statement. Each load opens its own short read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from strawberry.dataloader import DataLoader

from ..list_names import Batch, ListName
from ..services import lineage, lists, protection
from ..services import metrics as metric_service
from ..services.runtime import Runtime
from ..records import Page

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class SharedLoader(DataLoader[K, V]):
    """A DataLoader whose answers survive one waiter being cancelled.

    Loads of one key share one future. When a field error makes graphql-core
    cancel a sibling's task, that task's ``await`` would cancel the shared future
    too, and every other field waiting on it would fail with CancelledError (a
    500). Each waiter gets a shield instead."""

    def load(self, key: K) -> Awaitable[V]:  # type: ignore[override]
        return asyncio.shield(super().load(key))


def _keyed(fetch: Callable[[list[K]], Awaitable[dict[K, V]]], default: Any = None) -> DataLoader[K, V]:
    async def load(keys: list[K]) -> list[V]:
        found = await fetch(keys)
        return [found.get(k, default) for k in keys]

    return SharedLoader(load_fn=load)


def _by_key(rt: Runtime, kind: Batch, default: Any = None) -> DataLoader[Any, Any]:
    return _keyed(lambda keys: lists.batch(rt, kind=kind, keys=keys), default)


class Loaders:
    def __init__(self, rt: Runtime) -> None:
        self._rt = rt
        self.project = _by_key(rt, Batch.PROJECTS)
        self.collection = _by_key(rt, Batch.COLLECTIONS)
        self.version = _by_key(rt, Batch.VERSIONS)
        self.run = _by_key(rt, Batch.RUNS)
        self.dataset = _by_key(rt, Batch.DATASETS)
        self.link = _by_key(rt, Batch.LINKS)
        self.event = _by_key(rt, Batch.EVENTS)
        self.links_of_version = _by_key(rt, Batch.LINKS_OF_VERSIONS, default=[])
        self.aliases_of_collection = _by_key(rt, Batch.ALIASES_OF_COLLECTIONS, default=[])
        self.alias_names = _by_key(rt, Batch.ALIAS_NAMES, default=[])
        self.metric_summaries = _by_key(rt, Batch.METRIC_SUMMARIES, default=[])
        self.run_metric_summaries = _by_key(rt, Batch.RUN_METRIC_SUMMARIES, default=[])
        self.metric_rule = _by_key(rt, Batch.METRIC_RULES)
        self.metric_rules_of_collection = _by_key(rt, Batch.METRIC_RULES_OF_COLLECTIONS, default=[])
        self.comment = _by_key(rt, Batch.COMMENTS)
        self.card = _by_key(rt, Batch.CARDS)
        self.promotion_request = _by_key(rt, Batch.PROMOTION_REQUESTS)
        self.reviews_of_request = _by_key(rt, Batch.REVIEWS_OF_REQUESTS, default=[])
        self.pending_of_collection = _by_key(rt, Batch.PENDING_OF_COLLECTIONS, default=[])
        self.policies_of_collection = _by_key(rt, Batch.POLICIES_OF_COLLECTIONS, default=[])
        self.protected_aliases = _keyed(lambda keys: protection.protected_many(rt, keys=keys), default=())
        self._pages: dict[tuple[Any, ...], DataLoader[Hashable, Page[Any]]] = {}
        self._counts: dict[tuple[Any, ...], DataLoader[Hashable, int]] = {}
        self._points: dict[tuple[Any, ...], DataLoader[Any, Any]] = {}
        self._neighbours: dict[tuple[Any, ...], DataLoader[int, list[tuple[str, int, str]]]] = {}

    def page(self, name: ListName, parent: Hashable, *, first: int, after: Any, arg: Any = None) -> Awaitable[Page[Any]]:
        key = (name, first, after, arg)
        loader = self._pages.get(key)
        if loader is None:
            rt = self._rt

            async def load(parents: list[Hashable]) -> list[Page[Any]]:
                found = await lists.pages(rt, name=name, parents=parents, first=first, after=after, arg=arg)
                return [found[p] for p in parents]

            loader = self._pages[key] = SharedLoader(load_fn=load)
        return loader.load(parent)

    def count(self, name: ListName, parent: Hashable, *, arg: Any = None) -> Awaitable[int]:
        key = (name, arg)
        loader = self._counts.get(key)
        if loader is None:
            rt = self._rt

            async def load(parents: list[Hashable]) -> list[int]:
                found = await lists.counts(rt, name=name, parents=parents, arg=arg)
                return [found[p] for p in parents]

            loader = self._counts[key] = SharedLoader(load_fn=load)
        return loader.load(parent)

    def neighbours(self, kind: str, node_id: int, *, downstream: bool, via: str) -> Awaitable[list[tuple[str, int, str]]]:
        key = (kind, downstream, via)
        loader = self._neighbours.get(key)
        if loader is None:
            rt = self._rt

            async def load(node_ids: list[int]) -> list[list[tuple[str, int, str]]]:
                found = await lineage.neighbours(rt, kind=kind, node_ids=node_ids, downstream=downstream, via=via)
                return [found[n] for n in node_ids]

            loader = self._neighbours[key] = SharedLoader(load_fn=load)
        return loader.load(node_id)

    def points(self, key: tuple[int, str, str], *, first: int, after: Any, since: Any) -> Awaitable[Any]:
        """A page of one metric series' points (``metric_service.points_pages``), batched with every series
        asking for the same page."""
        loader_key = ("page", first, after, since)
        loader = self._points.get(loader_key)
        if loader is None:
            rt = self._rt

            async def load(keys: list[tuple[int, str, str]]) -> list[Any]:
                found = await metric_service.points_pages(rt, keys=keys, first=first, after=after, since=since)
                return [found[k] for k in keys]

            loader = self._points[loader_key] = SharedLoader(load_fn=load)
        return loader.load(key)

    def points_count(self, key: tuple[int, str, str], *, since: Any) -> Awaitable[int]:
        loader_key = ("count", since)
        loader = self._points.get(loader_key)
        if loader is None:
            rt = self._rt

            async def load(keys: list[tuple[int, str, str]]) -> list[int]:
                found = await metric_service.points_counts(rt, keys=keys, since=since)
                return [found[k] for k in keys]

            loader = self._points[loader_key] = SharedLoader(load_fn=load)
        return loader.load(key)
