"""Lineage queries: the engine walks edges from the store; this module bounds, names and explains."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import networkx as nx

from .. import ids, refs
from ..errors import BadInput, LimitExceeded, NotFound
from ..lineage.engine import Direction, EdgeRow, LineageResult, NodeKey, shortest_path, traverse
from ..store import links as link_store
from ..store import lineage as lineage_store
from ..store.records import LinkRec
from .runtime import Runtime

MAX_DEPTH = 100
DEEP = 20  # from this depth on, try loading the reachable set in one recursive query
PREFETCH_LIMIT = 5_000  # ...if it has at most this many nodes (wide walks waste at most this)
WIDE_ROOT = 50  # ...and if the root has at most this many neighbours
MAX_LIMIT = 100_000
LINK_CHUNK = 5000
KIND_OF_TYPE = {"Run": "r", "ArtifactVersion": "v", "Dataset": "d"}
TYPE_OF_KIND = {v: k for k, v in KIND_OF_TYPE.items()}


class Label(NamedTuple):
    """A node's display name and its project (None for datasets), so callers can hide what they may not read."""

    text: str
    project_id: int | None


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
    return KIND_OF_TYPE[type_name], row_id


def node_id(key: NodeKey) -> str:
    return ids.encode(TYPE_OF_KIND[key[0]], key[1])


def check_bounds(depth: int | None, limit: int | None) -> tuple[int, int]:
    depth = 5 if depth is None else depth
    limit = 1000 if limit is None else limit
    if depth < 0 or limit < 1:
        raise BadInput("depth must be >= 0 and limit >= 1")
    if depth > MAX_DEPTH or limit > MAX_LIMIT:
        raise LimitExceeded(f"depth is at most {MAX_DEPTH} and limit at most {MAX_LIMIT}")
    return depth, limit


def _fetcher(conn: Any, as_of: datetime | None) -> Any:
    """Edges hop by hop: one batched query per hop and node kind (best for shallow or wide walks)."""

    async def fetch(kind: str, node_ids: Sequence[int], downstream: bool) -> dict[int, list[EdgeRow]]:
        return await lineage_store.neighbours(conn, kind, node_ids, downstream=downstream, as_of=as_of, ordered=False)

    return fetch


async def _wide(fetch: Any, root: NodeKey, direction: Direction) -> bool:
    """A root with many neighbours (a hub dataset) starts a wide walk: hop by hop wins there."""
    found = 0
    for downstream in (False, True):
        if direction != (Direction.UPSTREAM if downstream else Direction.DOWNSTREAM):
            found += len((await fetch(root[0], [root[1]], downstream))[root[1]])
    return found > WIDE_ROOT


async def _prefetched(conn: Any, dialect: str, root: NodeKey, direction: Direction, limit: int,
                      as_of: datetime | None) -> tuple[Any, bool]:
    """Edges of the whole reachable set, one recursive query per direction (best for deep, narrow walks).

    The engine then walks that in memory. Returns the fetcher and whether the
    set was complete; when ``limit`` cut it, the walk falls back to hop-by-hop
    queries so depth, distances and ``truncated`` stay exact.
    """
    loaded: dict[bool, dict[NodeKey, list[EdgeRow]]] = {}
    complete = True
    for downstream in (False, True):
        if direction == (Direction.UPSTREAM if downstream else Direction.DOWNSTREAM):
            continue
        loaded[downstream], whole = await lineage_store.closure(
            conn, dialect, root, downstream=downstream, limit=limit, as_of=as_of
        )
        complete &= whole

    async def fetch(kind: str, node_ids: Sequence[int], downstream: bool) -> dict[int, list[EdgeRow]]:
        adjacency = loaded[downstream]
        return {i: adjacency.get((kind, i), []) for i in node_ids}

    return fetch, complete


async def _require(conn: Any, root: NodeKey) -> dict[NodeKey, str]:
    labels = await _labels(conn, [root])
    if root not in labels:
        raise NotFound(f"lineage node {node_id(root)} not found")
    return labels


async def lineage(
    rt: Runtime, root: NodeKey, direction: Direction, *, depth: int | None, limit: int | None,
    kinds: Collection[str] | None = None, skip_runs: bool = False, as_of: datetime | None = None,
    with_labels: bool = True,
) -> Lineage:
    depth, limit = check_bounds(depth, limit)
    async with rt.db.reader() as r:
        labels = await _require(r, root)
        fetch = _fetcher(r, as_of)
        if depth >= DEEP and not await _wide(fetch, root, direction):
            # Measured (bench/lineage.py): one recursive query beats a query per hop on deep walks,
            # markedly on PostgreSQL where each hop is a round trip; a cut-off set falls back.
            prefetched, complete = await _prefetched(r, rt.db.dialect, root, direction, PREFETCH_LIMIT, as_of)
            if complete:
                fetch = prefetched
        result = await traverse(fetch, root, direction, depth=depth, limit=limit,
                                skip_runs=skip_runs, kinds=kinds)
        if with_labels:
            labels.update(await _labels(r, [n for n in result.graph.nodes if n != root]))
    return Lineage(result=result, labels=labels)


async def path(rt: Runtime, source: NodeKey, target: NodeKey, *, as_of: datetime | None = None) -> PathFound | None:
    async with rt.db.reader() as r:
        await _require(r, source)
        await _require(r, target)
        nodes = await shortest_path(_fetcher(r, as_of), source, target, depth=MAX_DEPTH, limit=MAX_LIMIT)
        if nodes is None:
            return None
        edges = await _path_edges(r, nodes, as_of)
        return PathFound(nodes=nodes, edges=edges, labels=await _labels(r, nodes))


async def _path_edges(conn: Any, nodes: list[NodeKey], as_of: datetime | None) -> list[tuple[NodeKey, NodeKey, str]]:
    """The stored edge between each consecutive pair, in whichever direction it runs."""
    out = []
    for a, b in zip(nodes, nodes[1:], strict=False):
        forward = await lineage_store.neighbours(conn, a[0], [a[1]], downstream=True, as_of=as_of, ordered=False)
        kind = next((k for ok, oi, k in forward[a[1]] if (ok, oi) == b), None)
        if kind is not None:
            out.append((a, b, kind))
        else:
            back = await lineage_store.neighbours(conn, b[0], [b[1]], downstream=True, as_of=as_of, ordered=False)
            out.append((b, a, next(k for ok, oi, k in back[b[1]] if (ok, oi) == a)))
    return out


async def impact(rt: Runtime, global_id: str, alias: str | None, *, as_of: datetime | None = None) -> list[Impact]:
    """Registered-model links of every version downstream of a node, nearest first, each with its path back."""
    if alias is not None:
        refs.check_alias(alias)
    root = node_key(global_id)
    found = await lineage(rt, root, Direction.DOWNSTREAM, depth=MAX_DEPTH, limit=MAX_LIMIT, as_of=as_of,
                          with_labels=False)
    versions = [n[1] for n in found.result.graph.nodes if n[0] == "v"]
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
    # One breadth-first tree from the root gives every link its shortest path back.
    tree = nx.predecessor(found.result.graph, root)
    paths = {}
    for link in links:
        chain = [("v", link.version_id)]
        while chain[-1] != root:
            chain.append(tree[chain[-1]][0])
        paths[link.id] = chain[::-1]
    async with rt.db.reader() as r:
        labels = await _labels(r, list({n for chain in paths.values() for n in chain}))
    out = [Impact(link=link, distance=found.result.distance[("v", link.version_id)], path=paths[link.id],
                  labels=labels) for link in links]
    return sorted(out, key=lambda i: (i.distance, i.link.id))


async def _labels(conn: Any, keys: Sequence[NodeKey]) -> dict[NodeKey, Label]:
    by_kind: dict[str, list[int]] = {}
    for kind, row_id in keys:
        by_kind.setdefault(kind, []).append(row_id)
    out: dict[NodeKey, Label] = {}
    for kind, row_ids in by_kind.items():
        out.update(((kind, i), Label(*found)) for i, found in (await lineage_store.labels(conn, kind, row_ids)).items())
    return out


async def labels_of(rt: Runtime, keys: Sequence[NodeKey]) -> dict[NodeKey, Label]:
    async with rt.db.reader() as r:
        return await _labels(r, keys)
