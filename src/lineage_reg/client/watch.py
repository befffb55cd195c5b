"""``AsyncRegistry.watch``: alias changes as an async iterator, over the ``aliasChanged`` subscription
(``Registry.watch`` is the same as a blocking iterator).

graphql-transport-ws over a ``websockets`` connection, the token in ``connection_init``. The
iterator remembers the sequence of the last change it yielded and, when the connection drops or the server
closes it for falling behind (1013), subscribes again with ``after`` set to it: the server replays what was
missed, with no gap and no duplicate (it delivers in strictly increasing sequence, so the last one yielded is
a complete resume point). Refusals (4400-4499, e.g. 4403 for a bad token) and subscription
errors (``NOT_FOUND``) raise; a server that stays unreachable raises ``Unreachable`` after ``Retry.attempts``
tries in a row.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Subprotocol

from .. import errors, refs
from .failures import Unreachable, graphql_error

if TYPE_CHECKING:
    from .aio import AsyncRegistry

SUBSCRIPTION = """subscription($c: String!, $a: String, $after: Float) { aliasChanged(collection: $c, alias: $a,
  after: $after) { event { sequence actor at } collection alias version { ref } previous { ref } } }"""
HEAD = """query($p: String!, $n: String!) { registeredModel(project: $p, name: $n) {
  history(first: 1) { edges { node { sequence } } } } }"""


@dataclass(frozen=True)
class AliasChange:
    """``version`` is the ref the alias points at now (None: the alias was removed), ``previous`` where it
    pointed before (None: it is new); ``sequence`` is the event's place in the log."""

    sequence: int
    collection: str
    alias: str
    version: str | None
    previous: str | None
    actor: str | None
    at: str

    @classmethod
    def of(cls, data: dict[str, Any]) -> AliasChange:
        event = data["event"]
        return cls(sequence=int(event["sequence"]), collection=data["collection"], alias=data["alias"],
                   version=(data["version"] or {}).get("ref"), previous=(data["previous"] or {}).get("ref"),
                   actor=event["actor"], at=event["at"])


async def head(reg: AsyncRegistry, collection: str) -> int | None:
    """The last event of a registered model: where a watch starting "now" can resume from after a drop.
    None for an artifact (a drop before its first change then starts from the reconnection)."""
    coll = refs.parse_collection(collection)
    model = (await reg.query(HEAD, p=coll.project, n=coll.name))["registeredModel"]
    edges = model["history"]["edges"] if model else []
    return int(edges[0]["node"]["sequence"]) if edges else None


async def watch(reg: AsyncRegistry, collection: str, alias: str | None,
                after: int | None) -> AsyncIterator[AliasChange]:
    if after is None:
        after = await head(reg, collection)
    ws_url = "ws" + reg.url.removeprefix("http") + "/graphql"  # http -> ws, https -> wss
    failures = 0
    while True:
        try:
            async with connect(ws_url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=10,
                               ssl=reg.ssl_context if ws_url.startswith("wss:") else None) as ws:
                await ws.send(json.dumps({"type": "connection_init", "payload": dict(reg.auth)}))
                ack = json.loads(await ws.recv())
                if ack.get("type") != "connection_ack":
                    raise errors.RegistryError(f"{ws_url} refused the subscription: {ack}")
                await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                    "query": SUBSCRIPTION, "variables": {"c": collection, "a": alias, "after": after}}}))
                failures = 0
                async for raw in ws:
                    message: dict[str, Any] = json.loads(raw)
                    kind = message.get("type")
                    if kind == "ping":
                        await ws.send(json.dumps({"type": "pong"}))
                    elif kind == "complete":
                        return
                    elif kind == "error" or message.get("payload", {}).get("errors"):
                        payload = message["payload"]
                        raise graphql_error(payload if kind == "error" else payload["errors"])
                    elif kind == "next":
                        change = AliasChange.of(message["payload"]["data"]["aliasChanged"])
                        after = change.sequence
                        yield change
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            if code is not None and 4400 <= code < 4500:
                cls = errors.Unauthenticated if code == 4403 else errors.RegistryError
                raise cls(f"{ws_url} closed the subscription: {code} {closed.rcvd.reason}") from None  # type: ignore[union-attr]
            # 1013 (fell behind) or a dropped connection: subscribe again after the last change seen
        except (OSError, InvalidHandshake, TimeoutError) as exc:
            failures += 1
            if failures >= reg.retry.attempts:
                raise Unreachable(f"cannot reach lineage-reg at {ws_url} ({type(exc).__name__}) after "
                                  f"{failures} tries; is the server running?") from exc
        await asyncio.sleep(reg.retry.delay(failures))
