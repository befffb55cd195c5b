"""Alias-change fan-out: many WebSocket subscribers, one alias moving.

    python bench/fanout.py [--subscribers 1000] [--moves 100] [--interval 0.25] [--no-postgres]

Starts ``lineage-reg serve`` (SQLite, one process), opens N graphql-transport-ws
connections, each subscribed to ``aliasChanged(collection: "bench/model",
alias: "production")``, then moves ``production`` M times (one move every
``--interval`` seconds) and records when each subscriber receives each move.
Latency is measured from the event's own timestamp (taken inside the writing
transaction, so it includes the commit) to arrival. Printed per run:

* commit -> last subscriber: p50 / p99 / max over the M moves (the time until *everyone* knows);
* commit -> each subscriber: p50 / p99 over all N x M deliveries;
* a burst: the M moves back to back, deliveries per second until every subscriber has all of them;
* lost / duplicated / out-of-order deliveries (must be 0).

Then the same on PostgreSQL (pgserver) with two server processes, half of the
subscribers on each and the mutations sent to the first: events reach the
second process through LISTEN/NOTIFY.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from datetime import datetime
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from hot_path import COMMIT, CREATE, LINK, Registry, files_for  # noqa: E402
from _load import cpu_ms, process_tree, send  # noqa: E402
from _pg import postgres_database  # noqa: E402

SUBSCRIPTION = ('subscription { aliasChanged(collection: "bench/model", alias: "production") '
                '{ event { sequence at } version { ref } } }')
SET = ('mutation($v: String!) { setAlias(input: {collection: "bench/model", alias: "production", version: $v}) '
       '{ name } }')


def populate(reg: Registry) -> None:
    conn = HTTPConnection("127.0.0.1", reg.port)
    reg.gql(conn, 'mutation { createProject(name: "bench") { id } }')
    for v in range(2):
        manifest, contents = files_for(0, v)
        created = reg.gql(conn, CREATE, input={"project": "bench", "artifact": "trained", "type": "model",
                                               "files": manifest})["createArtifactVersion"]
        by_sha = {t["url"].split("/files/blobs/")[1].split("?")[0]: t["url"] for t in created["uploads"]}
        import hashlib

        for body in contents.values():
            url = by_sha.get(hashlib.sha256(body).hexdigest())
            if url:
                status, _ = send(conn, ("PUT", url.split(reg.url, 1)[1], body, {}))
                assert status == 201
        reg.gql(conn, COMMIT, v=created["version"]["id"])
        reg.gql(conn, LINK, v=f"bench/trained:v{v}", m="bench/model", a=[])


class Subscriber:
    """Records each message's arrival time and raw text; parsing waits until the end, so that this client,
    which shares the machine's two cores with the server, spends as little as it can while measuring."""

    def __init__(self) -> None:
        self.raw: list[tuple[str | bytes, float]] = []
        self.ready = asyncio.Event()

    @property
    def arrivals(self) -> list[tuple[int, float, float]]:
        """(sequence, event time, arrival time) per message."""
        if len(self._parsed) != len(self.raw):
            self._parsed = [self._parse(raw, at) for raw, at in self.raw]
        return self._parsed

    _parsed: list[tuple[int, float, float]] = []

    @staticmethod
    def _parse(raw: str | bytes, at: float) -> tuple[int, float, float]:
        msg = json.loads(raw)
        if msg["type"] != "next" or msg["payload"].get("errors"):
            raise RuntimeError(f"unexpected message {msg}")
        event = msg["payload"]["data"]["aliasChanged"]["event"]
        return int(event["sequence"]), datetime.fromisoformat(event["at"]).timestamp(), at

    async def run(self, url: str, token: str, stop: asyncio.Event) -> None:
        async with websockets.connect(url, subprotocols=["graphql-transport-ws"], open_timeout=60,  # type: ignore[list-item]
                                      max_queue=None, ping_interval=None) as ws:
            await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
            self.ready.set()
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.5)
                except TimeoutError:
                    continue
                self.raw.append((raw, time.time()))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(regs: list[Registry], subscribers: int, moves: int, interval: float) -> dict[str, Any]:
    subs = [Subscriber() for _ in range(subscribers)]
    stop = asyncio.Event()
    tasks = []
    for i, sub in enumerate(subs):
        reg = regs[i % len(regs)]
        url = reg.url.replace("http://", "ws://") + "/graphql"
        tasks.append(asyncio.create_task(sub.run(url, reg.token, stop)))
        if i % 50 == 49:
            await asyncio.sleep(0.05)  # don't open 1,000 connections in one burst
    await asyncio.wait_for(asyncio.gather(*(s.ready.wait() for s in subs)), 120)
    await asyncio.sleep(2.0)  # every subscription has reached its live phase
    conn = HTTPConnection("127.0.0.1", regs[0].port)
    loop = asyncio.get_running_loop()

    async def move(n: int) -> None:
        await loop.run_in_executor(None, lambda: regs[0].gql(conn, SET, v=f"bench/trained:v{n % 2}"))

    async def wait_all(count: int, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while any(len(s.raw) < count for s in subs):
            if time.monotonic() > deadline or any(t.done() for t in tasks):
                raise RuntimeError(f"only {min(len(s.raw) for s in subs)} of {count} moves arrived everywhere")
            await asyncio.sleep(0.01)

    # Paced: one move every `interval` seconds; latency per event.
    for n in range(moves):
        started = time.monotonic()
        await move(n)
        await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
    await wait_all(moves)
    # Burst: the same number of moves back to back.
    pids = [p for reg in regs for p in process_tree(reg.proc.pid)]
    server_cpu, client_cpu = cpu_ms(pids), time.process_time()
    burst_start = time.time()
    for n in range(moves):
        await move(moves + n)  # continues the alternation: every move is a real change
    await wait_all(2 * moves)
    burst_seconds = max(s.raw[-1][1] for s in subs) - burst_start
    server_cpu, client_cpu = cpu_ms(pids) - server_cpu, 1000 * (time.process_time() - client_cpu)
    await asyncio.sleep(1.0)  # anything extra (a duplicate) would arrive now
    stop.set()
    await asyncio.gather(*tasks)

    sequences = [[a[0] for a in s.arrivals] for s in subs]
    expected = sequences[0]
    bad = sum(1 for seqs in sequences if seqs != expected or len(set(seqs)) != len(seqs) or seqs != sorted(seqs))
    paced = [s.arrivals[:moves] for s in subs]
    per_event_last = [max(p[i][2] for p in paced) - paced[0][i][1] for i in range(moves)]
    per_delivery = [a[2] - a[1] for p in paced for a in p]
    return {
        "subscribers": subscribers, "processes": len(regs),
        "last_p50_ms": 1000 * statistics.median(per_event_last), "last_p99_ms": 1000 * pct(per_event_last, 0.99),
        "last_p90_ms": 1000 * pct(per_event_last, 0.90),
        "last_max_ms": 1000 * max(per_event_last),
        "each_p50_ms": 1000 * statistics.median(per_delivery), "each_p99_ms": 1000 * pct(per_delivery, 0.99),
        "burst_events_per_s": moves / burst_seconds, "burst_deliveries_per_s": moves * subscribers / burst_seconds,
        "server_cpu_us": 1000 * server_cpu / (moves * subscribers),
        "client_cpu_us": 1000 * client_cpu / (moves * subscribers),
        "bad_subscribers": bad, "events_each": len(expected), "events_expected": 2 * moves,
    }


def report(name: str, r: dict[str, Any]) -> None:
    print(f"\n{name}: {r['subscribers']} subscribers on {r['processes']} process(es)")
    print(f"  commit -> last subscriber   p50 {r['last_p50_ms']:7.1f} ms   p90 {r['last_p90_ms']:7.1f} ms   "
          f"p99 {r['last_p99_ms']:7.1f} ms   "
          f"max {r['last_max_ms']:7.1f} ms   (target p99 < 250 ms)")
    print(f"  commit -> each subscriber   p50 {r['each_p50_ms']:7.1f} ms   p99 {r['each_p99_ms']:7.1f} ms")
    print(f"  burst                       {r['burst_events_per_s']:7.1f} events/s = "
          f"{r['burst_deliveries_per_s']:,.0f} deliveries/s; CPU per delivery: server {r['server_cpu_us']:.0f} us, "
          f"this client {r['client_cpu_us']:.0f} us")
    print(f"  every subscriber got {r['events_each']}/{r['events_expected']} events; "
          f"subscribers with a lost, duplicated or out-of-order event: {r['bad_subscribers']}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--moves", type=int, default=100)
    ap.add_argument("--interval", type=float, default=0.25, help="seconds between paced moves")
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    except (ImportError, ValueError):
        pass

    with tempfile.TemporaryDirectory() as tmp:
        reg = Registry(Path(tmp))
        try:
            populate(reg)
            report("SQLite", asyncio.run(measure([reg], args.subscribers, args.moves, args.interval)))
        finally:
            reg.stop()

    if args.no_postgres:
        return 0
    with postgres_database("fanout") as (url, tmp):
        env = {"LINEAGE_REG_DATABASE_URL": url}
        first = Registry(tmp, env)
        second = Registry(tmp, env)  # same data dir: reads the admin token the first one created
        try:
            populate(first)
            report("PostgreSQL", asyncio.run(measure([first, second], args.subscribers, args.moves, args.interval)))
        finally:
            second.stop()
            first.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
