"""Lineage at company scale: ~1,000,000 nodes, ~3,000,000 edges, on SQLite and PostgreSQL.

    python bench/lineage.py [--scale 1.0] [--db sqlite|postgresql|both] [--repeat 30] [--keep DIR]

Builds the graph of ``_lineage_graph.py`` in a fresh, migrated SQLite file and
a fresh PostgreSQL (pgserver), then times, over random start nodes:

* upstream of a model version at the end of a fine-tuning chain, to full depth;
* downstream of a hub dataset (limit 100,000) and `impact` of it;
* the 3-hop neighbourhood (BOTH) of a random version;

through our service layer (the walk, distances, edges and layers: what the
API loads for a query that does not ask for labels; the labels, one more
statement, are timed on their own) next to bare traversals on the same
database, so our overhead shows as a ratio:

* bare CTE: one recursive query returning node ids, on the raw driver
  (sqlite3, asyncpg); the least work any answer can take, but no edges;
* bare frontier: a statement per hop and node kind returning node ids;
* bare graph: the same statements, keeping what a lineage answer holds
  without labels and layers: nodes, their distances and the edges between
  them, stopping at exactly ``limit`` nodes;
* CTE via our stack: the bare CTE through the server's database layer
  (SQLAlchemy; a pooled connection on SQLite, async on asyncpg): the floor
  of any answer served from that stack.

Start nodes are random, so most walks read pages the database has not cached.
The process's GC is tuned as ``lineage-reg serve`` tunes it.

``--keep DIR`` keeps the loaded databases in DIR and reuses them on the next
run with the same ``--scale`` (loading is most of the run's time).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _lineage_graph as graph_gen  # noqa: E402

from lineage_reg.cli.server import tune_gc  # noqa: E402
from lineage_reg.config import Settings  # noqa: E402
from lineage_reg.lineage_kinds import Direction, node  # noqa: E402
from lineage_reg.services import lineage as lineage_service  # noqa: E402
from lineage_reg.services.lifecycle import open_runtime, upgrade_database  # noqa: E402

TARGETS = {"upstream": "p50 < 50 ms", "impact": "< 2 s (50,000 nodes)", "downstream": "< 2 s (50,000 nodes)",
           "3-hop": "p50 < 10 ms"}

# Deep walks: each node once (UNION over (kind, id)), stopped by LIMIT; depth is not tracked.
CLOSURE = {
    "sqlite": """WITH RECURSIVE walk(k, id) AS (SELECT ?, ? UNION
        SELECT e.{there}_kind, e.{there}_id FROM walk w JOIN lineage_edge e
        ON e.{here}_kind = w.k AND e.{here}_id = w.id) SELECT k, id FROM walk LIMIT ?""",
    "postgresql": """WITH RECURSIVE walk(k, id) AS (SELECT $1::varchar, $2::int UNION
        SELECT e.{there}_kind, e.{there}_id FROM walk w JOIN lineage_edge e
        ON e.{here}_kind = w.k AND e.{here}_id = w.id) SELECT k, id FROM walk LIMIT $3""",
}
# Shallow walks: depth-bounded.
CTE = {
    "sqlite": """WITH RECURSIVE walk(k, id, d) AS (SELECT ?, ?, 0 UNION
        SELECT e.{there}_kind, e.{there}_id, w.d + 1 FROM walk w JOIN lineage_edge e
        ON e.{here}_kind = w.k AND e.{here}_id = w.id WHERE w.d < ?)
        SELECT DISTINCT k, id FROM walk LIMIT ?""",
    "postgresql": """WITH RECURSIVE walk(k, id, d) AS (SELECT $1::varchar, $2::int, 0 UNION
        SELECT e.{there}_kind, e.{there}_id, w.d + 1 FROM walk w JOIN lineage_edge e
        ON e.{here}_kind = w.k AND e.{here}_id = w.id WHERE w.d < $3)
        SELECT DISTINCT k, id FROM walk LIMIT $4""",
}


class Bare:
    """Traversals on the raw driver: what the database alone costs."""

    def __init__(self, dialect: str, conn: Any) -> None:
        self.dialect, self.conn = dialect, conn
        self.db: Any = None  # the server's Database, for cte_async

    async def _q(self, sql: str, *args: Any) -> list[Any]:
        if self.dialect == "sqlite":
            return self.conn.execute(sql, args).fetchall()  # type: ignore[no-any-return]
        return await self.conn.fetch(sql, *args)  # type: ignore[no-any-return]

    def _cte(self, root: tuple[str, int], downstream: bool, depth: int, limit: int) -> tuple[str, tuple[Any, ...]]:
        here, there = ("src", "dst") if downstream else ("dst", "src")
        if depth >= 20:
            return CLOSURE[self.dialect].format(here=here, there=there), (root[0], root[1], limit)
        return CTE[self.dialect].format(here=here, there=there), (root[0], root[1], depth, limit)

    async def cte(self, root: tuple[str, int], downstream: bool, depth: int, limit: int) -> int:
        """Node ids from one recursive query."""
        sql, args = self._cte(root, downstream, depth, limit)
        return len(await self._q(sql, *args))

    async def cte_stack(self, root: tuple[str, int], downstream: bool, depth: int, limit: int) -> int:
        """The same query through the server's driver stack: a reader of its Database (SQLAlchemy; on SQLite a
        pooled synchronous connection, on PostgreSQL async on asyncpg)."""
        sql, args = self._cte(root, downstream, depth, limit)
        async with self.db.reader() as r:
            if r._sync is not None:  # noqa: SLF001 (the raw statement, as the other baselines send it)
                return len(r._sync.exec_driver_sql(sql, args).all())  # noqa: SLF001
            return len((await r._async.exec_driver_sql(sql, args)).all())  # noqa: SLF001

    async def _hop(self, kind: str, ids: list[int], here: str, there: str) -> list[Any]:
        """One batched statement: (this id, other kind, other id) of the edges out of these nodes."""
        if self.dialect == "sqlite":
            return await self._q(f"SELECT {here}_id, {there}_kind, {there}_id FROM lineage_edge WHERE {here}_kind = ? "
                                 f"AND {here}_id IN ({','.join('?' * len(ids))})", kind, *ids)
        return await self._q(f"SELECT {here}_id, {there}_kind, {there}_id FROM lineage_edge WHERE "
                             f"{here}_kind = $1 AND {here}_id = ANY($2::int[])", kind, ids)

    async def frontier(self, root: tuple[str, int], downstream: bool, depth: int, limit: int) -> int:
        """Node ids, a statement per hop and kind; stops after the level that passes ``limit``."""
        here, there = ("src", "dst") if downstream else ("dst", "src")
        seen, frontier = {root}, [root]
        for _ in range(depth):
            nxt = []
            for kind in {k for k, _ in frontier}:
                ids = [i for k, i in frontier if k == kind]
                for start in range(0, len(ids), 5000):
                    for r in await self._hop(kind, ids[start:start + 5000], here, there):
                        node = (r[1], r[2])
                        if node not in seen:
                            seen.add(node)
                            nxt.append(node)
            frontier = nxt
            if not frontier or len(seen) >= limit:
                break
        return min(len(seen), limit)

    async def graph(self, root: tuple[str, int], downstream: bool, depth: int, limit: int) -> int:
        """What a lineage answer holds without its labels and layers: nodes with their distances and the edges
        between them, breadth first, stopping at exactly ``limit`` nodes; a statement per hop and kind."""
        here, there = ("src", "dst") if downstream else ("dst", "src")
        distance, edges, frontier = {root: 0}, [], [root]
        for hop in range(depth):
            nxt = []
            for kind in {k for k, _ in frontier}:
                ids = [i for k, i in frontier if k == kind]
                for start in range(0, len(ids), 2000):
                    for r in await self._hop(kind, ids[start:start + 2000], here, there):
                        node = (r[1], r[2])
                        if node not in distance:
                            if len(distance) >= limit:
                                return len(distance)
                            distance[node] = hop + 1
                            nxt.append(node)
                        edges.append(((kind, r[0]), node))
            frontier = nxt
        return len(distance)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _settings(url: str) -> Settings:
    return Settings(data_dir=Path(tempfile.mkdtemp()), database_url=url)


async def measure(dialect: str, url: str, bare: Bare, g: graph_gen.Graph, repeat: int) -> list[str]:
    async with open_runtime(_settings(url), events=False, migrate=False) as rt:
        return await _measure(rt, dialect, bare, g, repeat)


async def _measure(rt: Any, dialect: str, bare: Bare, g: graph_gen.Graph, repeat: int) -> list[str]:
    bare.db = rt.db
    rnd = random.Random(1)
    rows = []
    versions = [v[0] for v in g.versions]
    cases = [
        ("upstream", lambda: ("v", rnd.choice(g.chain_ends)), Direction.UPSTREAM, 100, 100_000, repeat),
        ("downstream", lambda: ("d", rnd.choice(g.hubs)), Direction.DOWNSTREAM, 100, 50_000, max(3, repeat // 10)),
        ("downstream", lambda: ("d", rnd.choice(g.hubs)), Direction.DOWNSTREAM, 100, 100_000, max(3, repeat // 10)),
        ("3-hop", lambda: ("v", rnd.choice(versions)), Direction.BOTH, 3, 100_000, repeat),
    ]
    baselines = {"cte": bare.cte, "frontier": bare.frontier, "graph": bare.graph, "cte_stack": bare.cte_stack}
    for name, pick, direction, depth, limit, n in cases:
        ours, labels, sizes = [], [], []
        times: dict[str, list[float]] = {b: [] for b in baselines}
        for _ in range(n):
            root = pick()
            t = time.perf_counter()
            found = await lineage_service.lineage(rt, root=node(*root), direction=direction, depth=depth, limit=limit,
                                                  with_labels=False)
            ours.append((time.perf_counter() - t) * 1000)
            sizes.append(len(found.result.nodes))
            t = time.perf_counter()
            await lineage_service.labels_of(rt, keys=found.result.nodes)
            labels.append((time.perf_counter() - t) * 1000)
            for b, fn in baselines.items():
                t = time.perf_counter()
                for downstream in ((False, True) if direction == Direction.BOTH else (direction == Direction.DOWNSTREAM,)):
                    await fn(root, downstream, depth, limit)
                times[b].append((time.perf_counter() - t) * 1000)
        p50 = {b: statistics.median(v) for b, v in times.items()}
        mine = statistics.median(ours)
        rows.append(f"| {name} (limit {limit:,}) | {dialect} | {int(statistics.median(sizes)):,} | {mine:.1f} | "
                    f"{pct(ours, 0.99):.1f} | {statistics.median(labels):.1f} | {p50['cte']:.1f} | {p50['frontier']:.1f} | {p50['graph']:.1f} | "
                    f"{p50['cte_stack']:.1f} | {mine / min(p50['cte'], p50['frontier']):.2f} | {mine / p50['graph']:.2f} | "
                    f"{TARGETS[name]} |")
    impact_ms = []
    for _ in range(max(3, repeat // 10)):
        hub = lineage_service.node_id(node("d", rnd.choice(g.hubs)))
        t = time.perf_counter()
        hits = await lineage_service.impact(rt, global_id=hub, alias=None)
        impact_ms.append((time.perf_counter() - t) * 1000)
    rows.append(f"| impact (links; none in this graph: {len(hits)}) | {dialect} | 100,000 scanned | "
                f"{statistics.median(impact_ms):.1f} | {pct(impact_ms, 0.99):.1f} | | | | | | | | {TARGETS['impact']} |")
    return rows


def _loaded(work: Path, dialect: str, g: graph_gen.Graph) -> bool:
    marker = work / f"{dialect}.loaded"
    return marker.exists() and marker.read_text() == f"{g.nodes} {len(g.edges)}"


def _mark_loaded(work: Path, dialect: str, g: graph_gen.Graph) -> None:
    (work / f"{dialect}.loaded").write_text(f"{g.nodes} {len(g.edges)}")


async def run_sqlite(g: graph_gen.Graph, repeat: int, work: Path) -> list[str]:
    import sqlite3

    path = work / "lineage.db"
    if not _loaded(work, "sqlite", g):
        path.unlink(missing_ok=True)
        await upgrade_database(_settings(f"sqlite+aiosqlite:///{path}"))
        t = time.perf_counter()
        graph_gen.sqlite_load(str(path), g)
        print(f"sqlite: loaded in {time.perf_counter() - t:.1f}s", file=sys.stderr)
        _mark_loaded(work, "sqlite", g)
    con = sqlite3.connect(path)
    try:
        return await measure("sqlite", f"sqlite+aiosqlite:///{path}", Bare("sqlite", con), g, repeat)
    finally:
        con.close()


async def run_postgres(g: graph_gen.Graph, repeat: int, work: Path) -> list[str]:
    import asyncpg
    import pgserver

    from lineage_reg.store.db import Database

    if not _loaded(work, "postgresql", g):
        shutil.rmtree(work / "pg", ignore_errors=True)  # a half-loaded database from an interrupted run
    server = pgserver.get_server(work / "pg", cleanup_mode="stop")
    sock = server.get_uri().split("host=")[1]
    url = f"postgresql+asyncpg://postgres@/postgres?host={sock}"
    dsn = Database(url).driver_dsn()  # only the URL: it connects nothing until used
    if not _loaded(work, "postgresql", g):
        await upgrade_database(_settings(url))
        t = time.perf_counter()
        await graph_gen.postgres_load(dsn, g)
        print(f"postgresql: loaded in {time.perf_counter() - t:.1f}s", file=sys.stderr)
        _mark_loaded(work, "postgresql", g)
    con = await asyncpg.connect(dsn)
    try:
        return await measure("postgresql", url, Bare("postgresql", con), g, repeat)
    finally:
        await con.close()
        server.cleanup()


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--keep", type=Path, help="keep the loaded databases here and reuse them next time")
    args = ap.parse_args()
    t = time.perf_counter()
    g = graph_gen.build(args.scale)
    print(f"graph: {g.nodes:,} nodes, {len(g.edges):,} edges, generated in {time.perf_counter() - t:.1f}s",
          file=sys.stderr)
    tune_gc()  # as `lineage-reg serve` does; it also keeps the generator's millions of tuples out of GC scans
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.db in ("sqlite", "both"):
            rows += await run_sqlite(g, args.repeat, work)
        if args.db in ("postgresql", "both"):
            rows += await run_postgres(g, args.repeat, work)
    print(f"\ngraph: {g.nodes:,} nodes, {len(g.edges):,} edges\n")
    print("| query | db | nodes | ours p50 ms | ours p99 ms | + labels p50 ms | bare CTE (ids) | bare frontier (ids) | "
          "bare graph | CTE via our stack | ours / best bare ids | ours / bare graph | target |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
