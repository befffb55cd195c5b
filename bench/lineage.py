"""Lineage at company scale: ~1,000,000 nodes, ~3,000,000 edges, on SQLite and PostgreSQL.

    python bench/lineage.py [--scale 1.0] [--db sqlite|postgresql|both] [--repeat 30]

Builds the graph of ``_lineage_graph.py`` in a fresh, migrated SQLite file and
a fresh PostgreSQL (pgserver), then times, over random start nodes:

* upstream of a model version at the end of a fine-tuning chain, to full depth;
* downstream of a hub dataset (limit 100,000) and `impact` of it;
* the 3-hop neighbourhood (BOTH) of a random version;

through our service layer (edges loaded hop by hop into networkx, layers,
labels) next to two bare SQL traversals on the same database — a recursive
CTE and a per-hop frontier loop on the raw driver, both returning node ids
only — so our overhead shows as a ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _lineage_graph as graph_gen  # noqa: E402

from lineage_reg.app import build_runtime  # noqa: E402
from lineage_reg.config import Settings  # noqa: E402
from lineage_reg.lineage.engine import Direction  # noqa: E402
from lineage_reg.services import lineage as lineage_service  # noqa: E402
from lineage_reg.store import migrations  # noqa: E402

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

    async def _q(self, sql: str, *args: Any) -> list[Any]:
        if self.dialect == "sqlite":
            return self.conn.execute(sql, args).fetchall()  # type: ignore[no-any-return]
        return await self.conn.fetch(sql, *args)  # type: ignore[no-any-return]

    async def cte(self, root: tuple[str, int], downstream: bool, depth: int, limit: int) -> int:
        here, there = ("src", "dst") if downstream else ("dst", "src")
        if depth >= 20:
            rows = await self._q(CLOSURE[self.dialect].format(here=here, there=there), root[0], root[1], limit)
        else:
            rows = await self._q(CTE[self.dialect].format(here=here, there=there), root[0], root[1], depth, limit)
        return len(rows)

    async def frontier(self, root: tuple[str, int], downstream: bool, depth: int, limit: int) -> int:
        here, there = ("src", "dst") if downstream else ("dst", "src")
        seen, frontier = {root}, [root]
        for _ in range(depth):
            nxt = []
            for kind in {k for k, _ in frontier}:
                ids = [i for k, i in frontier if k == kind]
                for start in range(0, len(ids), 5000):
                    chunk = ids[start:start + 5000]
                    if self.dialect == "sqlite":
                        sql = (f"SELECT {there}_kind, {there}_id FROM lineage_edge WHERE {here}_kind = ? AND "
                               f"{here}_id IN ({','.join('?' * len(chunk))})")
                        rows = await self._q(sql, kind, *chunk)
                    else:
                        rows = await self._q(f"SELECT {there}_kind, {there}_id FROM lineage_edge WHERE "
                                             f"{here}_kind = $1 AND {here}_id = ANY($2::int[])", kind, chunk)
                    for r in rows:
                        node = (r[0], r[1])
                        if node not in seen:
                            seen.add(node)
                            nxt.append(node)
            frontier = nxt
            if not frontier or len(seen) >= limit:
                break
        return min(len(seen), limit)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(dialect: str, url: str, bare: Bare, g: graph_gen.Graph, repeat: int) -> list[str]:
    rt = build_runtime(Settings(data_dir=Path(tempfile.mkdtemp()), database_url=url))
    rnd = random.Random(1)
    rows = []
    versions = [v[0] for v in g.versions]
    cases = [
        ("upstream", lambda: ("v", rnd.choice(g.chain_ends)), Direction.UPSTREAM, 100, 100_000, repeat),
        ("downstream", lambda: ("d", rnd.choice(g.hubs)), Direction.DOWNSTREAM, 100, 50_000, max(3, repeat // 10)),
        ("downstream", lambda: ("d", rnd.choice(g.hubs)), Direction.DOWNSTREAM, 100, 100_000, max(3, repeat // 10)),
        ("3-hop", lambda: ("v", rnd.choice(versions)), Direction.BOTH, 3, 100_000, repeat),
    ]
    for name, pick, direction, depth, limit, n in cases:
        ours, cte, frontier, sizes = [], [], [], []
        for _ in range(n):
            root = pick()
            t = time.perf_counter()
            found = await lineage_service.lineage(rt, root, direction, depth=depth, limit=limit)
            ours.append((time.perf_counter() - t) * 1000)
            sizes.append(found.result.graph.number_of_nodes())
            for fn, out in ((bare.cte, cte), (bare.frontier, frontier)):
                t = time.perf_counter()
                total = 0
                for downstream in ((False, True) if direction == Direction.BOTH else (direction == Direction.DOWNSTREAM,)):
                    total += await fn(root, downstream, depth, limit)
                out.append((time.perf_counter() - t) * 1000)
        best = min(statistics.median(cte), statistics.median(frontier))
        rows.append(f"| {name} (limit {limit:,}) | {dialect} | {int(statistics.median(sizes)):,} | {statistics.median(ours):.1f} | "
                    f"{pct(ours, 0.99):.1f} | {statistics.median(cte):.1f} | {statistics.median(frontier):.1f} | "
                    f"{statistics.median(ours) / best:.2f} | {TARGETS[name]} |")
    impact_ms = []
    for _ in range(max(3, repeat // 10)):
        hub = lineage_service.node_id(("d", rnd.choice(g.hubs)))
        t = time.perf_counter()
        hits = await lineage_service.impact(rt, hub, None)
        impact_ms.append((time.perf_counter() - t) * 1000)
    rows.append(f"| impact (links; none in this graph: {len(hits)}) | {dialect} | 100,000 scanned | "
                f"{statistics.median(impact_ms):.1f} | {pct(impact_ms, 0.99):.1f} | | | | {TARGETS['impact']} |")
    await rt.db.dispose()
    return rows


async def run_sqlite(g: graph_gen.Graph, repeat: int, work: Path) -> list[str]:
    import sqlite3

    from lineage_reg.store.db import Database

    path = work / "lineage.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    await migrations.upgrade(db)
    await db.dispose()
    t = time.perf_counter()
    graph_gen.sqlite_load(str(path), g)
    print(f"sqlite: loaded in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    con = sqlite3.connect(path)
    try:
        return await measure("sqlite", f"sqlite+aiosqlite:///{path}", Bare("sqlite", con), g, repeat)
    finally:
        con.close()


async def run_postgres(g: graph_gen.Graph, repeat: int, work: Path) -> list[str]:
    import asyncpg
    import pgserver

    from lineage_reg.store.db import Database

    server = pgserver.get_server(work / "pg", cleanup_mode="stop")
    sock = server.get_uri().split("host=")[1]
    url = f"postgresql+asyncpg://postgres@/postgres?host={sock}"
    db = Database(url)
    await migrations.upgrade(db)
    dsn = db.driver_dsn()
    await db.dispose()
    t = time.perf_counter()
    await graph_gen.postgres_load(dsn, g)
    print(f"postgresql: loaded in {time.perf_counter() - t:.1f}s", file=sys.stderr)
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
    args = ap.parse_args()
    t = time.perf_counter()
    g = graph_gen.build(args.scale)
    print(f"graph: {g.nodes:,} nodes, {len(g.edges):,} edges, generated in {time.perf_counter() - t:.1f}s",
          file=sys.stderr)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        if args.db in ("sqlite", "both"):
            rows += await run_sqlite(g, args.repeat, Path(tmp))
        if args.db in ("postgresql", "both"):
            rows += await run_postgres(g, args.repeat, Path(tmp))
    print(f"\ngraph: {g.nodes:,} nodes, {len(g.edges):,} edges\n")
    print("| query | db | nodes | ours p50 ms | ours p99 ms | bare CTE p50 ms | bare frontier p50 ms | ours / best bare | target |")
    print("|---|---|---|---|---|---|---|---|---|")
    print("\n".join(rows))


if __name__ == "__main__":
    asyncio.run(main())
