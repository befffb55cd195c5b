"""Events cross between server processes: a subscriber on one server sees writes made through another.

PostgreSQL carries them by LISTEN/NOTIFY, SQLite by polling its data_version.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets

from conftest import Api, LiveServer
from lineage_reg.config import Settings
from test_e2e import log_version

SUBSCRIBE = 'subscription { aliasChanged(collection: "churn/prod", alias: "staging") { alias version { ref } } }'


async def test_subscriber_sees_other_servers_writes(api: Api, settings: Settings, dialect: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    await log_version(api, {"m": b"w"})
    await api('mutation { linkVersion(input: {version: "churn/classifier:v0", registeredModel: "churn/prod"}) { id } }')
    ws_url = api.url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:  # type: ignore[list-item]
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {api.token}"}}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
        await asyncio.sleep(0.2)  # let the subscription register before the write
        with LiveServer(settings) as other:
            async with httpx.AsyncClient() as http:
                await Api(other, http, api.token)(
                    'mutation { setAlias(input: {collection: "churn/prod", alias: "staging", '
                    'version: "churn/classifier:v0"}) { name } }'
                )
            message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert message["type"] == "next"
    assert message["payload"]["data"]["aliasChanged"] == {"alias": "staging", "version": {"ref": "churn/classifier:v0"}}
