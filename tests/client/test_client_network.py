"""The SDK's own network backend (``client/network.py``) over real sockets, against small asyncio servers
that misbehave on purpose: a body cut short, a server that goes quiet, a keep-alive connection the server
closed while it was idle, a big body that must be flow-controlled both ways."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import httpx
import pytest

from lineage_reg.client import network

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.close()


@asynccontextmanager
async def client(timeout: float = 5.0) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=2, max_keepalive_connections=2)
    transport = network.transport(limits, network.ssl_context(True))
    assert isinstance(transport._pool._network_backend, network.Backend)  # this backend, not anyio's
    async with httpx.AsyncClient(transport=transport, timeout=timeout) as http:
        yield http


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """The head of one request, and its body when it declares a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    return await reader.readexactly(length)


async def test_a_body_cut_short_is_an_error_not_a_short_file() -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 500)
        await writer.drain()
        writer.close()

    async with serving(cut) as url, client() as http:
        with pytest.raises(httpx.RemoteProtocolError):
            async with http.stream("GET", url) as resp:
                async for _ in resp.aiter_bytes():
                    pass


async def test_a_server_that_goes_quiet_times_out() -> None:
    async def quiet(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()
        await asyncio.sleep(5)

    async with serving(quiet) as url, client(timeout=0.3) as http:
        with pytest.raises(httpx.ReadTimeout):
            async with http.stream("GET", url) as resp:
                await resp.aread()


async def test_an_idle_connection_the_server_closed_is_not_reused() -> None:
    connections = 0

    async def once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")  # keep-alive, then closed anyway
        await writer.drain()
        writer.close()

    async with serving(once) as url, client() as http:
        assert (await http.get(url)).text == "ok"
        await asyncio.sleep(0.1)  # the close reaches the idle connection in the pool
        assert (await http.get(url)).text == "ok"  # a fresh connection, not a failure on the dead one
    assert connections == 2


async def test_big_bodies_both_ways_are_whole_and_flow_controlled() -> None:
    body = os.urandom(24 * 1024 * 1024)  # far over the 1 MiB read buffer and the socket buffers

    async def echo_digest_then_send(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(0.2)  # let the client fill every buffer first: its writes must wait, not fail
        got = await read_request(reader)
        digest = hashlib.sha256(got).hexdigest().encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (len(digest) + len(body)) + digest)
        for start in range(0, len(body), 1 << 20):
            writer.write(body[start:start + (1 << 20)])
            await writer.drain()
        writer.close()

    async with serving(echo_digest_then_send) as url, client() as http:
        async with http.stream("PUT", url, content=body) as resp:
            received = bytearray()
            async for chunk in resp.aiter_raw():
                received += chunk
                await asyncio.sleep(0)  # a slow reader: reading pauses and resumes
    assert bytes(received[:64]) == hashlib.sha256(body).hexdigest().encode()
    assert bytes(received[64:]) == body


async def test_a_refused_connection_is_a_connect_error() -> None:
    async with serving(read_request) as url:
        pass  # closed: nothing listens there any more
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(url)
