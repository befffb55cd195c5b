"""A deploy bot: follows an alias and downloads whatever moves there.

    python examples/deploy_bot.py quickstart/churn --alias production --dest /srv/model [--once]

Subscribes to `aliasChanged` over WebSocket (graphql-transport-ws). It keeps
the last event sequence it handled in ``<dest>/.sequence`` and passes it as
``after`` when it reconnects, so no move is ever missed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path

import websockets

from lineage_reg.client import Registry

SUBSCRIPTION = """subscription($c: String!, $a: String!, $after: Float) {
  aliasChanged(collection: $c, alias: $a, after: $after) { event { sequence actor } version { ref } } }"""


async def follow(url: str, token: str, collection: str, alias: str, dest: Path, once: bool) -> None:
    state = dest / ".sequence"
    after = float(state.read_text()) if state.exists() else None
    ws_url = url.replace("http", "ws", 1) + "/graphql"
    async for ws in websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]):  # type: ignore[list-item]
        try:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
            ack = json.loads(await ws.recv())
            if ack["type"] != "connection_ack":
                raise SystemExit(f"server refused the connection: {ack}")
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": SUBSCRIPTION, "variables": {"c": collection, "a": alias, "after": after}}}))
            print(f"following {collection}:{alias}", flush=True)
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] != "next":
                    raise SystemExit(f"subscription ended: {message}")
                change = message["payload"]["data"]["aliasChanged"]
                if change["version"] is not None:
                    ref = change["version"]["ref"]
                    with Registry(url, token) as reg:
                        await asyncio.to_thread(reg.download, ref, dest / ref.replace("/", "_").replace(":", "_"))
                    print(f"deployed {ref} (moved by {change['event']['actor']})", flush=True)
                after = change["event"]["sequence"]
                dest.mkdir(parents=True, exist_ok=True)
                state.write_text(str(after))
                if once:
                    return
        except websockets.ConnectionClosed:
            continue  # reconnect; `after` replays what we missed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("collection", help="project/registered-model")
    parser.add_argument("--alias", default="production")
    parser.add_argument("--dest", type=Path, default=Path("deployed"))
    parser.add_argument("--once", action="store_true", help="exit after the first change")
    args = parser.parse_args()
    url = os.environ.get("LINEAGE_REG_URL", "http://127.0.0.1:8080").rstrip("/")
    token = os.environ["LINEAGE_REG_TOKEN"]
    asyncio.run(follow(url, token, args.collection, args.alias, args.dest, args.once))


if __name__ == "__main__":
    main()
