"""A project's admin reads its webhooks all the way down (issue 16, 4a): `Webhook.deliveries` and
`WebhookDelivery.event` ask for the admin role in the webhook's project, as `webhooks(project:)` and the root
`deliveries(webhook:)` do, not for the global admin role. Nobody else reads them."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any

import pytest

from conftest import Api
from lineage_reg.config import Settings
from lineage_reg.services import actors

pytestmark = pytest.mark.dialects("sqlite")  # access is decided above the database

HOOKS = """query($p: String!) { webhooks(project: $p) { id project
  deliveries { edges { node { kind event { kind project } } } } } }"""
ROOT_DELIVERIES = "query($w: ID!) { deliveries(webhook: $w) { edges { node { kind event { kind } } } } }"
CREATE = """mutation($p: String!) { createWebhook(input: {project: $p, url: "http://127.0.0.1:9/hook",
  kinds: ["run.started"], secret: "0123456789abcdef0123"}) { id } }"""


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Nothing listens on port 9: each delivery fails once and ends FAILED, which is all that's needed here.
    return dataclasses.replace(settings, webhook_backoff_seconds=0.05, webhook_max_attempts=1,
                               webhook_allow=("127.0.0.1/32",))


@pytest.fixture(autouse=True)
def fresh_grants(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actors, "CACHE_SECONDS", 0.0)  # role changes apply to the next request


async def member(api: Api, name: str, project: str, role: str) -> Api:
    token = await api.token_for("user", name)  # global role "user": nothing but its memberships
    await api('mutation($p: String!, $u: String!, $r: String!) { addMember(project: $p, user: $u, role: $r) '
              "{ user } }", p=project, u=name, r=role)
    return api.as_token(token)


async def codes(api: Api, query: str, **variables: Any) -> set[str]:
    body = await api.raw(query, variables)
    return {e["extensions"]["code"] for e in body.get("errors") or []}


async def test_a_project_admin_reads_its_webhooks_deliveries_and_their_events(api: Api, dialect: str) -> None:
    for name in ("churn", "other"):
        await api('mutation($n: String!) { createProject(name: $n) { id } }', n=name)
    ada = await member(api, "ada", "churn", "admin")
    hook = (await ada(CREATE, p="churn"))["createWebhook"]["id"]
    await api('mutation { startRun(input: {project: "churn", name: "train"}) { id } }')  # one event to deliver
    deadline = time.monotonic() + 10
    while not (await ada(ROOT_DELIVERIES, w=hook))["deliveries"]["edges"]:
        assert time.monotonic() < deadline, "no delivery was queued for run.started"
        await asyncio.sleep(0.05)

    body = await ada.raw(HOOKS, {"p": "churn"})
    assert "errors" not in body, body["errors"]  # was FORBIDDEN: "this needs the global admin role"
    [found] = body["data"]["webhooks"]
    assert [e["node"] for e in found["deliveries"]["edges"]] == [
        {"kind": "run.started", "event": {"kind": "run.started", "project": "churn"}}]
    assert (await ada(ROOT_DELIVERIES, w=hook))["deliveries"]["edges"][0]["node"]["event"] == {"kind": "run.started"}

    # Nobody else: a member of the project is told it needs admin there; the admin of another project, and a
    # user with no role in it, learn nothing of it (as if it did not exist).
    bob = await member(api, "bob", "churn", "member")
    assert await codes(bob, HOOKS, p="churn") == {"FORBIDDEN"}
    assert await codes(bob, ROOT_DELIVERIES, w=hook) == {"FORBIDDEN"}
    for outsider in (await member(api, "olga", "other", "admin"), api.as_token(await api.token_for("user", "eve"))):
        assert await codes(outsider, HOOKS, p="churn") <= {"NOT_FOUND", "FORBIDDEN"}
        body = await outsider.raw(ROOT_DELIVERIES, {"w": hook})
        assert body["data"] is None and {e["extensions"]["code"] for e in body["errors"]} <= {"NOT_FOUND",
                                                                                              "FORBIDDEN"}
        assert "run.started" not in str(body)
