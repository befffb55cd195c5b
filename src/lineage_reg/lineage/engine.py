"""Breadth-first loading of a node's neighbourhood, one batched edge query per hop and node kind.

Only what is reachable from the start node, within ``depth`` hops and
``limit`` nodes, is ever read. UPSTREAM follows edges backwards only,
DOWNSTREAM forwards only, BOTH is their union: siblings (other outputs of an
input's run) never creep in. Cycles, which concurrent runs can create, are
tolerated: each node is expanded once and layers are computed on the graph's
condensation (networkx).

The answer is kept as plain dicts and lists (distances, edges, the breadth-first tree)
and layers come from our own Kahn pass: measured on a 50,000-node walk,
building a networkx DiGraph and its topological generations took as long as
every edge query together (``docs/performance.md``). ``to_networkx()`` gives
the graph to callers that want networkx's algorithms.

With ``skip_runs`` a run costs no hop (version → version lineage) and runs
are left out of the answer; ``kinds`` leaves out other kinds the same way.
A left-out node's predecessors are joined to its successors by a ``derived``
edge, so the answer stays connected.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field

import networkx as nx

from ..lineage_kinds import KIND_CODE, KIND_OF_CODE, Direction, Edge, NodeKey, edge_kind

WalkRow = tuple[NodeKey, NodeKey]  # (the node walked from, the node reached)
Fetch = Callable[[str, Sequence[int], bool], Awaitable[Sequence[WalkRow]]]
_KIND = KIND_OF_CODE
RUN = KIND_CODE["r"]
EXPAND_SLICE = 2000  # nodes per edge query within one level


@dataclass
class LineageResult:
    root: NodeKey
    distance: dict[NodeKey, int]  # every node of the answer: hops from the root
    edges: list[Edge]  # every edge between them, once (kinds: ``edge_kind``)
    parent: dict[NodeKey, NodeKey]  # breadth-first tree: the node each one was first reached from
    layer: dict[NodeKey, int] = field(default_factory=dict)
    truncated: bool = False

    @property
    def nodes(self) -> Collection[NodeKey]:
        return self.distance.keys()

    def path_from_root(self, node: NodeKey) -> list[NodeKey]:
        """A shortest path from the root to ``node`` (through the breadth-first tree)."""
        chain = [node]
        while chain[-1] != self.root:
            chain.append(self.parent[chain[-1]])
        return chain[::-1]

    def to_networkx(self) -> nx.DiGraph:
        graph: nx.DiGraph = nx.DiGraph()
        graph.add_nodes_from((n, {"distance": d, "layer": self.layer.get(n, 0)}) for n, d in self.distance.items())
        graph.add_edges_from((s, t, {"kind": edge_kind((s, t))}) for s, t in self.edges)
        return graph


@dataclass
class _Walk:
    fetch: Fetch
    downstream: bool
    depth: int
    limit: int
    skip_runs: bool
    distance: dict[NodeKey, int]
    edges: list[Edge]
    parent: dict[NodeKey, NodeKey]
    target: NodeKey | None = None
    found: bool = False

    async def run(self, root: NodeKey) -> bool:
        """Grow the answer from ``root`` one way; True when depth or limit cut it short."""
        # The loop below runs once per edge read (millions on big walks): everything it uses is a local.
        distance, edges, parent, limit, downstream = self.distance, self.edges, self.parent, self.limit, self.downstream
        target, skip_runs = self.target, self.skip_runs
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
                # Slices of the level: a walk that hits the limit stops fetching early.
                for first in range(0, len(level), EXPAND_SLICE):
                    for rows in await self._expand(level[first:first + EXPAND_SLICE]):
                        for here, there in rows:
                            if there not in distance:
                                if len(distance) >= limit:
                                    return True
                                distance[there] = hop if (skip_runs and there & 3 == RUN) else hop + 1
                                parent[there] = here
                            # Each edge is read once per direction: a list needs no lookups (see traverse).
                            edges.append((here, there) if downstream else (there, here))
                            if there not in expanded:
                                if there == target:
                                    self.found = True
                                    return False
                                expanded.add(there)
                                if skip_runs and there & 3 == RUN:
                                    same_level.append(there)
                                else:
                                    next_frontier.append(there)
                level = same_level
            frontier = next_frontier
            hop += 1
        return False

    async def _expand(self, nodes: list[NodeKey]) -> list[Sequence[WalkRow]]:
        by_kind: dict[int, list[int]] = {}
        for key in nodes:
            by_kind.setdefault(key & 3, []).append(key >> 2)
        return [await self.fetch(_KIND[code], row_ids, self.downstream) for code, row_ids in by_kind.items()]

    async def _has_more(self, frontier: list[NodeKey]) -> bool:
        return any(await self._expand(frontier))


def layers(nodes: Iterable[NodeKey], edges: Collection[Edge]) -> dict[NodeKey, int]:
    """Topological generation of each node (Kahn's algorithm, as networkx's ``topological_generations``);
    nodes on a cycle share their component's layer."""
    indegree = dict.fromkeys(nodes, 0)
    successors: dict[NodeKey, list[NodeKey]] = {}
    for s, t in edges:
        indegree[t] += 1
        if s in successors:
            successors[s].append(t)
        else:
            successors[s] = [t]
    layer: dict[NodeKey, int] = {}
    generation = [n for n, d in indegree.items() if not d]
    depth = 0
    while generation:
        following = []
        for n in generation:
            layer[n] = depth
            for t in successors.get(n, ()):
                indegree[t] -= 1
                if not indegree[t]:
                    following.append(t)
        generation = following
        depth += 1
    if len(layer) == len(indegree):
        return layer
    # A cycle: lay out the condensation instead (rare: only concurrent runs make cycles).
    graph: nx.DiGraph = nx.DiGraph()
    graph.add_nodes_from(indegree)
    graph.add_edges_from(edges)
    condensed = nx.condensation(graph)
    members = condensed.graph["mapping"]
    comp_layer = {c: i for i, gen in enumerate(nx.topological_generations(condensed)) for c in gen}
    return {n: comp_layer[members[n]] for n in indegree}


def _hide(result: LineageResult, hidden: Collection[NodeKey]) -> None:
    """Remove nodes, joining each one's predecessors to its successors."""
    preds: dict[NodeKey, set[NodeKey]] = {n: set() for n in result.distance}
    succs: dict[NodeKey, set[NodeKey]] = {n: set() for n in result.distance}
    for s, t in result.edges:
        succs[s].add(t)
        preds[t].add(s)
    for node in hidden:
        before, after = preds.pop(node) - {node}, succs.pop(node) - {node}
        for p in before:
            succs[p].discard(node)
            succs[p].update(s for s in after if s != p)
        for s in after:
            preds[s].discard(node)
            preds[s].update(p for p in before if p != s)
        del result.distance[node]
        result.parent.pop(node, None)
    result.edges = [(s, t) for s, targets in succs.items() for t in targets]


async def traverse(
    fetch: Fetch, root: NodeKey, direction: Direction, *, depth: int, limit: int,
    skip_runs: bool = False, kinds: Collection[str] | None = None,
) -> LineageResult:
    result = LineageResult(root=root, distance={root: 0}, edges=[], parent={})
    for downstream in (False, True):
        if direction == (Direction.UPSTREAM if downstream else Direction.DOWNSTREAM):
            continue
        walk = _Walk(fetch, downstream, depth, limit, skip_runs, result.distance, result.edges, result.parent)
        result.truncated |= await walk.run(root)
    if direction == Direction.BOTH:
        result.edges = list(dict.fromkeys(result.edges))  # an edge on a cycle through the root is read both ways
    if skip_runs or kinds:
        kept = {KIND_CODE[k] for k in (kinds or KIND_CODE)} - ({RUN} if skip_runs else set())
        _hide(result, [n for n in result.distance if n != root and n & 3 not in kept])
    result.layer = layers(result.distance, result.edges)
    return result


async def shortest_path(
    fetch: Fetch, source: NodeKey, target: NodeKey, *, depth: int, limit: int,
) -> tuple[list[NodeKey], list[tuple[NodeKey, NodeKey, str]]] | None:
    """One shortest path between two nodes, following edges either way round, and its edges as stored
    (source, target, kind); None when unconnected.

    Breadth-first from ``source`` downstream, then upstream, stopping as soon
    as ``target`` is reached: never enumerates paths.
    """
    if source == target:
        return [source], []
    for downstream in (True, False):
        found = LineageResult(root=source, distance={source: 0}, edges=[], parent={})
        walk = _Walk(fetch, downstream, depth, limit, False, found.distance, found.edges, found.parent, target=target)
        await walk.run(source)
        if walk.found:
            nodes = found.path_from_root(target)
            pairs = zip(nodes, nodes[1:], strict=False)
            edges = [(a, b) if downstream else (b, a) for a, b in pairs]
            return nodes, [(s, t, edge_kind((s, t))) for s, t in edges]
    return None
