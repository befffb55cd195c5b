"""Events cross between server processes: a subscriber on one server sees writes made through another.

PostgreSQL carries them by LISTEN/NOTIFY, SQLite by polling its data_version.
The other server is a real `lineage-reg serve` process on the same database.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import websockets

from conftest import Api, free_port
from lineage_reg.config import Settings
from lineage_reg.store.db import Database
from test_e2e import log_version

SUBSCRIBE = 'subscription { aliasChanged(collection: "churn/prod", alias: "staging") { alias version { ref } } }'
SET = ('mutation($v: String!) { setAlias(input: {collection: "churn/prod", alias: "staging", version: $v}) '
       "{ name } }")


@contextmanager
def server_process(settings: Settings) -> Iterator[str]:
    """`lineage-reg serve` in a process of its own, on the same database and data dir; yields its URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lineage_reg.cli", "serve", "--data-dir", str(settings.data_dir),
         "--database-url", settings.effective_database_url, "--port", str(port), "--log-level", "warning"],
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "the second server did not start"
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


async def seed(api: Api) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    for i in range(3):
        await log_version(api, {"m": f"w{i}".encode()})
        await api('mutation($v: String!) { linkVersion(input: {version: $v, registeredModel: "churn/prod"}) { id } }',
                  v=f"churn/classifier:v{i}")


async def subscribed(api: Api) -> Any:
    ws = await websockets.connect(api.url.replace("http://", "ws://") + "/graphql",
                                  subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {api.token}"}}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    await asyncio.sleep(0.3)  # let the subscription register before the write
    return ws


async def next_ref(ws: Any) -> str:
    message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert message["type"] == "next", message
    return message["payload"]["data"]["aliasChanged"]["version"]["ref"]  # type: ignore[no-any-return]


async def test_subscriber_sees_another_processs_writes(api: Api, settings: Settings, dialect: str) -> None:
    await seed(api)
    ws = await subscribed(api)
    try:
        with server_process(settings) as other_url:
            async with httpx.AsyncClient() as http:
                other = Api(api.server, http, api.token)
                other.url = other_url
                await other(SET, v="churn/classifier:v0")
                assert await next_ref(ws) == "churn/classifier:v0"
                await other(SET, v="churn/classifier:v1")
                assert await next_ref(ws) == "churn/classifier:v1"
    finally:
        await ws.close()


@pytest.mark.dialects("postgresql")  # only PostgreSQL has a listener connection to drop; SQLite polls its file
async def test_a_dropped_listener_reconnects_and_catches_up(api: Api, settings: Settings, dialect: str) -> None:
    """Kill the server's LISTEN connection; moves made meanwhile by another process still arrive."""
    await seed(api)
    ws = await subscribed(api)
    db = Database(settings.effective_database_url)
    try:
        with server_process(settings) as other_url:
            async with httpx.AsyncClient() as http:
                other = Api(api.server, http, api.token)
                other.url = other_url
                killed = await db.transaction(lambda c: _terminate_listeners(c))
                assert killed >= 1
                await other(SET, v="churn/classifier:v2")  # likely while our listener is down
                assert await next_ref(ws) == "churn/classifier:v2"
                await other(SET, v="churn/classifier:v0")  # and after it is back
                assert await next_ref(ws) == "churn/classifier:v0"
    finally:
        await ws.close()
        await db.dispose()


async def _terminate_listeners(conn: Any) -> int:
    stmt = sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                   "WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()")
    return int((await conn.execute(stmt)).scalar_one())
