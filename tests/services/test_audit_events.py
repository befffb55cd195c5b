"""Webhook and member changes write events: the audit log says who gave whom which role, who pointed the
project's events where; never a webhook's secret nor its URL's path and query."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import Api, LiveServer

from lineage_reg.config import Settings
from lineage_reg.event_kinds import EVENT_KINDS

DOCS = Path(__file__).resolve().parents[2] / "docs"
SECRET = "s3cr3t-s3cr3t-s3cr3t-s3cr3t"
EVENTS = '{ events(project: "audit", first: 200) { edges { node { kind actor payload } } } }'


@pytest.fixture
def live_hooks(settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(dataclasses.replace(settings, webhook_allow=("127.0.0.1/32",))) as server:
        yield server


@pytest.fixture
async def admin(live_hooks: LiveServer) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield Api(live_hooks, http, live_hooks.admin_token())


async def audit(api: Api, *prefixes: str) -> list[dict[str, object]]:
    edges = (await api(EVENTS))["events"]["edges"]
    return [e["node"] for e in edges if e["node"]["kind"].startswith(prefixes)]


def test_the_new_kinds_are_known_and_every_kind_is_documented() -> None:
    for kind in ("member.added", "member.changed", "member.removed",
                 "webhook.created", "webhook.updated", "webhook.deleted"):
        assert kind in EVENT_KINDS
    for doc in ("events.md", "concepts.md"):
        text = (DOCS / doc).read_text()
        assert [k for k in EVENT_KINDS if f"`{k}`" not in text] == [], doc


async def test_member_changes_say_who_gave_whom_which_role(admin: Api, dialect: str) -> None:
    await admin('mutation { createProject(name: "audit") { name } }')
    alice = admin.as_token(await admin.token_for("user", "alice"))
    await admin('mutation { addMember(project: "audit", user: "alice", role: "admin") { user } }')
    await alice('mutation { addMember(project: "audit", user: "bob", role: "viewer") { user } }')
    await alice('mutation { addMember(project: "audit", user: "bob", role: "member") { user } }')
    await alice('mutation { addMember(project: "audit", user: "bob", role: "member") { user } }')  # no change
    await admin('mutation { removeMember(project: "audit", user: "bob") { user } }')

    got = [(e["kind"], e["actor"], e["payload"]) for e in await audit(admin, "member.")]
    assert got == [
        ("member.added", "bootstrap-admin", {"user": "alice", "role": "admin"}),
        ("member.added", "alice", {"user": "bob", "role": "viewer"}),
        ("member.changed", "alice", {"user": "bob", "role": "member", "previousRole": "viewer"}),
        ("member.removed", "bootstrap-admin", {"user": "bob", "previousRole": "member"}),
    ]
    # The role change still applies at once: bob's token, cached before, no longer reads the project.
    bob = admin.as_token(await admin.token_for("user", "bob"))
    assert (await bob('{ events(first: 200) { edges { node { project } } } }'))["events"]["edges"] == []


async def test_webhook_changes_are_recorded_without_secret_or_url_path(admin: Api, dialect: str) -> None:
    await admin('mutation { createProject(name: "audit") { name } }')
    url = "http://127.0.0.1:9/hooks/T0KEN-IN-PATH?key=QUERYKEY"
    created = await admin('mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { id } }',
                          i={"project": "audit", "url": url, "kinds": ["version.created"], "secret": SECRET})
    hook = created["createWebhook"]["id"]
    await admin('mutation($i: UpdateWebhookInput!) { updateWebhook(input: $i) { id } }',
                i={"id": hook, "secret": SECRET + "-new", "active": False})
    await admin('mutation($i: UpdateWebhookInput!) { updateWebhook(input: $i) { id } }',
                i={"id": hook, "url": "http://127.0.0.1:9/other/path"})
    await admin('mutation($id: ID!) { deleteWebhook(id: $id) }', id=hook)

    events = await audit(admin, "webhook.")
    assert [e["kind"] for e in events] == ["webhook.created", "webhook.updated", "webhook.updated", "webhook.deleted"]
    assert all(e["actor"] == "bootstrap-admin" for e in events)
    first = events[0]["payload"]
    assert first == {"webhook": hook, "target": "http://127.0.0.1:9", "kinds": ["version.created"],
                     "aliasPattern": None, "active": True}
    assert events[1]["payload"]["changed"] == ["active", "secret"] and events[1]["payload"]["active"] is False
    assert events[2]["payload"]["changed"] == ["url"]
    text = json.dumps(events)
    for leak in (SECRET, "T0KEN-IN-PATH", "QUERYKEY", "/other/path"):
        assert leak not in text


async def test_a_webhook_on_one_collection_names_it_and_other_projects_see_none_of_it(admin: Api, dialect: str
                                                                                        ) -> None:
    await admin('mutation { createProject(name: "audit") { name } }')
    await admin('mutation { createProject(name: "elsewhere") { name } }')
    await admin('mutation { createRegisteredModel(project: "audit", name: "clf") { name } }')
    await admin('mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { id } }',
                i={"project": "audit", "collection": "audit/clf", "url": "http://127.0.0.1:9/h",
                   "kinds": ["alias.set"], "secret": SECRET, "aliasPattern": "prod*"})
    [event] = (await admin('{ events(project: "audit", first: 200) { edges { node { kind collection payload } } } }'
                           ))["events"]["edges"][-1:]
    assert event["node"]["kind"] == "webhook.created" and event["node"]["collection"] == "audit/clf"
    assert event["node"]["payload"]["aliasPattern"] == "prod*"
    # An admin of another project reads that project's audit, not this one's.
    await admin('mutation { addMember(project: "elsewhere", user: "eve", role: "admin") { user } }')
    eve = admin.as_token(await admin.token_for("user", "eve"))
    seen = (await eve('{ events(first: 200) { edges { node { project kind } } } }'))["events"]["edges"]
    assert {e["node"]["project"] for e in seen} == {"elsewhere"}
