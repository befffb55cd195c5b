"""compareVersions: config and metrics of the producing runs, metadata and files, side by side."""

from __future__ import annotations

import hashlib

from conftest import Api, snapshot
from support.versions import log_version

COMPARE = """query($refs: [String!]!) { compareVersions(refs: $refs) {
  versions { ref }
  config { key values differs } metrics { key values differs } metadata { key values differs }
  files { path change sha256 size } } }"""


async def run_with(api: Api, config: dict, metrics: dict[int, dict[str, float]], summary: dict | None) -> str:
    run = (await api('mutation($c: JSON) { startRun(input: {project: "churn", config: $c}) { id } }', c=config))
    run_id = run["startRun"]["id"]
    for step, values in metrics.items():
        await api("mutation($r: ID!, $s: Int!, $m: JSON!) { logMetrics(run: $r, step: $s, metrics: $m) }",
                  r=run_id, s=step, m=values)
    await api("mutation($r: ID!, $s: JSON) { finishRun(run: $r, summary: $s) { status } }", r=run_id, s=summary)
    return run_id  # type: ignore[no-any-return]


async def test_two_versions_side_by_side(api: Api, dialect: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    r0 = await run_with(api, {"lr": 0.1, "optimizer": {"name": "adam", "beta": 0.9}}, {0: {"auc": 0.7}, 5: {"auc": 0.8}},
                        None)
    await log_version(api, {"model.bin": b"w0", "config.json": b"{}", "old.txt": b"x"}, run=r0)
    r1 = await run_with(api, {"lr": 0.05, "optimizer": {"name": "adam", "beta": 0.9}}, {0: {"auc": 0.75}},
                        {"auc": 0.91})
    await log_version(api, {"model.bin": b"w1", "config.json": b"{}", "new.txt": b"y"}, run=r1)

    before = await snapshot(api.server)
    c = (await api(COMPARE, refs=["churn/classifier:v0", "churn/classifier:latest"]))["compareVersions"]
    assert await snapshot(api.server) == before  # a read
    assert [v["ref"] for v in c["versions"]] == ["churn/classifier:v0", "churn/classifier:v1"]
    assert c["config"] == [
        {"key": "lr", "values": [0.1, 0.05], "differs": True},
        {"key": "optimizer.beta", "values": [0.9, 0.9], "differs": False},
        {"key": "optimizer.name", "values": ["adam", "adam"], "differs": False},
    ]
    # v0's run set no summary: its last logged auc (step 5); v1's run's summary wins over its logged value.
    assert c["metrics"] == [{"key": "auc", "values": [0.8, 0.91], "differs": True}]
    sha = lambda b: hashlib.sha256(b).hexdigest()  # noqa: E731
    assert c["files"] == [
        {"path": "config.json", "change": "UNCHANGED", "sha256": [sha(b"{}")] * 2, "size": [2, 2]},
        {"path": "model.bin", "change": "CHANGED", "sha256": [sha(b"w0"), sha(b"w1")], "size": [2, 2]},
        {"path": "new.txt", "change": "ADDED", "sha256": [None, sha(b"y")], "size": [None, 1]},
        {"path": "old.txt", "change": "REMOVED", "sha256": [sha(b"x"), None], "size": [1, None]},
    ]


async def test_bad_requests(api: Api, dialect: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    await log_version(api, {"m": b"1"})
    assert (await api.error(COMPARE, refs=["churn/classifier:v0"])).code == "BAD_INPUT"
    err = await api.error(COMPARE, refs=["churn/classifier:v0", "churn/classifier:v7"])
    assert err.code == "NOT_FOUND" and "churn/classifier:v7" in err.errors[0]["message"]
    assert (await api.as_token(None).error(COMPARE, refs=["churn/classifier:v0"] * 2)).code == "UNAUTHENTICATED"
