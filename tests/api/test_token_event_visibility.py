"""Registry events (``token.created``, ``token.revoked``: no project) are the global admin's alone: in the
`events` query, by node id, in subscriptions. Project events and project-scoped reads are as before, and no
webhook (a project's) may ask for registry events."""

from __future__ import annotations

import dataclasses

import pytest
from conftest import Api

from lineage_reg.config import Settings

ALL = "{ events(first: 200) { edges { node { id kind project actor payload } } } }"
OF_PROJECT = '{ events(project: "churn", first: 200) { edges { node { kind project } } } }'
SECRET = "s3cret-for-the-tests-0123456789"
CREATE_HOOK = "mutation($input: CreateWebhookInput!) { createWebhook(input: $input) { id kinds } }"
UPDATE_HOOK = "mutation($input: UpdateWebhookInput!) { updateWebhook(input: $input) { id kinds } }"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, webhook_allow=("127.0.0.1/32",))


def kinds(body: dict[str, object]) -> list[str]:
    return [e["node"]["kind"] for e in body["events"]["edges"]]  # type: ignore[index]


async def setup(api: Api) -> tuple[Api, Api]:
    await api('mutation { createProject(name: "churn") { name } }')
    reader = api.as_token(await api.token_for("viewer", "reader"))  # reads every project, admin of none
    member = api.as_token(await api.token_for("user", "mia"))
    await api('mutation { addMember(project: "churn", user: "mia", role: "admin") { user } }')
    return reader, member


async def test_the_admin_sees_registry_events_and_readers_do_not(api: Api, dialect: str) -> None:
    reader, member = await setup(api)
    seen = (await api(ALL))["events"]["edges"]
    tokens = [e["node"] for e in seen if e["node"]["kind"].startswith("token.")]
    assert [t["payload"]["name"] for t in tokens] == ["bootstrap-admin", "reader", "mia"]
    assert {t["project"] for t in tokens} == {""}
    assert tokens[0]["payload"]["via"] == "first start"

    project_events = [k for k in kinds(await api(ALL)) if not k.startswith("token.")]
    assert project_events == ["project.created", "member.added"]
    assert kinds(await reader(ALL)) == project_events  # a global viewer: every project's events, no token's
    assert kinds(await member(ALL)) == project_events  # a project admin: its project's
    assert (await reader('{ events(first: 200) { totalCount } }'))["events"]["totalCount"] == 2
    for who in (api, reader, member):  # project-scoped reads never carry registry events
        assert kinds(await who(OF_PROJECT)) == project_events

    token_event_id = tokens[0]["id"]
    query = "query($id: ID!) { node(id: $id) { id ... on Event { kind payload } } }"
    assert (await api(query, id=token_event_id))["node"]["kind"] == "token.created"
    for who in (reader, member):
        assert (await who(query, id=token_event_id))["node"] is None


async def test_webhooks_refuse_registry_kinds(api: Api, dialect: str) -> None:
    await setup(api)
    base = {"project": "churn", "url": "http://127.0.0.1:9/hook", "secret": SECRET}
    err = await api.error(CREATE_HOOK, input={**base, "kinds": ["alias.set", "token.created"]})
    assert err.code == "BAD_INPUT" and "registry event" in err.errors[0]["message"], err.errors
    hook = (await api(CREATE_HOOK, input={**base, "kinds": ["alias.set"]}))["createWebhook"]
    err = await api.error(UPDATE_HOOK, input={"id": hook["id"], "kinds": ["token.revoked"]})
    assert err.code == "BAD_INPUT" and "'token.revoked'" in err.errors[0]["message"], err.errors
    hooks = (await api('{ webhooks(project: "churn") { kinds } }'))["webhooks"]
    assert hooks == [{"kinds": ["alias.set"]}]


@pytest.mark.network
async def test_only_an_admin_subscribes_to_registry_events(api: Api, dialect: str) -> None:
    from support.ws import connected, subscribe

    reader, member = await setup(api)
    replayed = ["project.created", "member.added"]  # the member reads churn alone; the reader went first
    for n, who in enumerate((reader, member)):
        async with connected(api, who.token) as sock:
            await sock.send({"id": "t", "type": "subscribe", "payload": {
                "query": 'subscription { events(kinds: ["token.created"]) { kind } }'}})
            message = await sock.receive()
            errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            assert errors[0]["extensions"]["code"] == "FORBIDDEN", errors
            # Every kind, replayed from the start: project events only.
            await subscribe(sock, api.server, "subscription { events(after: 0) { kind project } }", sub_id="all")
            seen = []
            while True:
                try:
                    message = await sock.receive(timeout=1.0)
                except TimeoutError:
                    break
                if message["id"] == "all" and message["type"] == "next":
                    seen.append(message["payload"]["data"]["events"]["kind"])
            assert seen == replayed
            await api.token_for("viewer", f"later-{n}")  # a live registry event does not reach it either
            await api('mutation($p: String!) { createProject(name: $p) { name } }', p=f"later-{n}")
            if who is member:  # a project admin of churn alone: nothing of later-1 either, only churn's next event
                await api('mutation { addMember(project: "churn", user: "zed", role: "viewer") { user } }')
            expected = {"kind": "project.created", "project": f"later-{n}"} if who is reader else {
                "kind": "member.added", "project": "churn"}
            assert await sock.next("events", "all") == expected

    async with connected(api, api.token) as sock:
        await subscribe(sock, api.server, 'subscription { events(kinds: ["token.created"]) { kind project } }')
        await api.token_for("viewer", "watched")
        assert await sock.next("events") == {"kind": "token.created", "project": ""}
