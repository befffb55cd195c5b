"""Production monitoring with automatic rollback: serving logs metrics, a rule fires, a bot moves the alias back.

    export LINEAGE_REG_URL=http://127.0.0.1:8080
    export LINEAGE_REG_TOKEN=$(cat ~/.local/share/lineage-reg/admin.token)
    .venv/bin/python examples/monitor_and_rollback.py

Three actors, in one script so it runs on its own:

1. **Setup**: a good version (fast) and a new one (slow) of the artifact ``monitoring/ranker-weights`` are logged and linked into the
   registered model ``monitoring/ranker``; ``production`` moves to the good one, then to the new one. A metric
   rule on ``production`` says "when the mean ``latency_p99`` of the last 5 production points is above 50 ms,
   raise ``metric.breached``" (``createMetricRule``, a project admin's call).
2. **Serving**: every 50 ms it asks which version holds ``production`` and logs that version's ``latency_p99``
   with source ``production`` (``logVersionMetrics``; a serving sidecar needs only a member token).
3. **The rollback bot**: subscribed to the project's ``alias.set`` and ``metric.breached`` events from the
   start of the log, it keeps each alias's history from the replay; on a breach of its rule by the version
   holding the alias it rolls the alias back (``rollbackAlias``: to the version that held it before, the reason
   recorded) and tags the bad one ``rolled-back``.

The rule fires once per breach: after the rollback the good version's points keep it quiet, and it would fire
again only if the condition held again after clearing. Running the example again logs two new versions and
rolls back again; its rule is deleted at the end.
"""

from __future__ import annotations

import asyncio
import json
import random
import tempfile
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from lineage_reg.client import AsyncRegistry, Conflict

PROJECT = "monitoring"
MODEL = f"{PROJECT}/ranker"
ALIAS = "production"
THRESHOLD_MS = 50.0
WINDOW = 5
TIMEOUT_SECONDS = 60.0

EVENTS = """subscription($p: String!) {
  events(project: $p, kinds: ["alias.set", "metric.breached"], after: 0) {
    sequence kind collection alias payload toVersion { ref } } }"""
CREATE_RULE = """mutation($c: String!, $a: String!, $t: Float!, $w: Int!) {
  createMetricRule(collection: $c, alias: $a, metric: "latency_p99", source: "production", op: GT, threshold: $t,
                   window: $w) { id } }"""
DELETE_RULE = "mutation($id: ID!) { deleteMetricRule(id: $id) }"
LOG = """mutation($v: String!, $m: JSON!) { logVersionMetrics(version: $v, metrics: $m, source: "production") }"""


async def setup(reg: AsyncRegistry) -> tuple[str, str, str]:
    """Two versions in production one after the other, and the rule watching ``production``. Their refs and the
    rule's id."""
    try:
        await reg.create_project(PROJECT, "models from examples/monitor_and_rollback.py")
    except Conflict:
        pass  # a second run of the example
    refs = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, latency in (("good", 25), ("new", 70)):
            model = Path(tmp) / name
            model.write_bytes(random.randbytes(64 * 1024))  # stand-in weights: a new version every run
            version = await reg.log_artifact(PROJECT, "ranker-weights", type="model", path=model,
                                             metadata={"expected_latency_ms": latency})
            await reg.link(version, MODEL)
            await reg.set_alias(MODEL, ALIAS, version)
            refs.append(version.ref)
    rule = (await reg.query(CREATE_RULE, c=MODEL, a=ALIAS, t=THRESHOLD_MS, w=WINDOW))["createMetricRule"]["id"]
    print(f"{MODEL}:{ALIAS} moved {refs[0]} -> {refs[1]}; rule {rule}: mean latency_p99 of {WINDOW} > "
          f"{THRESHOLD_MS:g} ms", flush=True)
    return refs[0], refs[1], rule


async def serve(reg: AsyncRegistry, stop: asyncio.Event) -> None:
    """Stand-in for a serving sidecar: the version in production answers with its own latency."""
    while not stop.is_set():
        live = await reg.resolve(f"{MODEL}:{ALIAS}")
        latency = live.metadata["expected_latency_ms"] * random.uniform(0.9, 1.1)
        await reg.query(LOG, v=live.ref, m={"latency_p99": round(latency, 2)})
        await asyncio.sleep(0.05)


async def rollback_bot(reg: AsyncRegistry, token: str, rule: str, subscribed: asyncio.Event) -> str:
    """Follow the project's alias moves and ``rule``'s breaches (the replay holds earlier runs' too); roll the
    breached alias back once. The ref moved back to."""
    history: dict[tuple[str, str], list[str]] = {}  # (collection, alias) -> refs that held it, oldest first
    ws_url = "ws" + reg.url.removeprefix("http") + "/graphql"
    async with connect(ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
        if (ack := json.loads(await ws.recv()))["type"] != "connection_ack":
            raise SystemExit(f"server refused the connection: {ack}")
        await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                  "payload": {"query": EVENTS, "variables": {"p": PROJECT}}}))
        subscribed.set()
        async for raw in ws:
            message: dict[str, Any] = json.loads(raw)
            if message["type"] == "ping":
                await ws.send(json.dumps({"type": "pong"}))
                continue
            if message["type"] != "next" or message["payload"].get("errors"):
                raise SystemExit(f"subscription ended: {message}")
            event = message["payload"]["data"]["events"]
            key = (event["collection"], event["alias"])
            held = history.setdefault(key, [])
            if event["kind"] == "alias.set":
                to = event["toVersion"]["ref"]
                if len(held) >= 2 and held[-2] == to:
                    held.pop()  # moved back to where it was: a rollback
                else:
                    held.append(to)
            elif (event["kind"] == "metric.breached" and event["payload"]["rule"] == rule and len(held) >= 2
                  and held[-1] == event["payload"]["version"]):
                bad, previous = held[-1], held[-2]
                payload = event["payload"]
                print(f"breach: {bad} {payload['metric']} mean {payload['observed']:.1f} {payload['op']} "
                      f"{payload['threshold']:g} ({payload['source']})", flush=True)
                # rollbackAlias: back to the version before the last move, with the reason in the log; allowed
                # even where an approval policy governs the alias (docs/governance.md).
                restored = await reg.rollback(event["collection"], event["alias"],
                                              reason=f"{payload['metric']} breached rule {rule}")
                assert restored == previous, (restored, previous)
                await reg.add_tags(bad, ["rolled-back"])
                print(f"rolled back {event['collection']}:{event['alias']} from {bad} to {previous}", flush=True)
                return previous
    raise SystemExit("the event stream ended before a breach")


async def main() -> None:
    async with AsyncRegistry() as reg:
        token = reg.auth.get("Authorization", "").removeprefix("Bearer ")
        good, new, rule = await setup(reg)
        subscribed, stop = asyncio.Event(), asyncio.Event()
        bot = asyncio.create_task(rollback_bot(reg, token, rule, subscribed))
        await subscribed.wait()
        serving = asyncio.create_task(serve(reg, stop))
        try:
            restored = await asyncio.wait_for(bot, TIMEOUT_SECONDS)
            await asyncio.sleep(WINDOW * 0.05 * 2)  # serving goes on with the restored version
        finally:
            stop.set()
            await serving
            await reg.query(DELETE_RULE, id=rule)
        live = await reg.resolve(f"{MODEL}:{ALIAS}")
        assert restored == good and live.ref == good, (restored, live.ref)
        print(f"{MODEL}:{ALIAS} is {live.ref} again; {new} is tagged rolled-back", flush=True)


if __name__ == "__main__":
    asyncio.run(main())
