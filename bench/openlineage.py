"""OpenLineage ingestion throughput: 100,000 events in batches of 500, into SQLite and PostgreSQL.

    python bench/openlineage.py [--events 100000] [--batch 500] [--clients 2] [--no-postgres]

Starts ``lineage-reg serve`` (a fresh data dir; then on a pgserver PostgreSQL),
generates a pipeline-shaped stream — 20 namespaces of jobs, each run a START
and a COMPLETE event (half of the runs children of a DAG run), reading 1-3 of
10,000 datasets and writing 1, some with schema and symlink facets — and POSTs
it to ``/api/v1/lineage/batch`` as NDJSON from ``--clients`` keep-alive
connections. Prints events/s, the server's CPU per event and p50/p99 per batch,
then checks what landed: the runs (through the API) and the lineage edges (in
the database) must match what was sent.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from http.client import HTTPConnection
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hot_path import Registry  # noqa: E402
from _load import cpu_ms, process_tree, send  # noqa: E402
from _pg import postgres_database  # noqa: E402

PRODUCER = "https://github.com/example/bench"
SCHEMA_URL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"


def generate(n_events: int, datasets: int, seed: int = 7) -> tuple[list[bytes], int, set[tuple[str, str, str]]]:
    """Events as JSON lines, the number of runs, and the distinct (run, dataset, mode) edges they imply."""
    rng = random.Random(seed)
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    lines: list[bytes] = []
    edges: set[tuple[str, str, str]] = set()
    runs = 0
    while len(lines) < n_events:
        ns = f"etl-{rng.randrange(20)}"
        run_id = str(uuid.UUID(int=rng.getrandbits(128)))
        job = f"dag-{rng.randrange(200)}.task-{rng.randrange(50)}"
        inputs = [{"namespace": "s3://lake", "name": f"table-{rng.randrange(datasets)}"} for _ in range(rng.randint(1, 3))]
        out = {"namespace": "s3://lake", "name": f"table-{rng.randrange(datasets)}"}
        if rng.random() < 0.2:
            out["facets"] = {"schema": {"_producer": PRODUCER, "_schemaURL": SCHEMA_URL,
                                        "fields": [{"name": f"c{i}", "type": "INT"} for i in range(5)]},
                             "symlinks": {"_producer": PRODUCER, "_schemaURL": SCHEMA_URL, "identifiers": [
                                 {"namespace": "hive://meta", "name": f"alias-{out['name']}", "type": "TABLE"}]}}
        facets = {}
        if rng.random() < 0.5:
            facets["parent"] = {"_producer": PRODUCER, "_schemaURL": SCHEMA_URL,
                                "run": {"runId": str(uuid.UUID(int=rng.getrandbits(128)))},
                                "job": {"namespace": ns, "name": job.split(".")[0]}}
            runs += 1  # the parent becomes a run too
        start = t0 + timedelta(seconds=len(lines))
        for state, at in (("START", start), ("COMPLETE", start + timedelta(minutes=5))):
            lines.append(json.dumps({
                "eventType": state, "eventTime": at.isoformat(), "producer": PRODUCER, "schemaURL": SCHEMA_URL,
                "run": {"runId": run_id, "facets": facets}, "job": {"namespace": ns, "name": job},
                "inputs": inputs, "outputs": [out],
            }).encode())
        runs += 1
        edges |= {(run_id, d["name"], "read") for d in inputs} | {(run_id, out["name"], "wrote")}
    return lines[:n_events], runs, edges


def ingest(reg: Registry, lines: list[bytes], batch: int, clients: int) -> dict[str, float]:
    batches = [b"\n".join(lines[i:i + batch]) for i in range(0, len(lines), batch)]
    headers = {**reg.headers, "Content-Type": "application/x-ndjson"}
    pids = process_tree(reg.proc.pid)
    latencies: list[float] = []

    def worker(part: list[bytes]) -> None:
        conn = HTTPConnection("127.0.0.1", reg.port, timeout=120)
        for body in part:
            started = time.perf_counter()
            status, answer = send(conn, ("POST", "/api/v1/lineage/batch", body, headers))
            latencies.append(time.perf_counter() - started)
            data = json.loads(answer)
            if status != 200 or data["status"] != "success":
                raise RuntimeError(f"{status}: {answer[:500]!r}")

    cpu0, t0 = cpu_ms(pids), time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, [batches[i::clients] for i in range(clients)]))
    seconds, cpu = time.perf_counter() - t0, cpu_ms(pids) - cpu0
    return {"events_per_s": len(lines) / seconds, "seconds": seconds, "cpu_us_per_event": 1000 * cpu / len(lines),
            "batch_p50_ms": 1000 * statistics.median(latencies),
            "batch_p99_ms": 1000 * sorted(latencies)[int(0.99 * (len(latencies) - 1))]}


def check(reg: Registry, database_url: str) -> tuple[int, int]:
    """Runs (through the API) and lineage edges (straight from the database) that landed."""
    import asyncio

    import sqlalchemy as sa

    from lineage_reg.store.db import Database

    conn = HTTPConnection("127.0.0.1", reg.port)
    total_runs = 0
    for i in range(20):
        data = reg.gql(conn, "query($p: String!) { project(name: $p) { runs { totalCount } } }", p=f"etl-{i}")
        total_runs += data["project"]["runs"]["totalCount"] if data["project"] else 0

    async def count_edges() -> int:
        db = Database(database_url)
        try:
            return int((await db.fetch_one(sa.text("SELECT count(*) FROM lineage_edge")))[0])
        finally:
            await db.dispose()

    return total_runs, asyncio.run(count_edges())


def run_one(name: str, reg: Registry, database_url: str, lines: list[bytes], runs: int, edges: set,
            args: argparse.Namespace) -> None:
    result = ingest(reg, lines, args.batch, args.clients)
    counted_runs, counted_edges = check(reg, database_url)
    print(f"\n{name}: {len(lines):,} events in batches of {args.batch} from {args.clients} clients")
    print(f"  {result['events_per_s']:,.0f} events/s ({result['seconds']:.1f} s); server CPU "
          f"{result['cpu_us_per_event']:.0f} us/event; batch p50 {result['batch_p50_ms']:.0f} ms, "
          f"p99 {result['batch_p99_ms']:.0f} ms")
    ok = counted_runs == runs and counted_edges == len(edges)
    print(f"  in the registry: {counted_runs:,} runs (sent {runs:,}), {counted_edges:,} edges (sent {len(edges):,})"
          + ("" if ok else "  MISMATCH"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=500)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--datasets", type=int, default=10_000)
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    lines, runs, edges = generate(args.events, args.datasets)
    print(f"generated {len(lines):,} events: {runs:,} runs (parents included), {len(edges):,} distinct edges")

    with tempfile.TemporaryDirectory() as tmp:
        reg = Registry(Path(tmp))
        try:
            run_one("SQLite", reg, f"sqlite+aiosqlite:///{reg.data_dir / 'registry.db'}", lines, runs, edges, args)
        finally:
            reg.stop()
    if args.no_postgres:
        return 0
    with postgres_database("ol") as (url, tmp):
        reg = Registry(tmp, {"LINEAGE_REG_DATABASE_URL": url})
        try:
            run_one("PostgreSQL", reg, url, lines, runs, edges, args)
        finally:
            reg.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
