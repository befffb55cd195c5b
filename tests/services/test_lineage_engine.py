"""The lineage engine on random graphs stored in both databases: its two loaders (one recursive query, or a
query per hop) give the same answers, those answers are networkx's, and its layers are networkx's."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import networkx as nx
import pytest
import sqlalchemy as sa

from support.blobs import memory_runtime
from lineage_reg.config import Settings
from lineage_reg.lineage.engine import LineageResult, layers, shortest_path, traverse
from lineage_reg.lineage_kinds import Direction, NodeKey, edge_kind, kind_of, node, row_of
from lineage_reg.services import lineage as lineage_service
from lineage_reg.store import migrations
from lineage_reg.store import schema as s
from lineage_reg.store.tables.lineage import EDGE_KIND

Edge = tuple[NodeKey, NodeKey]


def random_lineage(rnd: random.Random, runs: int, *, rewrites: float = 0.0) -> set[Edge]:
    """Runs reading earlier versions and datasets and making new ones; with ``rewrites`` a run sometimes writes
    a dataset that already exists, which can close a cycle (as concurrent runs do)."""
    count = {"r": 0, "v": 0, "d": 0}

    def new(kind: str) -> NodeKey:
        count[kind] += 1
        return node(kind, count[kind])

    made: list[NodeKey] = [new("d") for _ in range(4)]
    edges: set[Edge] = set()
    for _ in range(runs):
        run = new("r")
        for used in rnd.sample(made, k=min(len(made), rnd.choice((0, 1, 1, 2, 3)))):
            edges.add((used, run))
        for _ in range(rnd.choice((0, 1, 1, 2))):
            out = new("v") if rnd.random() < 0.8 else new("d")
            edges.add((run, out))
            made.append(out)
        if rnd.random() < rewrites:
            edges.add((run, rnd.choice([n for n in made if kind_of(n) == "d"])))
    return edges


def oracle(edges: set[Edge], root: NodeKey, downstream: bool, depth: int) -> tuple[dict[NodeKey, int], set[Edge], bool]:
    """What a walk without limits must return, computed by networkx: distances, edges, truncated."""
    graph = nx.DiGraph(list(edges))
    graph.add_node(root)
    walked = graph if downstream else graph.reverse(copy=False)
    distance = nx.single_source_shortest_path_length(walked, root, cutoff=depth)
    found = {(u, v) for u, v in walked.edges if u in distance and distance[u] < depth}
    truncated = any(walked.out_degree(n) for n, d in distance.items() if d == depth)
    return distance, {e if downstream else (e[1], e[0]) for e in found}, truncated


@asynccontextmanager
async def stored(settings: Settings, edges: set[Edge]) -> AsyncIterator[tuple[Any, list[NodeKey]]]:
    """A runtime on a database holding ``edges`` (and nothing else: walks never read node rows), and the nodes."""
    rt = memory_runtime(settings)  # edges only: no blob is stored
    await migrations.upgrade(rt.db)
    at = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [dict(src_kind=kind_of(a), src_id=row_of(a), dst_kind=kind_of(b), dst_id=row_of(b),
                 kind=EDGE_KIND[(kind_of(a), kind_of(b))], created_at=at) for a, b in edges]
    try:
        async with rt.db.engine.begin() as conn:
            await conn.execute(sa.insert(s.edge), rows)
        yield rt, sorted({n for e in edges for n in e})
    finally:
        await rt.db.dispose()


async def walk_both_ways(rt: Any, root: NodeKey, direction: Direction, depth: int, limit: int, *,
                         skip_runs: bool = False, kinds: set[str] | None = None) -> tuple[LineageResult, LineageResult | None]:
    """The same walk hop by hop and from one recursive query (None when the set is too big for it)."""
    async with rt.db.reader() as r:
        hop_by_hop = await traverse(lineage_service._fetcher(r, None), root, direction, depth=depth, limit=limit,
                                    skip_runs=skip_runs, kinds=kinds)
        fetch, complete = await lineage_service._prefetched(r, root, direction, depth, skip_runs, None)
        prefetched = None
        if complete:
            prefetched = await traverse(fetch, root, direction, depth=depth, limit=limit, skip_runs=skip_runs,
                                        kinds=kinds)
    return hop_by_hop, prefetched


def test_layers_are_networkx_topological_generations() -> None:
    rnd = random.Random(11)
    for _ in range(30):
        edges = random_lineage(rnd, rnd.randint(1, 40))
        graph = nx.DiGraph(list(edges))
        expected = {n: i for i, generation in enumerate(nx.topological_generations(graph)) for n in generation}
        assert layers(graph.nodes, edges) == expected


def test_layers_of_a_cycle_are_its_condensation() -> None:
    rnd = random.Random(12)
    cyclic = 0
    for _ in range(40):
        edges = random_lineage(rnd, 30, rewrites=0.2)
        graph = nx.DiGraph(list(edges))
        condensed = nx.condensation(graph)
        by_component = {c: i for i, generation in enumerate(nx.topological_generations(condensed)) for c in generation}
        expected = {n: by_component[condensed.graph["mapping"][n]] for n in graph.nodes}
        cyclic += not nx.is_directed_acyclic_graph(graph)
        assert layers(graph.nodes, edges) == expected
    assert cyclic >= 5  # the case under test did occur


async def test_both_loaders_return_what_networkx_finds(settings: Settings, dialect: str) -> None:
    rnd = random.Random(21)
    edges = random_lineage(rnd, 120, rewrites=0.05)
    async with stored(settings, edges) as (rt, nodes):
        for _ in range(40):
            root, downstream, depth = rnd.choice(nodes), rnd.random() < 0.5, rnd.choice((1, 2, 3, 6, 25, 100))
            direction = Direction.DOWNSTREAM if downstream else Direction.UPSTREAM
            distance, found_edges, truncated = oracle(edges, root, downstream, depth)
            for result in await walk_both_ways(rt, root, direction, depth, 10_000):
                assert result is not None  # 120 runs: far below the prefetch limit
                assert result.distance == distance
                assert set(result.edges) == found_edges and len(result.edges) == len(found_edges)
                assert result.truncated == truncated
                assert all(edge_kind(e) == EDGE_KIND[(kind_of(e[0]), kind_of(e[1]))] for e in result.edges)
                assert all(result.path_from_root(n)[0] == root and len(result.path_from_root(n)) == d + 1
                           for n, d in distance.items())
                as_networkx = result.to_networkx()
                assert set(as_networkx.edges) == found_edges and set(as_networkx.nodes) == set(distance)
                assert all(as_networkx.nodes[n]["distance"] == d for n, d in distance.items())


async def test_loaders_agree_on_both_ways_skip_runs_kinds_and_limits(settings: Settings, dialect: str) -> None:
    rnd = random.Random(22)
    edges = random_lineage(rnd, 150, rewrites=0.05)
    async with stored(settings, edges) as (rt, nodes):
        for _ in range(60):
            root = rnd.choice(nodes)
            direction = rnd.choice(list(Direction))
            depth, limit = rnd.choice((1, 2, 4, 30)), rnd.choice((5, 40, 10_000))
            skip_runs = rnd.random() < 0.4
            kinds = rnd.choice((None, {"v"}, {"v", "d"}, {"r", "v"}))
            hop_by_hop, prefetched = await walk_both_ways(rt, root, direction, depth, limit, skip_runs=skip_runs,
                                                          kinds=kinds)
            assert prefetched is not None
            assert prefetched.truncated == hop_by_hop.truncated
            assert len(prefetched.distance) <= limit and len(hop_by_hop.distance) <= limit
            if not (skip_runs or kinds):  # (which nodes are left out afterwards depends on which made it)
                assert len(prefetched.distance) == len(hop_by_hop.distance)
            if limit == 10_000:  # within a cut level, which nodes make it depends on row order
                assert prefetched.distance == hop_by_hop.distance
                assert sorted(prefetched.edges) == sorted(hop_by_hop.edges)
                assert prefetched.layer == hop_by_hop.layer
            assert all(kind_of(n) in kinds for n in hop_by_hop.distance if n != root) if kinds else True
            assert not any(kind_of(n) == "r" for n in hop_by_hop.distance if n != root) if skip_runs else True


async def test_a_hub_is_too_big_to_prefetch_and_walks_hop_by_hop(settings: Settings, dialect: str,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lineage_service, "PREFETCH_LIMIT", 50)
    hub = node("d", 1)
    edges = {(hub, node("r", i)) for i in range(1, 120)} | {(node("r", i), node("v", i)) for i in range(1, 120)}
    async with stored(settings, edges) as (rt, _):
        hop_by_hop, prefetched = await walk_both_ways(rt, hub, Direction.DOWNSTREAM, 100, 100)
    assert prefetched is None
    assert len(hop_by_hop.distance) == 100 and hop_by_hop.truncated
    # breadth first: all 119 runs come before any version, so the first 99 nodes after the hub are runs
    assert {kind_of(n) for n in hop_by_hop.distance if n != hub} == {"r"}


async def test_shortest_path_either_way(settings: Settings, dialect: str) -> None:
    rnd = random.Random(23)
    edges = random_lineage(rnd, 80)
    graph = nx.DiGraph(list(edges))
    async with stored(settings, edges) as (rt, nodes), rt.db.reader() as r:
        fetch = lineage_service._fetcher(r, None)
        for _ in range(40):
            a, b = rnd.sample(nodes, 2)
            found = await shortest_path(fetch, a, b, depth=100, limit=10_000)
            if nx.has_path(graph, a, b):
                expected = nx.shortest_path_length(graph, a, b)
            elif nx.has_path(graph, b, a):
                expected = nx.shortest_path_length(graph, b, a)
            else:
                assert found is None
                continue
            assert found is not None
            path, path_edges = found
            assert path[0] == a and path[-1] == b and len(path) == expected + 1
            assert all((s, t) in graph.edges and kind == EDGE_KIND[(kind_of(s), kind_of(t))] for s, t, kind in path_edges)
            assert len(path_edges) == expected


def test_gc_is_paused_during_walks_and_back_after_the_last() -> None:
    import gc

    from lineage_reg.lineage import nogc

    assert gc.isenabled()
    with nogc.paused():
        assert not gc.isenabled()
        with nogc.paused():  # overlapping walks
            assert not gc.isenabled()
        assert not gc.isenabled()  # the first walk is still going
    assert gc.isenabled()
    try:
        with nogc.paused():
            raise RuntimeError("a failed walk")
    except RuntimeError:
        pass
    assert gc.isenabled()
