"""Breadth-first loading of a node's neighbourhood, one batched edge query per hop.

Only what is reachable from the start node, within ``depth`` hops and
``limit`` nodes, is ever read; the result is a networkx DiGraph on which
layers (topological generations) are computed. UPSTREAM follows edges
backwards only, DOWNSTREAM forwards only, BOTH is their union: siblings
(other outputs of an input's run) never creep in. Cycles, which concurrent
runs can create, are tolerated: each node is visited once and layers are
computed on the graph's condensation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum

import networkx as nx

NodeKey = tuple[str, int]  # ("r" | "v" | "d", row id)
EdgeRow = tuple[str, int, str]  # (other kind, other id, edge kind)
Fetch = Callable[[str, Sequence[int], bool], Awaitable[dict[int, list[EdgeRow]]]]


class Direction(Enum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


@dataclass
class LineageResult:
    root: NodeKey
    graph: nx.DiGraph
    distance: dict[NodeKey, int]
    layer: dict[NodeKey, int] = field(default_factory=dict)
    truncated: bool = False


async def _walk(fetch: Fetch, root: NodeKey, *, downstream: bool, depth: int, limit: int,
                graph: nx.DiGraph, distance: dict[NodeKey, int]) -> bool:
    """Grow ``graph`` from ``root`` one way; True when depth or limit cut it short."""
    frontier = [root]
    seen = {root}
    hop = 0
    while frontier:
        if hop == depth:
            # Anything further out? One cheap probe decides ``truncated``.
            return await _has_more(fetch, frontier, downstream)
        by_kind: dict[str, list[int]] = {}
        for kind, node_id in frontier:
            by_kind.setdefault(kind, []).append(node_id)
        next_frontier: list[NodeKey] = []
        for kind, node_ids in by_kind.items():
            rows = await fetch(kind, node_ids, downstream)
            for node_id in node_ids:
                here = (kind, node_id)
                for other_kind, other_id, edge_kind in rows.get(node_id, []):
                    there = (other_kind, other_id)
                    if there not in distance:
                        if len(distance) >= limit:
                            return True
                        distance[there] = hop + 1
                    src, dst = (here, there) if downstream else (there, here)
                    graph.add_edge(src, dst, kind=edge_kind)
                    if there not in seen:
                        seen.add(there)
                        next_frontier.append(there)
        frontier = next_frontier
        hop += 1
    return False


async def _has_more(fetch: Fetch, frontier: list[NodeKey], downstream: bool) -> bool:
    by_kind: dict[str, list[int]] = {}
    for kind, node_id in frontier:
        by_kind.setdefault(kind, []).append(node_id)
    for kind, node_ids in by_kind.items():
        if any((await fetch(kind, node_ids, downstream)).values()):
            return True
    return False


def layers(graph: nx.DiGraph) -> dict[NodeKey, int]:
    """Topological generation of each node; nodes on a cycle share their component's layer."""
    if nx.is_directed_acyclic_graph(graph):
        return {n: i for i, gen in enumerate(nx.topological_generations(graph)) for n in gen}
    condensed = nx.condensation(graph)
    members = condensed.graph["mapping"]
    comp_layer = {c: i for i, gen in enumerate(nx.topological_generations(condensed)) for c in gen}
    return {n: comp_layer[members[n]] for n in graph.nodes}


async def traverse(fetch: Fetch, root: NodeKey, direction: Direction, *, depth: int, limit: int) -> LineageResult:
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_node(root)
    distance: dict[NodeKey, int] = {root: 0}
    truncated = False
    if direction in (Direction.UPSTREAM, Direction.BOTH):
        truncated |= await _walk(fetch, root, downstream=False, depth=depth, limit=limit, graph=graph, distance=distance)
    if direction in (Direction.DOWNSTREAM, Direction.BOTH):
        truncated |= await _walk(fetch, root, downstream=True, depth=depth, limit=limit, graph=graph, distance=distance)
    # Drop edges to nodes cut off by the limit (they were never given a distance).
    graph.remove_nodes_from([n for n in list(graph.nodes) if n not in distance])
    return LineageResult(root=root, graph=graph, distance=distance, layer=layers(graph), truncated=truncated)
