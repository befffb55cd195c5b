"""Breadth-first loading of a node's neighbourhood, one batched edge query per hop and node kind.

Only what is reachable from the start node, within ``depth`` hops and
``limit`` nodes, is ever read; the result is a networkx DiGraph on which
layers (topological generations) and paths are computed. UPSTREAM follows
edges backwards only, DOWNSTREAM forwards only, BOTH is their union: siblings
(other outputs of an input's run) never creep in. Cycles, which concurrent
runs can create, are tolerated: each node is expanded once and layers are
computed on the graph's condensation.

With ``skip_runs`` a run costs no hop (version → version lineage) and runs
are left out of the answer; ``kinds`` leaves out other kinds the same way.
A left-out node's predecessors are joined to its successors by a ``derived``
edge, so the answer stays connected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from enum import Enum

import networkx as nx

NodeKey = tuple[str, int]  # ("r" | "v" | "d", row id)
EdgeRow = tuple[str, int, str]  # (other kind, other id, edge kind)
Fetch = Callable[[str, Sequence[int], bool], Awaitable[dict[int, list[EdgeRow]]]]
RUN = "r"
EXPAND_SLICE = 2000  # nodes per edge query within one level


class Direction(Enum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


Edge = tuple[NodeKey, NodeKey]


@dataclass
class LineageResult:
    root: NodeKey
    graph: nx.DiGraph
    distance: dict[NodeKey, int]
    edge_kind: dict[Edge, str]
    layer: dict[NodeKey, int] = field(default_factory=dict)
    truncated: bool = False


@dataclass
class _Walk:
    fetch: Fetch
    downstream: bool
    depth: int
    limit: int
    skip_runs: bool
    graph: nx.DiGraph
    distance: dict[NodeKey, int]
    edge_kind: dict[Edge, str]
    target: NodeKey | None = None
    found: bool = False

    async def run(self, root: NodeKey) -> bool:
        """Grow the graph from ``root`` one way; True when depth or limit cut it short."""
        frontier = [root]
        expanded = {root}
        hop = 0
        while frontier:
            if hop == self.depth:
                return await self._has_more(frontier)
            next_frontier: list[NodeKey] = []
            level = frontier
            while level:  # runs reached with skip_runs join the level they were found on
                same_level: list[NodeKey] = []
                edges: list[Edge] = []
                try:
                    # Slices of the level: a walk that hits the limit stops fetching early.
                    for first in range(0, len(level), EXPAND_SLICE):
                        for here, rows in await self._expand(level[first:first + EXPAND_SLICE]):
                            for other_kind, other_id, edge_kind in rows:
                                there = (other_kind, other_id)
                                d = hop if (self.skip_runs and other_kind == RUN) else hop + 1
                                if there not in self.distance:
                                    if len(self.distance) >= self.limit:
                                        return True
                                    self.distance[there] = d
                                edge = (here, there) if self.downstream else (there, here)
                                edges.append(edge)
                                self.edge_kind[edge] = edge_kind
                                if there == self.target:
                                    self.found = True
                                    return False
                                if there not in expanded:
                                    expanded.add(there)
                                    (same_level if d == hop else next_frontier).append(there)
                finally:
                    self.graph.add_edges_from(edges)  # one bulk insert per level
                level = same_level
            frontier = next_frontier
            hop += 1
        return False

    async def _expand(self, nodes: list[NodeKey]) -> list[tuple[NodeKey, list[EdgeRow]]]:
        by_kind: dict[str, list[int]] = {}
        for kind, node_id in nodes:
            by_kind.setdefault(kind, []).append(node_id)
        out = []
        for kind, node_ids in by_kind.items():
            rows = await self.fetch(kind, node_ids, self.downstream)
            out.extend(((kind, i), rows.get(i, [])) for i in node_ids)
        return out

    async def _has_more(self, frontier: list[NodeKey]) -> bool:
        return any(rows for _, rows in await self._expand(frontier))


def layers(graph: nx.DiGraph) -> dict[NodeKey, int]:
    """Topological generation of each node; nodes on a cycle share their component's layer."""
    try:
        return {n: i for i, gen in enumerate(nx.topological_generations(graph)) for n in gen}
    except nx.NetworkXUnfeasible:
        pass  # a cycle: lay out the condensation instead
    condensed = nx.condensation(graph)
    members = condensed.graph["mapping"]
    comp_layer = {c: i for i, gen in enumerate(nx.topological_generations(condensed)) for c in gen}
    return {n: comp_layer[members[n]] for n in graph.nodes}


def _hide(graph: nx.DiGraph, edge_kind: dict[Edge, str], hidden: Collection[NodeKey]) -> None:
    """Remove nodes, joining each one's predecessors to its successors."""
    for node in hidden:
        preds = [p for p in graph.predecessors(node) if p != node]
        succs = [s for s in graph.successors(node) if s != node]
        for p in preds:
            for s in succs:
                if p != s and not graph.has_edge(p, s):
                    graph.add_edge(p, s)
                    edge_kind[(p, s)] = "derived"
        graph.remove_node(node)


async def traverse(
    fetch: Fetch, root: NodeKey, direction: Direction, *, depth: int, limit: int,
    skip_runs: bool = False, kinds: Collection[str] | None = None,
) -> LineageResult:
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_node(root)
    distance: dict[NodeKey, int] = {root: 0}
    edge_kind: dict[Edge, str] = {}
    truncated = False
    for downstream in (False, True):
        if direction == (Direction.UPSTREAM if downstream else Direction.DOWNSTREAM):
            continue
        walk = _Walk(fetch, downstream, depth, limit, skip_runs, graph, distance, edge_kind)
        truncated |= await walk.run(root)
    # Edges to nodes cut off by the limit lead nowhere we may show.
    graph.remove_nodes_from([n for n in list(graph.nodes) if n not in distance])
    hidden = [n for n in graph.nodes if n != root and ((skip_runs and n[0] == RUN) or (kinds and n[0] not in kinds))]
    _hide(graph, edge_kind, hidden)
    for n in hidden:
        distance.pop(n, None)
    return LineageResult(root=root, graph=graph, distance=distance, edge_kind=edge_kind, layer=layers(graph),
                         truncated=truncated)


async def shortest_path(fetch: Fetch, source: NodeKey, target: NodeKey, *, depth: int, limit: int) -> list[NodeKey] | None:
    """One shortest path between two nodes, following edges either way round; None when unconnected.

    Breadth-first from ``source`` downstream, then upstream, stopping as soon
    as ``target`` is reached: never enumerates paths.
    """
    if source == target:
        return [source]
    for downstream in (True, False):
        graph: nx.DiGraph = nx.DiGraph()
        graph.add_node(source)
        walk = _Walk(fetch, downstream, depth, limit, False, graph, {source: 0}, {}, target=target)
        await walk.run(source)
        if walk.found:
            path = nx.shortest_path(graph, source, target) if downstream else nx.shortest_path(graph, target, source)
            return list(path) if downstream else list(reversed(path))
    return None
