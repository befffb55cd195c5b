"""Lineage queries: the engine walks edges from the store; this module bounds, names and explains."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .. import ids, refs
from ..errors import BadInput, LimitExceeded, not_found_or_unreadable
from ..lineage import nogc
from ..lineage.engine import LineageResult, WalkRow, shortest_path, traverse
from ..lineage_kinds import Direction, NodeKey, kind_of, node, row_of
from ..store import links as link_store
from ..store import lineage as lineage_store
from ..store.lineage import Label
from ..records import LinkRec
from .runtime import Runtime
from ..store.db import Conn

MAX_DEPTH = 100
PREFETCH_LIMIT = 5_000  # the walk first loads the reachable set in one query if it has at most this many nodes
WIDE_ROOT = 50  # ...and if the start node has fewer edges than this (a hub's set never fits)
DEEP = 20  # from this depth on that query stops tracking hops (see store.lineage.closure)
MAX_LIMIT = 100_000
LINK_CHUNK = 5000
KIND_OF_TYPE = {"Run": "r", "ArtifactVersion": "v", "Dataset": "d"}
TYPE_OF_KIND = {v: k for k, v in KIND_OF_TYPE.items()}


RootCheck = Callable[[Label], bool]  # the caller's access check of a start node: may it read it?


@dataclass
class Lineage:
    result: LineageResult
    labels: dict[NodeKey, Label]


@dataclass
class PathFound:
    nodes: list[NodeKey]
    edges: list[tuple[NodeKey, NodeKey, str]]
    labels: dict[NodeKey, Label]


@dataclass
class Impact:
    link: LinkRec
    distance: int
    path: list[NodeKey]
    labels: dict[NodeKey, Label]


def node_key(global_id: str) -> NodeKey:
    type_name, row_id = ids.decode(global_id, *KIND_OF_TYPE)
    return node(KIND_OF_TYPE[type_name], row_id)


def node_id(key: NodeKey) -> str:
    return ids.encode(TYPE_OF_KIND[kind_of(key)], row_of(key))


def check_bounds(depth: int | None, limit: int | None) -> tuple[int, int]:
    depth = 5 if depth is None else depth
    limit = 1000 if limit is None else limit
    if depth < 0 or limit < 1:
        raise BadInput("depth must be >= 0 and limit >= 1")
    if depth > MAX_DEPTH or limit > MAX_LIMIT:
        raise LimitExceeded(f"depth is at most {MAX_DEPTH} and limit at most {MAX_LIMIT}")
    return depth, limit


def _fetcher(conn: Conn, as_of: datetime | None) -> Any:
    """Edges hop by hop: one batched query per hop and node kind (best for shallow or wide walks)."""

    async def fetch(kind: str, node_ids: Sequence[int], downstream: bool) -> Sequence[WalkRow]:
        return await lineage_store.walk_edges(conn, kind, node_ids, downstream=downstream, as_of=as_of)

    return fetch


async def _prefetched(conn: Conn, root: NodeKey, direction: Direction, depth: int, skip_runs: bool,
                      as_of: datetime | None) -> tuple[Any, bool]:
    """Edges of the reachable set, one recursive query per direction, if it has at most ``PREFETCH_LIMIT`` nodes.

    The engine then walks that in memory. Returns the fetcher and whether the
    set was complete; when it was too big (a hub), the walk goes hop by hop
    instead, with a statement per hop that stops at ``limit``.
    """
    # With skip_runs a run costs no hop, and paths alternate between runs and other nodes.
    bound = None if depth >= DEEP else (2 * depth + 1 if skip_runs else depth)
    loaded: dict[bool, dict[NodeKey, list[WalkRow]]] = {}
    for downstream in (False, True):
        if direction == (Direction.UPSTREAM if downstream else Direction.DOWNSTREAM):
            continue
        loaded[downstream], whole = await lineage_store.closure(
            conn, (kind_of(root), row_of(root)), downstream=downstream, limit=PREFETCH_LIMIT, depth=bound,
            as_of=as_of, wide=WIDE_ROOT,
        )
        if not whole:
            return None, False

    async def fetch(kind: str, row_ids: Sequence[int], downstream: bool) -> Sequence[WalkRow]:
        adjacency = loaded[downstream]
        return [row for i in row_ids for row in adjacency.get(node(kind, i), ())]

    return fetch, True


async def _require(conn: Conn, keys: Sequence[NodeKey], check: RootCheck | None) -> dict[NodeKey, Label]:
    """The start nodes' labels; one missing or refused by ``check`` (the caller's access check) answers the same
    NOT_FOUND, so nobody learns what an unreadable project holds."""
    labels = await _labels(conn, keys)
    for key in keys:
        if key not in labels or (check is not None and not check(labels[key])):
            raise not_found_or_unreadable(f"lineage node {node_id(key)}")
    return labels


async def lineage(
    rt: Runtime, *, root: NodeKey, direction: Direction, depth: int | None, limit: int | None,
    kinds: Collection[str] | None = None, skip_runs: bool = False, as_of: datetime | None = None,
    with_labels: bool = True, check: RootCheck | None = None,
) -> Lineage:
    depth, limit = check_bounds(depth, limit)
    with nogc.paused():
        return await _lineage(rt, root, direction, depth, limit, kinds, skip_runs, as_of, with_labels, check)


async def _lineage(
    rt: Runtime, root: NodeKey, direction: Direction, depth: int, limit: int, kinds: Collection[str] | None,
    skip_runs: bool, as_of: datetime | None, with_labels: bool, check: RootCheck | None,
) -> Lineage:
    async with rt.db.reader() as r:
        labels = await _require(r, [root], check)
        # Measured (bench/lineage.py): one recursive query beats a query per hop on narrow walks,
        # markedly on PostgreSQL where each hop is a round trip; wide ones go hop by hop.
        fetch, complete = await _prefetched(r, root, direction, depth, skip_runs, as_of)
        if not complete:
            fetch = _fetcher(r, as_of)
        result = await traverse(fetch, root, direction, depth=depth, limit=limit,
                                skip_runs=skip_runs, kinds=kinds)
        if with_labels:
            labels.update(await _labels(r, [n for n in result.nodes if n != root]))
    return Lineage(result=result, labels=labels)


async def path(rt: Runtime, *, source: NodeKey, target: NodeKey, as_of: datetime | None = None,
               check: RootCheck | None = None) -> PathFound | None:
    async with rt.db.reader() as r:
        await _require(r, [source, target], check)
        with nogc.paused():
            found = await shortest_path(_fetcher(r, as_of), source, target, depth=MAX_DEPTH, limit=MAX_LIMIT)
        if found is None:
            return None
        nodes, edges = found
        return PathFound(nodes=nodes, edges=edges, labels=await _labels(r, nodes))


async def impact(rt: Runtime, *, global_id: str, alias: str | None, as_of: datetime | None = None,
                 check: RootCheck | None = None) -> list[Impact]:
    """Registered-model links of every version downstream of a node, nearest first, each with its path back."""
    if alias is not None:
        refs.check_alias(alias)
    root = node_key(global_id)
    found = await lineage(rt, root=root, direction=Direction.DOWNSTREAM, depth=MAX_DEPTH, limit=MAX_LIMIT, as_of=as_of,
                          with_labels=False, check=check)
    versions = [row_of(n) for n in found.result.nodes if kind_of(n) == "v"]
    if not versions:
        return []
    links: list[LinkRec] = []
    async with rt.db.reader() as r:
        for start in range(0, len(versions), LINK_CHUNK):
            by_version = await link_store.links_of_versions(r, versions[start:start + LINK_CHUNK])
            links.extend(link for found_links in by_version.values() for link in found_links)
        if alias is not None:
            held = await link_store.alias_names_of(r, [(link.model_id, link.version_id) for link in links])
            links = [link for link in links if alias in held[(link.model_id, link.version_id)]]
    # The walk's breadth-first tree gives every link its shortest path back.
    paths = {link.id: found.result.path_from_root(node("v", link.version_id)) for link in links}
    async with rt.db.reader() as r:
        labels = await _labels(r, list({n for chain in paths.values() for n in chain}))
    out = [Impact(link=link, distance=found.result.distance[node("v", link.version_id)], path=paths[link.id],
                  labels=labels) for link in links]
    return sorted(out, key=lambda i: (i.distance, i.link.id))


async def _labels(conn: Conn, keys: Collection[NodeKey]) -> dict[NodeKey, Label]:
    by_kind: dict[str, list[int]] = {}
    for key in keys:
        by_kind.setdefault(kind_of(key), []).append(row_of(key))
    return await lineage_store.labels(conn, by_kind)


async def labels_of(rt: Runtime, *, keys: Collection[NodeKey]) -> dict[NodeKey, Label]:
    async with rt.db.reader() as r:
        return await _labels(r, keys)


async def neighbours(
    rt: Runtime, *, kind: str, node_ids: Sequence[int], downstream: bool, via: str | None = None
) -> dict[int, list[tuple[str, int, str]]]:
    """Each node's one-hop neighbours (kind, id, edge kind), in one statement: a nested field's batch."""
    async with rt.db.reader() as r:
        return await lineage_store.neighbours(r, kind, node_ids, downstream=downstream, via=via)
