"""Load generation shared by the benchmarks: keep-alive HTTP clients in threads, CPU from /proc.

The client is plain ``http.client`` (one persistent connection per thread):
httpx costs several times more CPU per request, and client and server share
this machine's cores, so a heavy client would cap what the server can show.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

Request = tuple[str, str, bytes | None, dict[str, str]]  # method, path, body, headers
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_ms(pids: list[int]) -> float:
    """utime+stime of the given processes, in ms (children that exited are not counted)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except FileNotFoundError:
            pass
    return total * 1000 / TICKS


def process_tree(pid: int) -> list[int]:
    pids = [pid]
    for p in pids:
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                pids.extend(int(c) for c in f.read().split())
        except FileNotFoundError:
            pass
    return pids


def json_request(method: str, path: str, body: object | None, headers: dict[str, str] | None = None) -> Request:
    data = json.dumps(body).encode() if body is not None else None
    hdrs = {"Content-Type": "application/json", **(headers or {})}
    return method, path, data, hdrs


@dataclass
class Result:
    name: str
    clients: int
    requests: int
    seconds: float
    latencies_ms: list[float]
    server_cpu_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def cpu_per_request(self) -> float:
        return self.server_cpu_ms / max(1, self.requests)

    def row(self) -> str:
        return (f"| {self.name} | {self.clients} | {self.rps:,.0f} | {self.pct(0.5):.2f} | {self.pct(0.99):.2f} | "
                f"{self.cpu_per_request:.2f} | {self.errors} |")


HEADER = ("| workload | clients | req/s | p50 ms | p99 ms | server CPU ms/req | errors |\n"
          "|---|---|---|---|---|---|---|")


Op = Callable[[http.client.HTTPConnection, int], bool]  # one operation; False on a wrong answer


def send(conn: http.client.HTTPConnection, req: Request) -> tuple[int, bytes]:
    method, path, body, headers = req
    conn.request(method, path, body=body, headers=headers)
    resp = conn.getresponse()
    return resp.status, resp.read()


def simple(make: Callable[[int], Request]) -> Op:
    """An operation of one request that must answer 2xx."""

    def op(conn: http.client.HTTPConnection, i: int) -> bool:
        status, _ = send(conn, make(i))
        return status < 400

    return op


def run_load(name: str, base_url: str, op: Op, *, clients: int, seconds: float, server_pids: list[int]) -> Result:
    """Each client thread runs ``op`` back to back on one keep-alive connection for ``seconds``."""
    parts = urlsplit(base_url)
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    counter = iter(range(10**9))
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker(t: int) -> None:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        start_gate.wait()
        while time.perf_counter() < stop_at[0]:
            with lock:
                i = next(counter)
            t0 = time.perf_counter()
            ok = op(conn, i)
            latencies[t].append((time.perf_counter() - t0) * 1000)
            errors[t] += not ok
        conn.close()

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(clients)]
    for th in threads:
        th.start()
    cpu0 = cpu_ms(server_pids)
    t0 = time.perf_counter()
    stop_at[0] = t0 + seconds
    start_gate.wait()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t0
    cpu1 = cpu_ms(server_pids)
    flat = [x for lat in latencies for x in lat]
    return Result(name, clients, len(flat), elapsed, flat, cpu1 - cpu0, sum(errors))


def median(values: list[float]) -> float:
    return statistics.median(values)
