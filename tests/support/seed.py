"""A registry with one of everything, and the check that a refused request changed nothing."""

from __future__ import annotations

from typing import Any

from conftest import Api, snapshot
from support.versions import CREATE_VERSION, log_version, manifest


async def seed(api: Api) -> dict[str, Any]:
    """As the bootstrap admin: a project, a run that produced v0, a pending v1, a registered model with
    `staging` and `production` on its one link, a metric rule on `production`, an approval policy on `approved` with
    a pending request for it, and a tagged artifact. Returns the ids the writes need."""
    await api('mutation { createProject(name: "churn") { id } }')
    run = (await api('mutation { startRun(input: {project: "churn", name: "train"}) { id } }'))["startRun"]["id"]
    v0 = await log_version(api, {"m.bin": b"weights-0"}, run=run)
    pending = (await api(CREATE_VERSION, input={"project": "churn", "artifact": "classifier", "type": "model",
                                                "files": manifest({"m.bin": b"weights-1"})}))
    link = (await api('mutation { linkVersion(input: {version: "churn/classifier:v0", '
                      'registeredModel: "churn/churn-model", aliases: ["staging", "production"]}) { id } }'))
    artifact = (await api('{ artifact(project: "churn", name: "classifier") { id } }'))["artifact"]["id"]
    await api('mutation($a: ID!) { addTags(target: $a, tags: ["keep"]) }', a=artifact)
    webhook = (await api('mutation { createWebhook(input: {project: "churn", url: "https://hooks.example.com/a", '
                         'kinds: ["version.deleted"], secret: "0123456789abcdef"}) { id } }'))["createWebhook"]["id"]
    rule = (await api('mutation { createMetricRule(collection: "churn/churn-model", alias: "production", '
                      'metric: "latency_p99", op: GT, threshold: 50) { id } }'))["createMetricRule"]["id"]
    await api('mutation { setApprovalPolicy(collection: "churn/churn-model", alias: "approved", '
              "requiredApprovals: 1) { alias } }")
    request = (await api('mutation { requestPromotion(collection: "churn/churn-model", alias: "approved", '
                         'version: "churn/classifier:v0") { id } }'))["requestPromotion"]["id"]
    model = (await api('{ registeredModel(project: "churn", name: "churn-model") { id } }'))["registeredModel"]["id"]
    comment = (await api('mutation($m: ID!) { addComment(target: $m, text: "ship it?") { id } }', m=model)
               )["addComment"]["id"]
    return {
        "model": model,
        "comment": comment,
        "request": request,
        "webhook": webhook,
        "rule": rule,
        "run": run,
        "version": (await api('{ resolve(ref: "churn/classifier:v0") { id } }'))["resolve"]["id"],
        "pending": pending["createArtifactVersion"]["version"]["id"],
        "link": link["linkVersion"]["id"],
        "artifact": artifact,
        "input": {"project": "churn", "artifact": "classifier", "type": "model",
                  "files": manifest({"other.bin": b"never stored"})},
        "v0": v0,
    }


async def refused(api: Api, code: str, query: str, **vars: Any) -> dict[str, Any]:
    """Run a request that must fail with ``code``, changing nothing (rows and blob files alike)."""
    before = await snapshot(api.server)
    body = await api.raw(query, vars)
    assert body.get("errors"), f"expected {code}, got {body}"
    assert [e.get("extensions", {}).get("code") for e in body["errors"]] == [code], body["errors"]
    assert all(v is None for v in (body.get("data") or {}).values()), body
    assert await snapshot(api.server) == before
    return body
