"""Metric rules: created by project admins, listed on the model, reachable by node(id); a breach writes one
metric.breached event in the points' transaction, re-arms silently, fires again; concurrent requests never
fire twice; a batch with no rules costs no extra statements."""

from __future__ import annotations

import asyncio
from typing import Any

from conftest import Api, snapshot
from support.two_projects import user
from support.versions import log_version
from test_loaders import count_statements

CREATE = """mutation($c: String!, $a: String!, $m: String!, $s: String! = "production", $op: FilterOp!,
  $t: Float!, $w: Int! = 1) { createMetricRule(collection: $c, alias: $a, metric: $m, source: $s, op: $op,
  threshold: $t, window: $w) { id collection alias metric source op threshold window lastTriggeredAt createdBy
  breached } }"""
LOG = """mutation($v: String!, $m: JSON!, $s: String! = "production") {
  logVersionMetrics(version: $v, metrics: $m, source: $s) }"""
BATCH = "mutation($p: [VersionMetricsInput!]!) { logVersionMetricsBatch(points: $p) }"
EVENTS = """{ events(project: "churn", first: 500) { edges { node { kind collection alias payload } } } }"""
RULES = """{ registeredModel(project: "churn", name: "churn-model") { metricRules { id breached lastTriggeredAt }
  history(first: 100) { edges { node { kind } } } } }"""


async def setup(api: Api) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    for i in range(2):
        await log_version(api, {"model.bin": f"w{i}".encode()})
        await api('mutation($v: String!) { linkVersion(input: {version: $v, registeredModel: "churn/churn-model"}) '
                  "{ id } }", v=f"churn/classifier:v{i}")
    await api('mutation { setAlias(input: {collection: "churn/churn-model", alias: "production", '
              'version: "churn/classifier:v0"}) { name } }')


async def events(api: Api, kind: str) -> list[dict[str, Any]]:
    return [e["node"] for e in (await api(EVENTS))["events"]["edges"] if e["node"]["kind"] == kind]


async def test_rule_fires_once_rearms_and_fires_again(api: Api, dialect: str) -> None:
    await setup(api)
    rule = (await api(CREATE, c="churn/churn-model", a="production", m="latency", op="GT", t=100, w=2))
    rule = rule["createMetricRule"]
    assert rule == {"id": rule["id"], "collection": "churn/churn-model", "alias": "production", "metric": "latency",
                    "source": "production", "op": "GT", "threshold": 100.0, "window": 2, "lastTriggeredAt": None,
                    "createdBy": rule["createdBy"], "breached": False}
    assert rule["createdBy"]  # the admin token's user
    v0 = "churn/classifier:v0"
    await api(LOG, v=v0, m={"latency": 50})
    await api(LOG, v=v0, m={"latency": 120})  # mean 85: holds not
    await api(LOG, v="churn/classifier:v1", m={"latency": 900})  # not the version holding production
    await api(LOG, v=v0, m={"latency": 100}, s="evaluation")  # another source
    assert await events(api, "metric.breached") == []
    await api(LOG, v=v0, m={"latency": 200})  # mean 160: breach
    fired = await events(api, "metric.breached")
    assert len(fired) == 1
    assert fired[0]["collection"] == "churn/churn-model" and fired[0]["alias"] == "production"
    payload = fired[0]["payload"]
    assert payload["rule"] == rule["id"] and payload["version"] == v0 and payload["observed"] == 160.0
    assert (payload["metric"], payload["source"], payload["op"], payload["threshold"], payload["window"]) == (
        "latency", "production", "GT", 100.0, 2)
    assert payload["versionId"]
    await api(LOG, v=v0, m={"latency": 300})  # still breached: no second event
    await api(BATCH, p=[{"version": v0, "metrics": {"latency": 500}, "source": "production"}] * 3)
    assert len(await events(api, "metric.breached")) == 1
    state = (await api(RULES))["registeredModel"]
    assert state["metricRules"][0]["breached"] and state["metricRules"][0]["lastTriggeredAt"]
    assert "metric.breached" in [e["node"]["kind"] for e in state["history"]["edges"]]  # the model's history
    await api(BATCH, p=[{"version": v0, "metrics": {"latency": 10}, "source": "production"}] * 2)  # mean 10: re-arm
    assert not (await api(RULES))["registeredModel"]["metricRules"][0]["breached"]
    assert len(await events(api, "metric.breached")) == 1  # re-arming writes no event
    await api(BATCH, p=[{"version": v0, "metrics": {"latency": 400}, "source": "production"}] * 2)
    assert len(await events(api, "metric.breached")) == 2  # fired again
    # The alias moves to another version that breaches too: a new breach, though never re-armed in between.
    await api('mutation { setAlias(input: {collection: "churn/churn-model", alias: "production", '
              'version: "churn/classifier:v1"}) { name } }')
    await api(LOG, v="churn/classifier:v1", m={"latency": 1000})  # v1: [900, 1000]
    fired = await events(api, "metric.breached")
    assert len(fired) == 3 and fired[-1]["payload"]["version"] == "churn/classifier:v1"
    assert fired[-1]["payload"]["observed"] == 950.0


async def test_create_validation_and_access(api: Api, dialect: str) -> None:
    await setup(api)
    member = await user(api, "mia", "churn", "member")
    viewer = await user(api, "vera", "churn", "viewer")
    await api('mutation { createProject(name: "other") { id } }')
    outsider = await user(api, "otto", "other", "admin")
    base: dict[str, Any] = dict(c="churn/churn-model", a="production", m="latency", op="GT", t=1.0)
    before = await snapshot(api.server)
    for change, code in [({"op": "IN"}, "BAD_INPUT"), ({"op": "CONTAINS"}, "BAD_INPUT"), ({"w": 0}, "BAD_INPUT"),
                         ({"w": 1001}, "BAD_INPUT"), ({"s": "training"}, "BAD_INPUT"), ({"s": "a b"}, "BAD_INPUT"),
                         ({"a": "bad alias!"}, "BAD_INPUT"), ({"m": "bad metric!"}, "BAD_INPUT"),
                         ({"c": "churn/nope"}, "NOT_FOUND")]:
        err = await api.error(CREATE, **{**base, **change})
        assert err.code == code, (change, err.errors)
    assert (await member.error(CREATE, **base)).code == "FORBIDDEN"
    assert (await viewer.error(CREATE, **base)).code == "FORBIDDEN"
    assert (await outsider.error(CREATE, **base)).code == "NOT_FOUND"
    assert await snapshot(api.server) == before
    rule = (await api(CREATE, **{**base, "c": "churn/classifier", "a": "latest", "op": "LTE", "w": 1000}))
    rule_id = rule["createMetricRule"]["id"]
    art = await viewer('{ artifact(project: "churn", name: "classifier") { metricRules { id window op } } }')
    assert art["artifact"]["metricRules"] == [{"id": rule_id, "window": 1000, "op": "LTE"}]
    node = '{ node(id: "%s") { id ... on MetricRule { collection metric } } }' % rule_id
    assert (await viewer(node))["node"] == {"id": rule_id, "collection": "churn/classifier", "metric": "latency"}
    assert (await outsider(node))["node"] is None
    delete = "mutation($id: ID!) { deleteMetricRule(id: $id) }"
    assert (await member.error(delete, id=rule_id)).code == "FORBIDDEN"
    assert (await outsider.error(delete, id=rule_id)).code == "NOT_FOUND"
    assert (await api(delete, id=rule_id))["deleteMetricRule"] is True
    assert (await api.error(delete, id=rule_id)).code == "NOT_FOUND"
    assert (await viewer(node))["node"] is None
    kinds = [e["node"]["kind"] for e in (await api(EVENTS))["events"]["edges"]]
    assert kinds.count("metric_rule.created") == 1 and kinds.count("metric_rule.deleted") == 1


async def test_concurrent_batches_fire_once(api: Api, dialect: str) -> None:
    await setup(api)
    await api(CREATE, c="churn/churn-model", a="production", m="errors", op="GTE", t=1.0)
    bad = [{"version": "churn/classifier:v0", "metrics": {"errors": 5}, "source": "production"}] * 20
    results = await asyncio.gather(*(api(BATCH, p=bad) for _ in range(8)))
    assert [r["logVersionMetricsBatch"] for r in results] == [20] * 8
    assert len(await events(api, "metric.breached")) == 1
    count = (await api('{ resolve(ref: "churn/classifier:v0") { metrics(source: "production") { count } } }'))
    assert count["resolve"]["metrics"] == [{"count": 160}]  # the summary kept up with every concurrent write


async def test_a_batch_without_rules_costs_the_same_statements_whatever_its_size(api: Api, dialect: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    await log_version(api, {"model.bin": b"w"})

    async def statements(n: int) -> int:
        points = [{"version": "churn/classifier:v0", "metrics": {f"m{i % 50}": float(i)}} for i in range(n)]
        with count_statements(api.server) as seen:
            assert (await api(BATCH, p=points))["logVersionMetricsBatch"] == n
        return len([s for s in seen if "INSERT INTO version_metric " not in s])

    small, large = await statements(10), await statements(900)
    assert small == large, "statements other than the points' insert grew with the batch"
    metric = await api('{ resolve(ref: "churn/classifier:v0") { metrics(names: ["m7"]) { count latest } } }')
    assert metric["resolve"]["metrics"] == [{"count": 1 + 18, "latest": 857.0}]
