"""graphql-transport-ws over a real WebSocket, every wait with a timeout: a broken server fails a test, never hangs it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import websockets

from conftest import Api, LiveServer

TIMEOUT = 5.0
PROTOCOL = "graphql-transport-ws"


class Socket:
    """One graphql-transport-ws connection, read message by message with timeouts."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def receive(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        return json.loads(await asyncio.wait_for(self.ws.recv(), timeout))  # type: ignore[no-any-return]

    async def next(self, field: str, sub_id: str = "1") -> dict[str, Any]:
        message = await self.receive()
        assert message["type"] == "next" and message["id"] == sub_id, message
        assert not message["payload"].get("errors"), message
        return message["payload"]["data"][field]  # type: ignore[no-any-return]

    async def quiet(self, seconds: float = 0.7) -> None:
        """Nothing more arrives (no duplicate, nothing that the filters should have kept out)."""
        with pytest.raises(asyncio.TimeoutError):
            message = await self.receive(seconds)
            raise AssertionError(f"unexpected message {message}")

    async def closed_with(self) -> int:
        """The close code the server ends the connection with (it must end it, and soon)."""
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                message = await self.receive()
                assert message["type"] != "connection_ack", message
        assert closed.value.rcvd is not None, "the server did not send a close frame"
        return closed.value.rcvd.code


def ws_url(api: Api) -> str:
    return api.url.replace("http://", "ws://") + "/graphql"


@asynccontextmanager
async def raw_socket(api: Api) -> AsyncIterator[Socket]:
    async with websockets.connect(ws_url(api), subprotocols=[PROTOCOL], open_timeout=TIMEOUT,  # type: ignore[list-item]
                                  close_timeout=2) as ws:
        assert ws.subprotocol == PROTOCOL
        yield Socket(ws)


@asynccontextmanager
async def connected(api: Api, token: str | None) -> AsyncIterator[Socket]:
    """A connection that has authenticated in `connection_init` and been acknowledged."""
    async with raw_socket(api) as sock:
        await sock.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert (await sock.receive())["type"] == "connection_ack"
        yield sock


async def subscribe(sock: Socket, server: LiveServer, query: str, sub_id: str = "1", **variables: Any) -> None:
    """Start a subscription and return once the server listens for live events (its bus subscription is open:
    every event from then on reaches it), so a change made after this call is one the subscriber must see."""
    bus = server.runtime.bus
    before = len(bus._subscriptions)
    await sock.send({"id": sub_id, "type": "subscribe", "payload": {"query": query, "variables": variables}})
    deadline = time.monotonic() + TIMEOUT
    while len(bus._subscriptions) <= before:
        assert time.monotonic() < deadline, "the subscription never started"
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # the replay query, when the subscription has `after`
