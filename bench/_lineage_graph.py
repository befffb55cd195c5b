"""A synthetic lineage graph shaped like real ML work, bulk-loaded into SQLite or PostgreSQL.

    datasets --read--> preprocessing runs --produced--> dataset versions
    dataset versions --used--> training runs --produced--> model versions
    model versions (+ dataset versions) --used--> evaluation runs --produced--> eval versions
    model version --used--> fine-tune run --produced--> model version ... (chains of CHAIN steps)

A few hub datasets are read by most preprocessing runs; preprocessing runs
also write export datasets nobody reads. With the default scale: ~1,000,000
nodes and ~3,150,000 edges.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

PREPROC, TRAIN, EVAL, CHAINS, CHAIN = 100_000, 150_000, 150_000, 2_200, 45
DATASETS, HUBS = 2_000, 5
READS_PER_PREPROC, USES_PER_TRAIN, DS_PER_EVAL = 4, 8, 4


@dataclass
class Graph:
    runs: list[tuple[int, str]] = field(default_factory=list)  # (id, name)
    versions: list[tuple[int, int, int, int | None]] = field(default_factory=list)  # (id, artifact, index, run)
    datasets: list[int] = field(default_factory=list)
    edges: list[tuple[str, int, str, int, str]] = field(default_factory=list)
    chain_ends: list[int] = field(default_factory=list)  # model versions at the end of fine-tuning chains
    hubs: list[int] = field(default_factory=list)
    model_versions: list[int] = field(default_factory=list)

    @property
    def nodes(self) -> int:
        return len(self.runs) + len(self.versions) + len(self.datasets)


def build(scale: float = 1.0, seed: int = 7) -> Graph:
    rnd = random.Random(seed)
    g = Graph()
    counters = {1: 0, 2: 0, 3: 0}  # artifact id -> next index: 1 dataset versions, 2 models, 3 evals
    run_id = version_id = 0

    def run(name: str) -> int:
        nonlocal run_id
        run_id += 1
        g.runs.append((run_id, name))
        return run_id

    def version(artifact: int, producer: int) -> int:
        nonlocal version_id
        version_id += 1
        g.versions.append((version_id, artifact, counters[artifact], producer))
        counters[artifact] += 1
        g.edges.append(("r", producer, "v", version_id, "produced"))
        return version_id

    n = lambda count: max(1, int(count * scale))  # noqa: E731
    g.datasets = list(range(1, n(DATASETS) + 1))
    g.hubs = g.datasets[:HUBS]
    sources, exports = g.datasets[: len(g.datasets) // 2], g.datasets[len(g.datasets) // 2:]
    ds_versions = []
    for i in range(n(PREPROC)):
        r = run(f"preprocess-{i}")
        reads = {rnd.choice(g.hubs)} if rnd.random() < 0.6 else set()
        while len(reads) < READS_PER_PREPROC:
            reads.add(rnd.choice(sources))
        g.edges.extend(("d", d, "r", r, "read") for d in reads)
        g.edges.append(("r", r, "d", rnd.choice(exports), "wrote"))
        ds_versions.append(version(1, r))
    for i in range(n(TRAIN)):
        r = run(f"train-{i}")
        g.edges.extend(("v", v, "r", r, "used") for v in set(rnd.sample(ds_versions, USES_PER_TRAIN)))
        g.model_versions.append(version(2, r))
    for i in range(n(EVAL)):
        r = run(f"eval-{i}")
        g.edges.append(("v", rnd.choice(g.model_versions), "r", r, "used"))
        g.edges.extend(("v", v, "r", r, "used") for v in set(rnd.sample(ds_versions, DS_PER_EVAL)))
        version(3, r)
    for c in range(n(CHAINS)):
        tip = rnd.choice(g.model_versions)
        for step in range(CHAIN):
            r = run(f"finetune-{c}-{step}")
            g.edges.append(("v", tip, "r", r, "used"))
            g.edges.append(("v", rnd.choice(ds_versions), "r", r, "used"))
            tip = version(2, r)
        g.chain_ends.append(tip)
    # A run never uses the same version twice: drop duplicate edges (primary key).
    g.edges = list({(e[0], e[1], e[2], e[3]): e for e in g.edges}.values())
    return g


NOW = datetime(2026, 1, 1, tzinfo=UTC)
ARTIFACTS = [(1, "dataset-versions", "dataset"), (2, "models", "model"), (3, "evals", "eval")]


def sqlite_load(path: str, g: Graph) -> None:
    import sqlite3

    ts = NOW.strftime("%Y-%m-%d %H:%M:%S.%f")
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    with con:
        con.execute("INSERT INTO project (id, name, created_at) VALUES (1, 'bench', ?)", (ts,))
        con.executemany("INSERT INTO collection (id, project_id, name, kind, type, tags, created_at) "
                        "VALUES (?, 1, ?, 'artifact', ?, '[]', ?)", [(*a, ts) for a in ARTIFACTS])
        con.executemany("INSERT INTO run (id, project_id, name, status, config, summary, created_at) "
                        "VALUES (?, 1, ?, 'FINISHED', '{}', '{}', ?)", [(*r, ts) for r in g.runs])
        con.executemany("INSERT INTO dataset (id, namespace, name, created_at) VALUES (?, 's3://lake', ?, ?)",
                        [(d, f"ds-{d}", ts) for d in g.datasets])
        con.executemany(
            "INSERT INTO artifact_version (id, artifact_id, \"index\", digest, state, size, file_count, metadata, tags, "
            "pending_aliases, run_id, created_at, committed_at) VALUES (?, ?, ?, ?, 'COMMITTED', 0, 0, '{}', '[]', '[]', ?, ?, ?)",
            [(v, a, i, f"{v:064x}", r, ts, ts) for v, a, i, r in g.versions])
        con.executemany("INSERT INTO lineage_edge (src_kind, src_id, dst_kind, dst_id, kind, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)", [(*e, ts) for e in g.edges])
    con.execute("ANALYZE")
    con.close()


async def postgres_load(dsn: str, g: Graph) -> None:
    import asyncpg

    con = await asyncpg.connect(dsn)
    try:
        async with con.transaction():
            await con.execute("INSERT INTO project (id, name, created_at) VALUES (1, 'bench', $1)", NOW)
            await con.copy_records_to_table("collection", columns=["id", "project_id", "name", "kind", "type", "tags",
                                                                   "created_at"],
                                            records=[(a, 1, n, "artifact", t, "[]", NOW) for a, n, t in ARTIFACTS])
            await con.copy_records_to_table("run", columns=["id", "project_id", "name", "status", "config", "summary",
                                                            "created_at"],
                                            records=[(r, 1, n, "FINISHED", "{}", "{}", NOW) for r, n in g.runs])
            await con.copy_records_to_table("dataset", columns=["id", "namespace", "name", "created_at"],
                                            records=[(d, "s3://lake", f"ds-{d}", NOW) for d in g.datasets])
            await con.copy_records_to_table(
                "artifact_version",
                columns=["id", "artifact_id", "index", "digest", "state", "size", "file_count", "metadata", "tags",
                         "pending_aliases", "run_id", "created_at", "committed_at"],
                records=[(v, a, i, f"{v:064x}", "COMMITTED", 0, 0, "{}", "[]", "[]", r, NOW, NOW)
                         for v, a, i, r in g.versions])
            await con.copy_records_to_table("lineage_edge", columns=["src_kind", "src_id", "dst_kind", "dst_id", "kind",
                                                                     "created_at"],
                                            records=[(*e, NOW) for e in g.edges])
        # What autovacuum does to a table soon after bulk inserts: statistics, and the visibility map that
        # lets index-only scans skip the heap.
        await con.execute("VACUUM ANALYZE")
    finally:
        await con.close()
