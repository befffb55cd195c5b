"""Synthetic registry contents for the search benchmark, bulk-loaded straight into the migrated schema.

Scale 1.0: 10,000 artifacts x 100 committed versions, plus one artifact (``big``) with 100,000 versions:
1,100,000 versions. Every version has:

* metadata with 5 keys: framework (5 values), dataset, lr, epochs, team;
* tags on 20 % of versions, drawn from ``TAG_SETS`` (``candidate`` on 8 % of all versions);
* ``created_by`` one of 20 users; ``created_at`` spread over 2025 (a version's index grows with its time);
* a digest unique per artifact (unique overall, in fact);
* 3 evaluation metrics (auc, accuracy, loss), 1 or 2 points each, and their ``version_metric_summary`` rows,
  exactly consistent with the points (latest/latest_at/latest_id = the newest point, count/min/max/sum).

Rows are generated in chunks (never all in memory) by a seeded generator, so every run with the same scale
loads the same data, and ``Expect`` counts what the benchmark's filters must find.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR = timedelta(days=365)
FRAMEWORKS = ("sklearn", "pytorch", "xgboost", "tensorflow", "lightgbm")
TEAMS = ("churn", "fraud", "search", "ads", "risk", "vision")
TAG_SETS = (["candidate"], ["reviewed"], ["candidate", "reviewed"], ["baseline"], ["nightly"])
TAG_JSON = [json.dumps(t) for t in TAG_SETS]
TYPES = (("model", 0.6), ("dataset", 0.3), ("eval", 0.1))
METRICS = ("auc", "accuracy", "loss")
SOURCE = "evaluation"
BIG = "big"
PROJECT = "bench"

VERSION_COLUMNS = ["id", "artifact_id", "index", "digest", "state", "size", "file_count", "metadata", "tags",
                   "pending_aliases", "created_by", "created_at", "committed_at"]
METRIC_COLUMNS = ["id", "version_id", "source", "name", "value", "at", "step"]
SUMMARY_COLUMNS = ["version_id", "source", "name", "latest", "latest_at", "latest_id", "count", "min", "max", "sum"]


@dataclass(frozen=True)
class Spec:
    artifacts: int
    per_artifact: int
    big: int  # versions of the one big artifact

    @classmethod
    def of(cls, scale: float) -> Spec:
        return cls(max(1, round(10_000 * scale)), 100, max(100, round(100_000 * scale)))

    @property
    def versions(self) -> int:
        return self.artifacts * self.per_artifact + self.big

    @property
    def big_id(self) -> int:
        """The big artifact's collection id (the others are 1..artifacts)."""
        return self.artifacts + 1

    def signature(self) -> str:
        return f"{self.artifacts}x{self.per_artifact}+{self.big} v1"


def artifact_name(a: int) -> str:
    return f"a-{a:05d}"


@dataclass
class Expect:
    """What the benchmark's filters must find in the generated data."""

    selective: int = 0  # tag candidate, metadata.framework = sklearn, evaluation auc >= SELECTIVE_AUC
    models: int = 0  # versions of artifacts of type model
    candidate: int = 0  # versions tagged candidate (the MLflow peer's filter)
    points: int = 0
    types: dict[int, str] = field(default_factory=dict)


SELECTIVE_AUC = 0.95


def collections(spec: Spec, seed: int = 7) -> list[tuple[int, str, str]]:
    """(id, name, type) of every artifact; the big one last."""
    rnd = random.Random(seed)
    names, weights = zip(*TYPES, strict=True)
    out = [(a, artifact_name(a), rnd.choices(names, weights)[0]) for a in range(1, spec.artifacts + 1)]
    out.append((spec.big_id, BIG, "model"))
    return out


@dataclass
class Chunk:
    versions: list[tuple] = field(default_factory=list)
    metrics: list[tuple] = field(default_factory=list)
    summaries: list[tuple] = field(default_factory=list)


def chunks(spec: Spec, expect: Expect, seed: int = 7, size: int = 20_000) -> Iterator[Chunk]:
    """The versions, points and summaries, ``size`` versions at a time, in id order (datetimes are aware UTC)."""
    rnd = random.Random(seed + 1)
    types = {c[0]: c[2] for c in collections(spec, seed)}
    expect.types = types
    version_id = point_id = 0
    chunk = Chunk()
    hour = timedelta(hours=1)
    plan = [(a, spec.per_artifact) for a in range(1, spec.artifacts + 1)] + [(spec.big_id, spec.big)]
    for artifact, count in plan:
        is_model = types[artifact] == "model"
        for index in range(count):
            version_id += 1
            if artifact == spec.big_id:
                offset = YEAR * (index / count)
            else:  # round robin: version i of every artifact lands near the same time
                offset = YEAR * ((index * spec.artifacts + artifact - 1) / (spec.artifacts * spec.per_artifact))
            created = START + offset
            framework = FRAMEWORKS[rnd.randrange(5)]
            meta = json.dumps({"framework": framework, "dataset": f"ds-{rnd.randrange(500)}",
                               "lr": round(rnd.uniform(1e-4, 1e-1), 5), "epochs": rnd.randrange(1, 200),
                               "team": TEAMS[rnd.randrange(len(TEAMS))]})
            tag_set = rnd.randrange(len(TAG_SETS)) if rnd.random() < 0.2 else None
            tags = TAG_JSON[tag_set] if tag_set is not None else "[]"
            candidate = tag_set is not None and "candidate" in TAG_SETS[tag_set]
            chunk.versions.append((version_id, artifact, index, f"{version_id:064x}", "COMMITTED",
                                   rnd.randrange(1_000, 10**9), 0, meta, tags, "[]", f"user-{rnd.randrange(20)}",
                                   created, created))
            auc = None
            for name in METRICS:
                values = []
                for step in range(1 + (rnd.random() < 0.5)):
                    point_id += 1
                    at = created + hour * (step + 1)
                    value = rnd.uniform(0.5, 1.0) if name != "loss" else rnd.uniform(0.01, 1.0)
                    values.append(value)
                    chunk.metrics.append((point_id, version_id, SOURCE, name, value, at, step))
                chunk.summaries.append((version_id, SOURCE, name, values[-1], at, point_id, len(values), min(values),
                                        max(values), sum(values)))
                expect.points += len(values)
                if name == "auc":
                    auc = values[-1]
            expect.models += is_model
            expect.candidate += candidate
            expect.selective += candidate and framework == "sklearn" and auc is not None and auc >= SELECTIVE_AUC
            if len(chunk.versions) >= size:
                yield chunk
                chunk = Chunk()
    if chunk.versions:
        yield chunk


def version_id_of(spec: Spec, artifact: int, index: int) -> int:
    """The row id the generator gives version ``index`` of ``artifact``."""
    return (artifact - 1) * spec.per_artifact + index + 1


def _sqlite_time(dt: datetime) -> str:
    return dt.isoformat(" ", "microseconds")[:26]  # SQLAlchemy's SQLite DATETIME format, UTC


def sqlite_load(path: str, spec: Spec, expect: Expect) -> None:
    import sqlite3

    ts = _sqlite_time(START)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    with con:
        con.execute("INSERT INTO project (id, name, created_at) VALUES (1, ?, ?)", (PROJECT, ts))
        con.executemany("INSERT INTO collection (id, project_id, name, kind, type, tags, created_at) "
                        "VALUES (?, 1, ?, 'artifact', ?, '[]', ?)", [(*c, ts) for c in collections(spec)])

        def insert(table: str, columns: list[str], rows: list[tuple]) -> None:
            cols = ", ".join(f'"{c}"' for c in columns)
            con.executemany(f"INSERT INTO {table} ({cols}) VALUES ({', '.join('?' * len(columns))})", rows)

        for chunk in chunks(spec, expect):
            insert("artifact_version", VERSION_COLUMNS,
                   [(*v[:11], _sqlite_time(v[11]), _sqlite_time(v[12])) for v in chunk.versions])
            insert("version_metric", METRIC_COLUMNS, [(*m[:5], _sqlite_time(m[5]), m[6]) for m in chunk.metrics])
            insert("version_metric_summary", SUMMARY_COLUMNS,
                   [(*s[:4], _sqlite_time(s[4]), *s[5:]) for s in chunk.summaries])
    con.execute("ANALYZE")
    con.close()


async def postgres_load(dsn: str, spec: Spec, expect: Expect) -> None:
    import asyncpg

    con = await asyncpg.connect(dsn)
    try:
        async with con.transaction():
            await con.execute("INSERT INTO project (id, name, created_at) VALUES (1, $1, $2)", PROJECT, START)
            await con.copy_records_to_table(
                "collection", columns=["id", "project_id", "name", "kind", "type", "tags", "created_at"],
                records=[(c[0], 1, c[1], "artifact", c[2], "[]", START) for c in collections(spec)])
            for chunk in chunks(spec, expect, size=100_000):
                await con.copy_records_to_table("artifact_version", columns=VERSION_COLUMNS, records=chunk.versions)
                await con.copy_records_to_table("version_metric", columns=METRIC_COLUMNS, records=chunk.metrics)
                await con.copy_records_to_table("version_metric_summary", columns=SUMMARY_COLUMNS,
                                                records=chunk.summaries)
            # Rows came with explicit ids: move the sequences past them, or the server's next insert collides.
            for table in ("project", "collection", "artifact_version", "version_metric"):
                await con.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))")
        await con.execute("VACUUM ANALYZE")  # what autovacuum does soon after bulk inserts
    finally:
        await con.close()
