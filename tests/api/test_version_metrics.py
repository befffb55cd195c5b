"""Metrics on versions: logging points (one or a batch), reading series and points, validation, access, the
training source read from the producing run, metric() precedence, compareVersions, and no N+1 in lists."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import Api, snapshot
from support.two_projects import user
from support.versions import log_version
from test_loaders import count_statements

LOG = """mutation($v: String!, $m: JSON!, $s: String! = "evaluation", $at: DateTime, $step: Int) {
  logVersionMetrics(version: $v, metrics: $m, source: $s, at: $at, step: $step) }"""
BATCH = "mutation($p: [VersionMetricsInput!]!) { logVersionMetricsBatch(points: $p) }"
SERIES = """query($r: String!, $s: String, $n: [String!]) { resolve(ref: $r) {
  metrics(source: $s, names: $n) { name source latest count min max mean } } }"""
POINTS = """query($r: String!, $s: String!, $n: [String!], $first: Int, $after: String, $since: DateTime) {
  resolve(ref: $r) { metrics(source: $s, names: $n) { name points(first: $first, after: $after, since: $since) {
    totalCount pageInfo { hasNextPage endCursor } edges { cursor node { value at step } } } } } }"""


async def setup(api: Api) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    await log_version(api, {"model.bin": b"v0"})
    await log_version(api, {"model.bin": b"v1"})


async def series(api: Api, ref: str, source: str | None = None, names: list[str] | None = None) -> list[dict[str, Any]]:
    return (await api(SERIES, r=ref, s=source, n=names))["resolve"]["metrics"]  # type: ignore[no-any-return]


async def test_log_and_read_series_exactly(api: Api, dialect: str) -> None:
    await setup(api)
    assert await api(LOG, v="churn/classifier:v0", m={"auc": 0.9, "loss": 2}, at="2026-12-01T10:00:00Z") == {
        "logVersionMetrics": 2}
    points = [
        {"version": "churn/classifier:v0", "metrics": {"auc": 0.7}, "at": "2026-12-01T12:00:00+02:00"},  # 10:00Z
        {"version": "churn/classifier:v0", "metrics": {"auc": 0.8}, "at": "2026-12-01T11:00:00Z", "step": 3},
        {"version": "churn/classifier:v0", "metrics": {"auc": 0.5}, "at": "2026-11-30T00:00:00Z"},  # older
        {"version": "churn/classifier:v1", "metrics": {"latency_p99": 40}, "source": "production"},
    ]
    assert (await api(BATCH, p=points))["logVersionMetricsBatch"] == 4
    got = await series(api, "churn/classifier:v0")
    assert got == [
        {"name": "auc", "source": "evaluation", "latest": 0.8, "count": 4, "min": 0.5, "max": 0.9,
         "mean": pytest.approx((0.9 + 0.7 + 0.8 + 0.5) / 4)},
        {"name": "loss", "source": "evaluation", "latest": 2.0, "count": 1, "min": 2.0, "max": 2.0, "mean": 2.0},
    ]
    # An older point logged later does not become latest; same `at`, the later arrival wins.
    await api(LOG, v="churn/classifier:v0", m={"auc": 0.1}, at="2026-11-01T00:00:00Z")
    await api(LOG, v="churn/classifier:v0", m={"auc": 0.85}, at="2026-12-01T11:00:00Z")
    auc = (await series(api, "churn/classifier:v0", names=["auc"]))[0]
    assert (auc["latest"], auc["count"], auc["min"], auc["max"]) == (0.85, 6, 0.1, 0.9)
    assert await series(api, "churn/classifier:v1") == [
        {"name": "latency_p99", "source": "production", "latest": 40.0, "count": 1, "min": 40.0, "max": 40.0,
         "mean": 40.0}]
    assert await series(api, "churn/classifier:v1", source="evaluation") == []


async def test_points_page_with_since_and_after(api: Api, dialect: str) -> None:
    await setup(api)
    points = [{"version": "churn/classifier:v0", "metrics": {"auc": i / 10}, "at": f"2026-12-01T10:{i:02d}:00Z",
               "step": i} for i in range(7)]
    points.append({"version": "churn/classifier:v0", "metrics": {"auc": 0.99}, "at": "2026-12-01T10:03:00Z"})  # tie
    await api(BATCH, p=points)
    seen: list[tuple[float, str, int | None]] = []
    after = None
    pages = 0
    while True:
        page = (await api(POINTS, r="churn/classifier:v0", s="evaluation", first=3, after=after))["resolve"]
        conn = page["metrics"][0]["points"]
        assert conn["totalCount"] == 8
        seen += [(e["node"]["value"], e["node"]["at"], e["node"]["step"]) for e in conn["edges"]]
        pages += 1
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert pages == 3
    assert [v for v, _, _ in seen] == [0.0, 0.1, 0.2, 0.3, 0.99, 0.4, 0.5, 0.6]  # by at, then arrival
    assert seen[1][2] == 1 and seen[4][2] is None
    since = (await api(POINTS, r="churn/classifier:v0", s="evaluation", first=2,
                       since="2026-12-01T10:04:00Z"))["resolve"]["metrics"][0]["points"]
    assert since["totalCount"] == 3 and [e["node"]["value"] for e in since["edges"]] == [0.4, 0.5]
    rest = (await api(POINTS, r="churn/classifier:v0", s="evaluation", first=2, since="2026-12-01T10:04:00Z",
                      after=since["pageInfo"]["endCursor"]))["resolve"]["metrics"][0]["points"]
    assert [e["node"]["value"] for e in rest["edges"]] == [0.6] and not rest["pageInfo"]["hasNextPage"]
    bad = await api.error(POINTS, r="churn/classifier:v0", s="evaluation", after="garbage")
    assert bad.code == "BAD_INPUT"


BAD = [
    ({"version": "churn/classifier:v0", "metrics": {"auc": "high"}}, "BAD_INPUT", "must be a number"),
    ({"version": "churn/classifier:v0", "metrics": {"auc": True}}, "BAD_INPUT", "must be a number"),
    ({"version": "churn/classifier:v0", "metrics": {"auc": [1]}}, "BAD_INPUT", "must be a number"),
    ({"version": "churn/classifier:v0", "metrics": {"bad name!": 1}}, "BAD_INPUT", "metric name"),
    ({"version": "churn/classifier:v0", "metrics": {"x" * 129: 1}}, "BAD_INPUT", "metric name"),
    ({"version": "churn/classifier:v0", "metrics": {}}, "BAD_INPUT", "empty"),
    ({"version": "churn/classifier:v0", "metrics": [1]}, "BAD_INPUT", "JSON object"),
    ({"version": "churn/classifier:v0", "metrics": {"auc": 1}, "source": "training"}, "BAD_INPUT", "reserved"),
    ({"version": "churn/classifier:v0", "metrics": {"auc": 1}, "source": "no spaces"}, "BAD_INPUT", "source"),
    ({"version": "churn/classifier:v9", "metrics": {"auc": 1}}, "NOT_FOUND", "v9"),
    ({"version": "churn/nope:v0", "metrics": {"auc": 1}}, "NOT_FOUND", "nope"),
    ({"version": "churn/classifier:v1", "metrics": {"auc": 1}}, "BAD_INPUT", "PENDING"),
    ({"version": "churn/classifier:v2", "metrics": {"auc": 1}}, "BAD_INPUT", "DELETED"),
    ({"version": "not a ref", "metrics": {"auc": 1}}, "BAD_INPUT", "point 1"),
]


async def test_every_validation_error_names_the_point_and_stores_nothing(api: Api, dialect: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    await log_version(api, {"model.bin": b"v0"})
    create = await api('mutation { createArtifactVersion(input: {project: "churn", artifact: "classifier", '
                       'type: "model", files: [{path: "p", size: 1, sha256: "' + "a" * 64 + '"}]}) '
                       '{ version { ref state } } }')
    assert create["createArtifactVersion"]["version"]["state"] == "PENDING"  # v1
    await log_version(api, {"model.bin": b"v2"})
    await api('mutation { deleteArtifactVersion(version: "churn/classifier:v2") { state } }')
    good = {"version": "churn/classifier:v0", "metrics": {"auc": 0.5}}
    before = await snapshot(api.server)
    for bad, code, words in BAD:
        err = await api.error(BATCH, p=[good, bad])
        assert err.code == code, (bad, err.errors)
        message = err.errors[0]["message"]
        assert words in message and "point 1" in message, (bad, message)
        assert await snapshot(api.server) == before, bad
    nan = await api.raw('mutation { logVersionMetrics(version: "churn/classifier:v0", metrics: {auc: 1e999}) }')
    assert nan.get("errors") and await snapshot(api.server) == before
    too_many = [{"version": "churn/classifier:v0", "metrics": {f"m{i}": 1 for i in range(100)}}] * 101
    err = await api.error(BATCH, p=too_many)
    assert err.code == "LIMIT_EXCEEDED" and "10000" in err.errors[0]["message"]
    assert await snapshot(api.server) == before
    assert (await api(BATCH, p=[]))["logVersionMetricsBatch"] == 0


async def test_access(api: Api, dialect: str) -> None:
    await setup(api)
    await api('mutation { createProject(name: "other") { id } }')
    await log_version(api, {"o.bin": b"o"}, project="other", artifact="m")
    v0 = (await api('{ resolve(ref: "churn/classifier:v0") { id } }'))["resolve"]["id"]
    viewer = await user(api, "vera", "churn", "viewer")
    outsider = await user(api, "otto", "other", "member")
    member = await user(api, "mia", "churn", "member")
    before = await snapshot(api.server)
    assert (await viewer.error(LOG, v="churn/classifier:v0", m={"auc": 1})).code == "FORBIDDEN"
    hidden = await outsider.error(LOG, v="churn/classifier:v0", m={"auc": 1})
    by_id = await outsider.error(LOG, v=v0, m={"auc": 1})
    missing = await outsider.error(LOG, v="churn/classifier:v99", m={"auc": 1})
    assert hidden.code == by_id.code == missing.code == "NOT_FOUND"  # as for the version itself
    # A batch with one point in a project the member can't write stores nothing.
    mixed = await member.error(BATCH, p=[{"version": "churn/classifier:v0", "metrics": {"a": 1}},
                                         {"version": "other/m:v0", "metrics": {"a": 1}}])
    assert mixed.code == "NOT_FOUND"
    assert await snapshot(api.server) == before
    assert (await member(LOG, v=v0, m={"auc": 0.5}))["logVersionMetrics"] == 1
    assert (await series(viewer, "churn/classifier:v0"))[0]["latest"] == 0.5
    assert (await outsider.error(SERIES, r="churn/classifier:v0")).code == "NOT_FOUND"
    node = await outsider(f'{{ node(id: "{v0}") {{ ... on ArtifactVersion {{ metric(name: "auc") }} }} }}')
    assert node["node"] is None


async def run_with(api: Api, metrics: dict[int, dict[str, float]], summary: dict[str, Any] | None) -> str:
    run_id: str = (await api('mutation { startRun(input: {project: "churn"}) { id } }'))["startRun"]["id"]
    for step, values in metrics.items():
        await api("mutation($r: ID!, $s: Int!, $m: JSON!) { logMetrics(run: $r, step: $s, metrics: $m) }",
                  r=run_id, s=step, m=values)
    await api("mutation($r: ID!, $s: JSON) { finishRun(run: $r, summary: $s) { status } }", r=run_id, s=summary)
    return run_id


async def test_training_source_is_read_from_the_run_and_metric_precedence(api: Api, dialect: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    run = await run_with(api, {0: {"auc": 0.6, "loss": 1.0}, 1: {"auc": 0.7}, 2: {"auc": 0.65}},
                         {"auc": 0.72, "epochs": 3})
    await log_version(api, {"model.bin": b"t"}, run=run)
    ref = "churn/classifier:v0"
    assert await series(api, ref, source="training") == [
        {"name": "auc", "source": "training", "latest": 0.72, "count": 3, "min": 0.6, "max": 0.7,
         "mean": pytest.approx(0.65)},
        {"name": "epochs", "source": "training", "latest": 3.0, "count": 0, "min": None, "max": None, "mean": None},
        {"name": "loss", "source": "training", "latest": 1.0, "count": 1, "min": 1.0, "max": 1.0, "mean": 1.0},
    ]
    pts = (await api(POINTS, r=ref, s="training", n=["auc"], first=2))["resolve"]["metrics"][0]["points"]
    assert [(e["node"]["step"], e["node"]["value"]) for e in pts["edges"]] == [(0, 0.6), (1, 0.7)]
    nxt = (await api(POINTS, r=ref, s="training", n=["auc"], first=2, after=pts["pageInfo"]["endCursor"]))
    assert [e["node"]["step"] for e in nxt["resolve"]["metrics"][0]["points"]["edges"]] == [2]
    metric = 'query($r: String!, $n: String!, $s: String) { resolve(ref: $r) { metric(name: $n, source: $s) } }'

    async def value(name: str, source: str | None = None) -> float | None:
        return (await api(metric, r=ref, n=name, s=source))["resolve"]["metric"]  # type: ignore[no-any-return]

    assert await value("auc") == 0.72  # only training so far
    await api(LOG, v=ref, m={"auc": 0.8}, s="production")
    assert await value("auc") == 0.8
    await api(LOG, v=ref, m={"auc": 0.9})
    assert await value("auc") == 0.9  # evaluation first
    assert await value("auc", "production") == 0.8 and await value("auc", "training") == 0.72
    assert await value("nope") is None and await value("auc", "elsewhere") is None
    sources = [(s["source"], s["name"]) for s in await series(api, ref, names=["auc"])]
    assert sources == [("evaluation", "auc"), ("production", "auc"), ("training", "auc")]


async def test_compare_versions_by_source(api: Api, dialect: str) -> None:
    await setup(api)
    await api(BATCH, p=[
        {"version": "churn/classifier:v0", "metrics": {"auc": 0.9}, "source": "evaluation"},
        {"version": "churn/classifier:v0", "metrics": {"latency": 30}, "source": "production"},
        {"version": "churn/classifier:v0", "metrics": {"latency": 50}, "source": "production"},
        {"version": "churn/classifier:v1", "metrics": {"auc": 0.9}, "source": "evaluation"},
    ])
    c = (await api('{ compareVersions(refs: ["churn/classifier:v0", "churn/classifier:v1"]) { versions { ref } '
                   "metrics { key } metricsBySource { source name latest mean count differs } } }"))["compareVersions"]
    assert c["metrics"] == []  # the existing field is unchanged (no runs)
    assert c["metricsBySource"] == [
        {"source": "evaluation", "name": "auc", "latest": [0.9, 0.9], "mean": [0.9, 0.9], "count": [1, 1],
         "differs": False},
        {"source": "production", "name": "latency", "latest": [50.0, None], "mean": [40.0, None], "count": [2, 0],
         "differs": True},
    ]


LIST = """{ artifact(project: "churn", name: "classifier") { versions(first: 50) { edges { node { ref
  metric(name: "auc") metrics { name source latest count points(first: 2) { totalCount edges { node { value } } } }
} } } } }"""


async def test_metrics_of_a_list_of_versions_cost_no_more_statements(api: Api, dialect: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')

    async def add(n: int) -> None:
        for i in range(n):
            v = await log_version(api, {"model.bin": f"m{i}-{n}".encode()})
            await api(BATCH, p=[{"version": v["ref"], "metrics": {"auc": i / 10, "loss": 1}},
                                {"version": v["ref"], "metrics": {"auc": 0.5}, "source": "production"}])

    await add(2)
    with count_statements(api.server) as small:
        small_data = await api(LIST)
    await add(8)
    with count_statements(api.server) as large:
        large_data = await api(LIST)
    versions = large_data["artifact"]["versions"]["edges"]
    assert len(small_data["artifact"]["versions"]["edges"]) == 2 and len(versions) == 10
    assert all(len(v["node"]["metrics"]) == 3 for v in versions)
    assert all(v["node"]["metrics"][0]["points"]["totalCount"] == 1 for v in versions)
    assert len(large) <= len(small) + 2, "statement count grew with the number of versions: an N+1"


async def test_a_batch_by_ids_costs_the_same_statements_for_any_number_of_versions(api: Api, dialect: str) -> None:
    """A serving sidecar's flush names hundreds of versions by id: their projects (access) and the versions
    (the write) are each read in one statement, not one per version."""
    await api('mutation { createProject(name: "churn") { id } }')
    version_ids = [(await log_version(api, {"model.bin": f"w{i}".encode()}))["id"] for i in range(12)]

    async def statements(n: int) -> int:
        points = [{"version": v, "metrics": {"latency": float(i)}, "source": "production"}
                  for i, v in enumerate(version_ids[:n])]
        with count_statements(api.server) as seen:
            assert (await api(BATCH, p=points))["logVersionMetricsBatch"] == n
        # The points' INSERT ... RETURNING is one statement on PostgreSQL; SQLAlchemy sends it row by row to
        # SQLite (in-process, no round trip). Everything else must not grow.
        return len([s for s in seen if "INSERT INTO version_metric " not in s])

    assert await statements(2) == await statements(12)
    outsider_id = version_ids[0]
    await api('mutation { createProject(name: "other") { id } }')
    stranger = await user(api, "stan", "other", "member")
    before = await snapshot(api.server)
    err = await stranger.error(BATCH, p=[{"version": outsider_id, "metrics": {"x": 1}}])
    assert err.code == "NOT_FOUND"  # churn is not stan's: answered as if the version didn't exist
    assert await snapshot(api.server) == before


async def test_latest_of_a_batch_is_its_last_point_for_the_same_time(api: Api, dialect: str) -> None:
    """Points of one series at the same time (no `at`: the request's now) keep their order: the last one given is
    the latest, on PostgreSQL's array insert too (its ids are drawn in the order given)."""
    await setup(api)
    points = [{"version": "churn/classifier:v0", "metrics": {"auc": value}} for value in (0.3, 0.9, 0.1, 0.7)]
    await api(BATCH, p=points)
    auc = (await series(api, "churn/classifier:v0", names=["auc"]))[0]
    assert (auc["latest"], auc["count"], auc["min"], auc["max"]) == (0.7, 4, 0.1, 0.9)
    await api(BATCH, p=list(reversed(points)))
    auc = (await series(api, "churn/classifier:v0", names=["auc"]))[0]
    assert (auc["latest"], auc["count"]) == (0.3, 8)
