"""Finding versions at company scale: 1,100,000 versions with metrics, on SQLite and PostgreSQL, next to MLflow.

    .venv/bin/python bench/search.py [--scale 1.0] [--db sqlite|postgresql|both] [--repeat 30] [--keep DIR]
                                     [--no-mlflow] [--mlflow-scale S] [--response-cache]

Bulk-loads ``_search_data.py``'s registry (scale 1.0: 10,000 artifacts x 100
committed versions plus one artifact with 100,000 versions; 20 % tagged,
metadata with 5 keys, 3 evaluation metrics per version with their summaries)
straight into a freshly migrated database, starts a real ``lineage-reg serve``
process on it (response cache off unless ``--response-cache``: every timed
request is executed), checks a few loaded versions resolve through GraphQL as
generated, then times over real HTTP, one keep-alive connection, ``--repeat``
requests each after a warm-up:

* the 50 newest versions of the big artifact: the first page, and page 1,000
  through its cursor (built with ``ids.encode_cursor``; at small scales the
  last full page);
* ``searchVersions``: a selective filter (tag ``candidate``, metadata
  framework = sklearn, evaluation auc >= 0.95, ordered by auc) and an
  unselective one (type model, newest first), first 50;
* ``logVersionMetricsBatch`` ingest: 40 batches per client of 1,000 points (250 inputs x 4
  metrics) from 4 concurrent clients: points/s.

Search and ingest need the API of issue 17; on a tree whose schema lacks a
field, the row says "n/a (API not on this tree)".

Unless ``--no-mlflow``, MLflow 3.17.2 (own venv, ``--mlflow-venv``) is loaded
with the same versions at ``--mlflow-scale`` (default: ``--scale``) and asked
``search_model_versions`` with the equivalent tag filter
(``tags.candidate = 'true'``, newest first, 50 results), plus the 50 newest
versions of the big model. MLflow is loaded directly into its SQLite database
(not through its REST API, which creates ~63 versions/s here: hours at scale
1.0): one registered model and one tagged version are first created through
MLflow's REST API and every loaded row copies that row's columns, so the rows
are what MLflow itself writes; a REST search then checks MLflow sees them.

``--keep DIR`` keeps the loaded databases in DIR and reuses them on the next
run with the same ``--scale`` (loading is most of the run's time). Ingest adds
points to a kept database (other metrics, source ``production``): the search
measurements do not read them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _search_data as data  # noqa: E402
from _load import json_request, send  # noqa: E402
from hot_path import Registry, ensure_mlflow, free_port  # noqa: E402

from lineage_reg import ids  # noqa: E402
from lineage_reg.config import Settings  # noqa: E402
from lineage_reg.services.lifecycle import upgrade_database  # noqa: E402

NA = "n/a (API not on this tree)"
PAGE = 50
VERSION_FIELDS = "id index ref digest createdAt tags metadata"
ARTIFACT_PAGE = (f'query($after: String) {{ artifact(project: "{data.PROJECT}", name: "{data.BIG}") {{ '
                 f'versions(first: {PAGE}, after: $after) {{ edges {{ cursor node {{ {VERSION_FIELDS} }} }} '
                 'pageInfo { hasNextPage endCursor } } } }')
SEARCH = (f'query($filter: VersionFilter, $orderBy: [VersionOrder!]) {{ searchVersions(filter: $filter, '
          f'orderBy: $orderBy, first: {PAGE}) {{ edges {{ cursor node {{ {VERSION_FIELDS} }} }} '
          'pageInfo { hasNextPage endCursor } } }')
SELECTIVE = {
    "filter": {"tagsAll": ["candidate"], "metadata": [{"path": "framework", "op": "EQ", "value": "sklearn"}],
               "metrics": [{"name": "auc", "source": data.SOURCE, "op": "GTE", "value": data.SELECTIVE_AUC}]},
    "orderBy": [{"field": "METRIC", "metric": "auc", "source": data.SOURCE, "direction": "DESC"}],
}
TAG_ONLY = {"filter": {"tagsAll": ["candidate"]}, "orderBy": [{"field": "CREATED_AT", "direction": "DESC"}]}
UNSELECTIVE = {"filter": {"type": "model"}, "orderBy": [{"field": "CREATED_AT", "direction": "DESC"}]}
INGEST = "mutation($points: [VersionMetricsInput!]!) { logVersionMetricsBatch(points: $points) }"
INGEST_METRICS = ("latency_p99_ms", "requests_per_s", "error_rate", "cpu")
RESOLVE = f"query($ref: String!) {{ resolve(ref: $ref) {{ {VERSION_FIELDS} }} }}"
METRICS_OF = ('query($ref: String!) { resolve(ref: $ref) { metrics(source: "evaluation") '
              '{ name source latest count min max mean } } }')
# Introspection is off on a production server: a field exists unless the probe fails validation.
PROBES = {
    "searchVersions": "{ searchVersions(first: 1) { edges { cursor } } }",
    "metrics": f'{{ resolve(ref: "{data.PROJECT}/{data.BIG}:v0") {{ metrics {{ name }} }} }}',
    "logVersionMetricsBatch": "mutation { logVersionMetricsBatch(points: []) }",
}

TARGETS = {"page": 20.0, "search": 50.0}
INGEST_TARGET = 20_000.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Api:
    """GraphQL over one keep-alive connection to a ``lineage-reg serve`` process."""

    def __init__(self, reg: Registry) -> None:
        self.reg = reg
        self.conn = HTTPConnection("127.0.0.1", reg.port, timeout=120)

    def request(self, query: str, variables: dict[str, Any]) -> tuple[str, str, bytes | None, dict[str, str]]:
        return json_request("POST", "/graphql", {"query": query, "variables": variables}, self.reg.headers)

    def call(self, query: str, **variables: Any) -> dict[str, Any]:
        status, body = send(self.conn, self.request(query, variables))
        answer = json.loads(body)
        if status != 200 or answer.get("errors"):
            raise RuntimeError(f"{status}: {str(answer)[:1000]}")
        return answer["data"]  # type: ignore[no-any-return]

    def has(self, probe: str) -> bool:
        """False when the server's schema lacks what ``probe`` asks for (GRAPHQL_VALIDATION_FAILED)."""
        _, body = send(self.conn, self.request(probe, {}))
        errors = json.loads(body).get("errors") or []
        return not any((e.get("extensions") or {}).get("code") == "GRAPHQL_VALIDATION_FAILED" for e in errors)

    def timed(self, query: str, variables: dict[str, Any], repeat: int,
              check: Callable[[dict[str, Any]], None]) -> list[float]:
        """ms of each of ``repeat`` requests (after 3 untimed), every answer checked."""
        req = self.request(query, variables)
        times = []
        for i in range(repeat + 3):
            t = time.perf_counter()
            status, body = send(self.conn, req)
            elapsed = (time.perf_counter() - t) * 1000
            answer = json.loads(body)
            if status != 200 or answer.get("errors"):
                raise RuntimeError(f"{status}: {str(answer)[:1000]}")
            check(answer["data"])
            if i >= 3:
                times.append(elapsed)
        return times


def check_loaded(api: Api, spec: data.Spec, has_metrics: bool) -> None:
    """A few generated versions, resolved through the real server, are what the generator wrote."""
    names = {c[0]: c[1] for c in data.collections(spec)}
    for artifact, index in ((1, 0), (spec.artifacts, spec.per_artifact - 1), (spec.big_id, spec.big // 2)):
        ref = f"{data.PROJECT}/{names[artifact]}:v{index}"
        got = api.call(RESOLVE, ref=ref)["resolve"]
        vid = data.version_id_of(spec, artifact, index)
        if got is None or got["digest"] != f"{vid:064x}" or got["index"] != index or set(got["metadata"]) != {
                "framework", "dataset", "lr", "epochs", "team"}:
            raise RuntimeError(f"{ref} does not resolve as loaded: {got}")
        if has_metrics:
            series = {s["name"]: s for s in api.call(METRICS_OF, ref=ref)["resolve"]["metrics"]}
            if set(series) != set(data.METRICS) or any(
                    not (s["min"] <= s["latest"] <= s["max"] and s["count"] in (1, 2)
                         and s["min"] <= s["mean"] <= s["max"]) for s in series.values()):
                raise RuntimeError(f"{ref}: metrics not as loaded: {series}")


def row(name: str, dialect: str, scale: float, times: list[float] | None, target_ms: float | None,
        note: str = "") -> str:
    if times is None:
        return f"| {name} | {dialect} | {scale:g} | {NA} | | | p50 < {target_ms:g} ms | |"
    p50 = statistics.median(times)
    target = f"p50 < {target_ms:g} ms" if target_ms else ""
    ratio = f"{p50 / target_ms:.2f}" if target_ms else ""
    return f"| {name}{note} | {dialect} | {scale:g} | {len(times)} | {p50:.1f} | {pct(times, 0.99):.1f} | {target} | {ratio} |"


def measure(reg: Registry, dialect: str, scale: float, spec: data.Spec, expect: data.Expect, repeat: int,
            ingest_batches: int) -> tuple[list[str], dict[str, float]]:
    """The table's rows for this database, and the p50s the MLflow comparison needs (by case)."""
    api = Api(reg)
    has = {name: api.has(probe) for name, probe in PROBES.items()}
    check_loaded(api, spec, has["metrics"])
    rows = []
    p50s: dict[str, float] = {}

    def timed(key: str, query: str, variables: dict[str, Any], check: Callable[[dict[str, Any]], None]) -> list[float]:
        times = api.timed(query, variables, repeat, check)
        p50s[key] = statistics.median(times)
        return times

    def newest_page(first_index: int) -> Callable[[dict[str, Any]], None]:
        def check(d: dict[str, Any]) -> None:
            got = [e["node"]["index"] for e in d["artifact"]["versions"]["edges"]]
            if got != list(range(first_index, first_index - PAGE, -1)):
                raise RuntimeError(f"wrong page: {got[:3]}…")
        return check

    rows.append(row("big artifact: 50 newest, first page", dialect, scale,
                    timed("page", ARTIFACT_PAGE, {"after": None}, newest_page(spec.big - 1)), TARGETS["page"]))
    page = min(1000, spec.big // PAGE)
    # The cursor of page `page` is the key (index) of the last version of page `page - 1`.
    after = ids.encode_cursor(spec.big - (page - 1) * PAGE)
    rows.append(row(f"big artifact: page {page:,} via cursor", dialect, scale,
                    timed("page_deep", ARTIFACT_PAGE, {"after": after}, newest_page(spec.big - 1 - (page - 1) * PAGE)),
                    TARGETS["page"]))

    if has["searchVersions"]:
        def found(n: int) -> Callable[[dict[str, Any]], None]:
            def check(d: dict[str, Any]) -> None:
                if len(d["searchVersions"]["edges"]) != n:
                    raise RuntimeError(f"searchVersions found {len(d['searchVersions']['edges'])}, expected {n}")
            return check

        rows.append(row("searchVersions selective (tag + metadata + metric, by metric)", dialect, scale,
                        timed("selective", SEARCH, SELECTIVE, found(min(PAGE, expect.selective))), TARGETS["search"],
                        f" ({expect.selective:,} match)"))
        rows.append(row("searchVersions unselective (type model, newest first)", dialect, scale,
                        timed("unselective", SEARCH, UNSELECTIVE, found(min(PAGE, expect.models))),
                        TARGETS["search"], f" ({expect.models:,} match)"))
        rows.append(row("searchVersions tag candidate, newest first (MLflow's tag search)", dialect, scale,
                        timed("search", SEARCH, TAG_ONLY, found(min(PAGE, expect.candidate))), TARGETS["search"],
                        f" ({expect.candidate:,} match)"))
    else:
        rows.append(row("searchVersions selective (tag + metadata + metric, by metric)", dialect, scale, None,
                        TARGETS["search"]))
        rows.append(row("searchVersions unselective (type model, newest first)", dialect, scale, None,
                        TARGETS["search"]))
        rows.append(row("searchVersions tag candidate, newest first (MLflow's tag search)", dialect, scale, None,
                        TARGETS["search"]))

    if has["logVersionMetricsBatch"]:
        rows.append(ingest(reg, dialect, scale, spec, ingest_batches))
    else:
        rows.append(f"| logVersionMetricsBatch ingest (points/s) | {dialect} | {scale:g} | {NA} | | | "
                    f"≥ {INGEST_TARGET:,.0f} points/s (PostgreSQL) | |")
    return rows, p50s


def ingest(reg: Registry, dialect: str, scale: float, spec: data.Spec, batches: int, clients: int = 4,
           inputs: int = 250) -> str:
    """``clients`` threads, each sending ``batches`` batches of ``inputs`` x 4 points (one warm-up batch each)."""
    targets = [ids.encode("ArtifactVersion", v) for v in range(1, min(spec.versions, 1_000) + 1)]
    stored = [0] * clients
    latencies: list[float] = []
    errors: list[str] = []
    gate = threading.Barrier(clients + 1)

    def body(t: int, b: int) -> tuple[str, str, bytes | None, dict[str, str]]:
        points = [{"version": targets[(t * 7919 + b * inputs + i) % len(targets)], "source": "production",
                   "metrics": {m: float(i % 97) + k for k, m in enumerate(INGEST_METRICS)}} for i in range(inputs)]
        return json_request("POST", "/graphql", {"query": INGEST, "variables": {"points": points}}, reg.headers)

    def worker(t: int) -> None:
        conn = HTTPConnection("127.0.0.1", reg.port, timeout=120)
        reqs = [body(t, b) for b in range(batches + 1)]
        try:
            send(conn, reqs[0])  # warm-up, untimed
            gate.wait()
            for req in reqs[1:]:
                t0 = time.perf_counter()
                status, raw = send(conn, req)
                latencies.append((time.perf_counter() - t0) * 1000)
                answer = json.loads(raw)
                if status != 200 or answer.get("errors"):
                    raise RuntimeError(f"{status}: {str(answer)[:500]}")
                stored[t] += answer["data"]["logVersionMetricsBatch"]
        except Exception as e:  # noqa: BLE001 (reported by the caller)
            errors.append(repr(e))
            gate.abort()

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(clients)]
    for th in threads:
        th.start()
    try:
        gate.wait()
    except threading.BrokenBarrierError:
        pass
    t0 = time.perf_counter()
    for th in threads:
        th.join()
    wall = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"ingest failed: {errors[0]}")
    points = sum(stored)
    if points != clients * batches * inputs * len(INGEST_METRICS):
        raise RuntimeError(f"ingest stored {points} points, sent {clients * batches * inputs * len(INGEST_METRICS)}")
    rate = points / wall
    target = f"≥ {INGEST_TARGET:,.0f} points/s" + (" (PostgreSQL)" if dialect == "sqlite" else "")
    return (f"| logVersionMetricsBatch ingest: {rate:,.0f} points/s ({clients} clients, batches of "
            f"{inputs * len(INGEST_METRICS):,} points; {points:,} points in {wall:.1f} s) | {dialect} | {scale:g} | "
            f"{len(latencies)} batches | {statistics.median(latencies):.1f} | {pct(latencies, 0.99):.1f} | {target} | "
            f"{rate / INGEST_TARGET:.2f} (of target rate) |")


def _settings(url: str, work: Path) -> Settings:
    return Settings(data_dir=work / "settings", database_url=url)


def _loaded(work: Path, dialect: str, spec: data.Spec) -> data.Expect | None:
    marker = work / f"search-{dialect}.loaded"
    if marker.exists():
        saved = json.loads(marker.read_text())
        if saved.pop("spec") == spec.signature():
            return data.Expect(**saved)
    return None


def _mark_loaded(work: Path, dialect: str, spec: data.Spec, expect: data.Expect) -> None:
    (work / f"search-{dialect}.loaded").write_text(json.dumps(
        {"spec": spec.signature(), "selective": expect.selective, "models": expect.models,
         "candidate": expect.candidate, "points": expect.points}))


def serve(work: Path, dialect: str, url: str, response_cache: bool) -> Registry:
    env = {} if response_cache else {"LINEAGE_REG_RESPONSE_CACHE": "0"}
    return Registry(work, env, database_url=url, data_dir=f"search-{dialect}-data")


Outcome = tuple[list[str], dict[str, float], str]  # rows, p50 by case, load time


def run_sqlite(spec: data.Spec, args: argparse.Namespace, work: Path) -> Outcome:
    path = work / "search.db"
    url = f"sqlite+aiosqlite:///{path}"
    expect = _loaded(work, "sqlite", spec)
    load_note = "reused (--keep)"
    if expect is None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(work / "search-sqlite-data", ignore_errors=True)
        asyncio.run(upgrade_database(_settings(url, work)))
        expect = data.Expect()
        t = time.perf_counter()
        data.sqlite_load(str(path), spec, expect)
        load_note = f"{time.perf_counter() - t:.2f} s"
        _mark_loaded(work, "sqlite", spec, expect)
    print(f"sqlite: {spec.versions:,} versions, {expect.points:,} points; load {load_note}", file=sys.stderr)
    reg = serve(work, "sqlite", url, args.response_cache)
    try:
        return (*measure(reg, "sqlite", args.scale, spec, expect, args.repeat, args.ingest_batches), load_note)
    finally:
        reg.stop()


def run_postgres(spec: data.Spec, args: argparse.Namespace, work: Path) -> Outcome:
    import pgserver

    from lineage_reg.store.db import Database

    expect = _loaded(work, "postgresql", spec)
    if expect is None:
        shutil.rmtree(work / "search-pg", ignore_errors=True)  # a half-loaded database from an interrupted run
        shutil.rmtree(work / "search-postgresql-data", ignore_errors=True)
    server = pgserver.get_server(work / "search-pg", cleanup_mode="stop")
    try:
        sock = server.get_uri().split("host=")[1]
        url = f"postgresql+asyncpg://postgres@/postgres?host={sock}"
        load_note = "reused (--keep)"
        if expect is None:
            asyncio.run(upgrade_database(_settings(url, work)))
            expect = data.Expect()
            t = time.perf_counter()
            asyncio.run(data.postgres_load(Database(url).driver_dsn(), spec, expect))
            load_note = f"{time.perf_counter() - t:.2f} s"
            _mark_loaded(work, "postgresql", spec, expect)
        print(f"postgresql: {spec.versions:,} versions, {expect.points:,} points; load {load_note}", file=sys.stderr)
        reg = serve(work, "postgresql", url, args.response_cache)
        try:
            return (*measure(reg, "postgresql", args.scale, spec, expect, args.repeat, args.ingest_batches),
                    load_note)
        finally:
            reg.stop()
    finally:
        server.cleanup()


# MLflow ---------------------------------------------------------------------------------------------------------

MLFLOW_API = "/api/2.0/mlflow"


def _mlflow_get(conn: HTTPConnection, path: str, **params: Any) -> dict[str, Any]:
    status, body = send(conn, ("GET", f"{MLFLOW_API}{path}?{urlencode(params)}", None, {}))
    if status != 200:
        raise RuntimeError(f"MLflow GET {path} -> {status}: {body[:500]!r}")
    return json.loads(body)  # type: ignore[no-any-return]


def _mlflow_post(conn: HTTPConnection, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, raw = send(conn, json_request("POST", f"{MLFLOW_API}{path}", body))
    if status != 200:
        raise RuntimeError(f"MLflow POST {path} -> {status}: {raw[:500]!r}")
    return json.loads(raw)  # type: ignore[no-any-return]


def mlflow_load(db: Path, conn: HTTPConnection, spec: data.Spec) -> int:
    """Our artifacts as MLflow registered models, their versions (1-based) as model versions, each tag ``t`` of a
    version as the model-version tag ``t = 'true'``; creation times as generated. Returns the candidate count."""
    _mlflow_post(conn, "/registered-models/create", {"name": "template"})
    _mlflow_post(conn, "/model-versions/create", {"name": "template", "source": "s3://lineage-bench/template",
                                                  "tags": [{"key": "candidate", "value": "true"}]})
    con = sqlite3.connect(db, timeout=60)
    con.row_factory = sqlite3.Row
    templates = {t: dict(con.execute(f"SELECT * FROM {t} WHERE name = 'template'").fetchone())
                 for t in ("registered_models", "model_versions", "model_version_tags")}

    def insert(table: str, rows: list[dict[str, Any]]) -> None:
        cols = list(templates[table])
        quoted = ", ".join(f'"{c}"' for c in cols)
        con.executemany(f"INSERT INTO {table} ({quoted}) VALUES ({', '.join('?' * len(cols))})",
                        [[r[c] for c in cols] for r in rows])

    def millis(dt: Any) -> int:
        return int(dt.timestamp() * 1000)

    with con:
        con.execute("DELETE FROM model_version_tags WHERE name = 'template'")
        con.execute("DELETE FROM model_versions WHERE name = 'template'")
        con.execute("DELETE FROM registered_models WHERE name = 'template'")
        names = {c[0]: c[1] for c in data.collections(spec)}
        t0 = millis(data.START)
        insert("registered_models", [{**templates["registered_models"], "name": n, "creation_time": t0,
                                      "last_updated_time": t0} for n in names.values()])
        candidate = 0
        for chunk in data.chunks(spec, data.Expect(), size=50_000):
            versions, tags = [], []
            for v in chunk.versions:
                name, number, created = names[v[1]], v[2] + 1, millis(v[11])
                versions.append({**templates["model_versions"], "name": name, "version": number,
                                 "creation_time": created, "last_updated_time": created,
                                 "source": f"s3://lineage-bench/{name}/v{number}", "user_id": v[10]})
                for tag in json.loads(v[8]):
                    tags.append({**templates["model_version_tags"], "name": name, "version": number, "key": tag})
                    candidate += tag == "candidate"
            insert("model_versions", versions)
            insert("model_version_tags", tags)
    con.execute("ANALYZE")
    con.close()
    return candidate


def run_mlflow(args: argparse.Namespace, work: Path) -> tuple[list[str], dict[str, float], str]:
    from _mlflow_peer import MlflowPeer

    spec = data.Spec.of(args.mlflow_scale)
    rows: list[str] = []
    p50s: dict[str, float] = {}
    with MlflowPeer(str(ensure_mlflow(args.mlflow_venv.resolve())), work / "mlflow", free_port()) as peer:
        conn = HTTPConnection("127.0.0.1", peer.port, timeout=600)
        t = time.perf_counter()
        candidate = mlflow_load(peer.workdir / "mlflow.db", conn, spec)
        load_note = f"{time.perf_counter() - t:.2f} s"
        print(f"mlflow: {spec.versions:,} versions loaded into its SQLite in {load_note}", file=sys.stderr)
        # A new connection: uvicorn closed the first one while the load ran (its keep-alive lasts 5 s).
        conn.close()
        conn = HTTPConnection("127.0.0.1", peer.port, timeout=600)
        cases = [
            ("tag search: tags.candidate = 'true', newest first, 50", "search", min(PAGE, candidate),
             {"filter": "tags.candidate = 'true'", "max_results": PAGE, "order_by": "creation_timestamp DESC"}),
            ("big model: 50 newest versions, first page", "page", PAGE,
             {"filter": f"name = '{data.BIG}'", "max_results": PAGE, "order_by": "version_number DESC"}),
        ]
        page = min(1000, spec.big // PAGE)
        # MLflow's page token is base64 of {"offset": n} (an OFFSET query): page `page` starts at (page - 1) * 50.
        token = base64.b64encode(json.dumps({"offset": (page - 1) * PAGE}).encode()).decode()
        cases.append((f"big model: page {page:,} via page token", "page_deep", PAGE,
                      {**cases[1][3], "page_token": token}))
        repeat = args.mlflow_repeat or args.repeat
        for label, key, expected, params in cases:
            times = []
            for i in range(repeat + 1):
                t0 = time.perf_counter()
                got = _mlflow_get(conn, "/model-versions/search", **params)
                elapsed = (time.perf_counter() - t0) * 1000
                if len(got.get("model_versions", [])) != expected:
                    raise RuntimeError(f"MLflow {label}: {len(got.get('model_versions', []))} results, "
                                       f"expected {expected}")
                if i:
                    times.append(elapsed)
            p50s[key] = statistics.median(times)
            rows.append(f"| MLflow 3.17.2 {label} | mlflow (sqlite) | {args.mlflow_scale:g} | {len(times)} | "
                        f"{p50s[key]:.1f} | {pct(times, 0.99):.1f} | | |")
    return rows, p50s, load_note


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--ingest-batches", type=int, default=40,
                    help="batches per ingest client (1,000 points each); fewer than ~20 measure warm-up (each "
                         "pooled connection prepares its statements on first use) more than the steady rate")
    ap.add_argument("--keep", type=Path, help="keep the loaded databases here and reuse them next time")
    ap.add_argument("--response-cache", action="store_true", help="leave the server's response cache on")
    ap.add_argument("--no-mlflow", action="store_true")
    ap.add_argument("--mlflow-scale", type=float, help="scale of MLflow's copy of the data (default: --scale)")
    ap.add_argument("--mlflow-repeat", type=int, help="requests per MLflow measurement (default: --repeat)")
    ap.add_argument("--mlflow-venv", type=Path, default=Path(".bench-mlflow"))
    args = ap.parse_args()
    args.mlflow_scale = args.scale if args.mlflow_scale is None else args.mlflow_scale
    spec = data.Spec.of(args.scale)
    rows, loads = [], []
    ours: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for dialect, run in (("sqlite", run_sqlite), ("postgresql", run_postgres)):
            if args.db in (dialect, "both"):
                got, ours[dialect], load_note = run(spec, args, work)
                rows += got
                print("\n".join(got), file=sys.stderr)  # now, in case a later part of the run fails
                loads.append(f"{dialect}: {load_note}")
        peer: list[str] = []
        ratios: list[str] = []
        if not args.no_mlflow:
            peer, p50s, mlflow_load_note = run_mlflow(args, work)
            loads.append(f"MLflow (direct SQLite insert, scale {args.mlflow_scale:g}): {mlflow_load_note}")
            for dialect, mine in ours.items():
                for key, what in (("search", "tag candidate, newest first, 50"),
                                  ("page", "50 newest of the big model"), ("page_deep", "deep page via cursor (1,000; the last full page at small scales)")):
                    if key in mine:
                        ratios.append(f"- {what}, {dialect}: MLflow p50 / ours p50 = "
                                      f"{p50s[key] / mine[key]:.1f}x (ours at scale {args.scale:g}, MLflow at "
                                      f"{args.mlflow_scale:g})")
    print(f"\n{spec.versions:,} versions ({spec.artifacts:,} artifacts x {spec.per_artifact} + {spec.big:,} in "
          f"'{data.BIG}'), scale {args.scale:g}; load times: {'; '.join(loads)}\n")
    print("| measurement | db | scale | n | p50 ms | p99 ms | target | p50 / target |")
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(rows + peer))
    if ratios:
        print("\n" + "\n".join(ratios))


if __name__ == "__main__":
    main()
