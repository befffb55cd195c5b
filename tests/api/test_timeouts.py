"""Slow clients hold no connection: header and body deadlines, over real sockets against a real server."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from lineage_reg.config import Settings

from conftest import LiveServer

pytestmark = pytest.mark.dialects("sqlite")  # the deadlines live in the HTTP layer, before any database

HEADER_TIMEOUT = 0.6
BODY_GRACE = 0.6
MIN_RATE = 1000.0


@pytest.fixture
def server(settings: Settings) -> Iterator[LiveServer]:
    tight = dataclasses.replace(settings, header_timeout_seconds=HEADER_TIMEOUT, body_timeout_seconds=BODY_GRACE,
                                body_min_rate=MIN_RATE)
    with LiveServer(tight) as live:
        yield live


def connect(server: LiveServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (a 10 s socket timeout fails the test)."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def trickle(sock: socket.socket, data: bytes, every: float) -> bool:
    """Send ``data`` a byte at a time; False once the server has closed the connection."""
    for byte in data:
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return False
        time.sleep(every)
    return True


def test_a_connection_that_sends_nothing_is_closed_with_408(server: LiveServer) -> None:
    with connect(server) as sock:
        start = time.monotonic()
        answer = read_all(sock)
        elapsed = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b'"code": "BAD_INPUT"' in answer
    assert HEADER_TIMEOUT * 0.8 <= elapsed < HEADER_TIMEOUT + 3


def test_headers_sent_a_byte_at_a_time_are_cut_at_the_deadline(server: LiveServer) -> None:
    headers = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 200 + b"\r\n\r\n"
    with connect(server) as sock:
        start = time.monotonic()
        trickle(sock, headers, every=0.05)  # 10 s for all of it: far past the deadline
        answer = read_all(sock)
        elapsed = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert elapsed < HEADER_TIMEOUT + 3


def test_a_body_slower_than_the_minimum_rate_is_cut_and_changes_nothing(server: LiveServer) -> None:
    body = b'{"query": "mutation { createProject(name: \\"slow\\") { id } }"}' + b" " * 400
    token = server.admin_token()
    head = (b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Authorization: Bearer " + token.encode() + b"\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    with connect(server) as sock:
        sock.sendall(head)
        start = time.monotonic()
        trickle(sock, body, every=0.02)  # ~50 B/s, far below 1,000 B/s
        answer = read_all(sock)
        elapsed = time.monotonic() - start
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert elapsed < BODY_GRACE + 3
    listed = httpx.post(f"{server.url}/graphql", json={"query": "{ projects { edges { node { name } } } }"},
                        headers={"Authorization": f"Bearer {token}"}).json()
    assert listed["data"]["projects"]["edges"] == []  # the mutation never ran


def test_a_fast_body_and_keep_alive_requests_are_untouched(server: LiveServer) -> None:
    token = server.admin_token()
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as http:
        padding = " " * 600_000  # 600 KB: far beyond grace x rate, but it arrives at once
        first = http.post(f"{server.url}/graphql",
                          content=('{"query": "{ projects { edges { node { name } } } }"' + padding + "}").encode(),
                          headers={"Content-Type": "application/json"})
        time.sleep(HEADER_TIMEOUT * 0.5)
        second = http.get(f"{server.url}/healthz")
    assert first.status_code == 200 and "errors" not in first.json(), first.text
    assert second.status_code == 200


async def test_many_slow_clients_do_not_hold_the_server(server: LiveServer) -> None:
    """50 connections that send half a request line and stop: all closed by the deadline, /healthz answers."""
    writers = []
    for _ in range(50):
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"POST /graphql HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        writers.append((reader, writer))
    async with httpx.AsyncClient() as http:
        assert (await http.get(f"{server.url}/healthz")).status_code == 200
    answers = await asyncio.wait_for(asyncio.gather(*(reader.read() for reader, _ in writers)), HEADER_TIMEOUT + 5)
    for _, writer in writers:
        writer.close()
    assert all(a.startswith(b"HTTP/1.1 408 ") for a in answers)
