"""A deploy bot: follows an alias and downloads whatever moves there.

    export LINEAGE_REG_URL=http://127.0.0.1:8080 LINEAGE_REG_TOKEN=...
    .venv/bin/python examples/deploy_bot.py quickstart/churn --alias production --dest /srv/model [--after 0] [--once]

Subscribes to `aliasChanged` over WebSocket (graphql-transport-ws, the token in
`connection_init`). Each version that moves to the alias is resolved and
downloaded to ``<dest>/<project>_<artifact>_v<n>`` (every file checked against
its sha256), then "deployed": the symlink ``<dest>/current`` is swapped to it
atomically, so a server reading ``current/`` sees the old version or the new
one, never half of one. The bot keeps the sequence of the last event it handled
in ``<dest>/.sequence`` and passes it as ``after`` when it (re)connects, so a
restart or a dropped connection replays what it missed (``--after 0``, on a
first start, replays every move already made). Started before the registered
model exists, it waits for it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path
from typing import Any

import websockets
from websockets.typing import Subprotocol

from lineage_reg.client import Registry

SUBSCRIPTION = """subscription($c: String!, $a: String!, $after: Float) {
  aliasChanged(collection: $c, alias: $a, after: $after) { event { sequence actor } version { ref } } }"""


WAIT_SECONDS = 1.0


def swap_symlink(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` in one rename: readers never see it missing."""
    tmp = link.with_name(link.name + ".new")
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(target.name)  # relative: the deploy dir can move
    os.replace(tmp, link)


async def follow(reg: Registry, token: str, collection: str, alias: str, dest: Path, once: bool,
                 after: float | None = None) -> None:
    state = dest / ".sequence"
    if state.exists():
        after = float(state.read_text())
    ws_url = "ws" + reg.url.removeprefix("http") + "/graphql"  # http -> ws, https -> wss
    async for ws in websockets.connect(ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]):
        try:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
            if (ack := json.loads(await ws.recv()))["type"] != "connection_ack":
                raise SystemExit(f"server refused the connection: {ack}")
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {
                "query": SUBSCRIPTION, "variables": {"c": collection, "a": alias, "after": after}}}))
            print(f"following {collection}:{alias}", flush=True)
            async for raw in ws:
                message: dict[str, Any] = json.loads(raw)
                if message["type"] == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                    continue
                errors = message["payload"].get("errors") if message["type"] == "next" else None
                if errors and errors[0].get("extensions", {}).get("code") == "NOT_FOUND":
                    print(f"{collection} does not exist yet; waiting for it", flush=True)
                    after = 0  # once it exists, all of its history is news to us
                    await ws.close()
                    await asyncio.sleep(WAIT_SECONDS)
                    break  # connect and subscribe again
                if message["type"] != "next" or errors:
                    raise SystemExit(f"subscription ended: {message}")
                change = message["payload"]["data"]["aliasChanged"]
                if change["version"] is not None:  # None: the alias was removed
                    ref = change["version"]["ref"]
                    target = dest / ref.replace("/", "_").replace(":", "_")
                    await asyncio.to_thread(reg.download, ref, target)
                    swap_symlink(dest / "current", target)
                    print(f"deployed {ref} to {target} (moved by {change['event']['actor']})", flush=True)
                after = change["event"]["sequence"]
                dest.mkdir(parents=True, exist_ok=True)
                state.write_text(str(after))
                if once:
                    return
        except websockets.ConnectionClosed as closed:
            if closed.rcvd and 4400 <= closed.rcvd.code < 4500:  # refused (e.g. 4403 bad token): retrying won't help
                raise SystemExit(f"server closed the subscription: {closed.rcvd.code} {closed.rcvd.reason}") from None
            # 1013: we fell behind; anything else: the connection dropped. `after` replays what we missed.
            print("connection lost; reconnecting", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("collection", help="project/registered-model (or project/artifact)")
    parser.add_argument("--alias", default="production")
    parser.add_argument("--dest", type=Path, default=Path("deployed"))
    parser.add_argument("--once", action="store_true", help="exit after the first change")
    parser.add_argument("--after", type=float, default=None,
                        help="on a first start (no <dest>/.sequence yet), replay the moves after this event "
                             "sequence (0: all of them); without it the bot starts with the next move")
    args = parser.parse_args()
    token = os.environ.get("LINEAGE_REG_TOKEN")
    if not token:
        raise SystemExit("set LINEAGE_REG_TOKEN (a token with at least the viewer role)")
    with Registry(token=token) as reg:  # LINEAGE_REG_URL, default http://127.0.0.1:8080
        asyncio.run(follow(reg, token, args.collection, args.alias, args.dest, args.once, args.after))


if __name__ == "__main__":
    main()
