"""Subscriptions over a real WebSocket (graphql-transport-ws): auth, live moves, replay without gaps."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import websockets

from conftest import Api
from test_e2e import log_version

SET = ('mutation($v: String!) { setAlias(input: {collection: "churn/prod", alias: "staging", version: $v}) '
       '{ name } }')
ALIAS_CHANGED = """subscription($after: Float) { aliasChanged(collection: "churn/prod", alias: "staging", after: $after) {
  alias collection event { sequence kind actor } version { ref } previous { ref } } }"""


@asynccontextmanager
async def connect(api: Api, token: str | None) -> AsyncIterator[Any]:
    url = api.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        yield ws


async def subscribe(ws: Any, query: str, **variables: Any) -> None:
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query, "variables": variables}}))
    await asyncio.sleep(0.2)  # the subscription is registered before anything below happens


async def next_data(ws: Any) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert message["type"] == "next", message
    return message["payload"]["data"]  # type: ignore[no-any-return]


async def setup(api: Api, versions: int) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    for i in range(versions):
        await log_version(api, {"m": f"w{i}".encode()})
        await api('mutation($v: String!) { linkVersion(input: {version: $v, registeredModel: "churn/prod"}) { id } }',
                  v=f"churn/classifier:v{i}")


@pytest.mark.parametrize("token", [None, "not-a-token"])
async def test_connection_needs_a_valid_token(api: Api, dialect: str, token: str | None) -> None:
    async with connect(api, token) as ws:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_live_alias_moves(api: Api, dialect: str) -> None:
    await setup(api, 2)
    async with connect(api, api.token) as ws:
        await subscribe(ws, ALIAS_CHANGED)
        await api(SET, v="churn/classifier:v0")
        await api(SET, v="churn/classifier:v1")
        first, second = (await next_data(ws))["aliasChanged"], (await next_data(ws))["aliasChanged"]
    assert first["version"] == {"ref": "churn/classifier:v0"} and first["previous"] is None
    assert second["version"] == {"ref": "churn/classifier:v1"} and second["previous"] == {"ref": "churn/classifier:v0"}
    assert first["collection"] == "churn/prod" and first["event"]["actor"] == "bootstrap-admin"
    assert second["event"]["sequence"] > first["event"]["sequence"]


async def test_reconnect_replays_missed_moves_then_goes_live(api: Api, dialect: str) -> None:
    await setup(api, 4)
    async with connect(api, api.token) as ws:
        await subscribe(ws, ALIAS_CHANGED)
        await api(SET, v="churn/classifier:v0")
        seen = (await next_data(ws))["aliasChanged"]["event"]["sequence"]
    # The bot is away while two moves happen.
    await api(SET, v="churn/classifier:v1")
    await api(SET, v="churn/classifier:v2")
    async with connect(api, api.token) as ws:
        await subscribe(ws, ALIAS_CHANGED, after=seen)
        replayed = [(await next_data(ws))["aliasChanged"] for _ in range(2)]
        await api(SET, v="churn/classifier:v3")
        live = (await next_data(ws))["aliasChanged"]
        with pytest.raises(asyncio.TimeoutError):  # nothing twice
            await asyncio.wait_for(ws.recv(), 0.5)
    assert [r["version"]["ref"] for r in replayed] == ["churn/classifier:v1", "churn/classifier:v2"]
    assert live["version"]["ref"] == "churn/classifier:v3" and live["previous"]["ref"] == "churn/classifier:v2"


async def test_events_filtered_by_kind(api: Api, dialect: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    query = 'subscription { events(project: "churn", kinds: ["version.committed"]) { kind payload } }'
    async with connect(api, api.token) as ws:
        await subscribe(ws, query)
        await log_version(api, {"a": b"a"})  # writes version.created, version.committed, alias.set
        await api('mutation { startRun(input: {project: "churn"}) { id } }')
        await log_version(api, {"b": b"b"})
        got = [(await next_data(ws))["events"] for _ in range(2)]
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.5)
    assert [e["kind"] for e in got] == ["version.committed", "version.committed"]
    assert [e["payload"]["ref"] for e in got] == ["churn/classifier:v0", "churn/classifier:v1"]
