"""The SDK's sockets: httpcore's network backend on a plain asyncio protocol, and the transport that uses it.

httpx's async client reaches sockets through anyio, which costs a cancel scope per read and write and builds
a dict of socket attributes each time the pool asks whether an idle connection is still alive. Here that was
~30 % of the client's CPU per small-file request and ~40 % of a large download's receive loop (measured in
docs/performance.md). An asyncio protocol does the same job with less: the bytes the event loop received are
handed over as they are (no copy through a ``StreamReader``), TLS goes through ``loop.start_tls``, timeouts
through ``asyncio.timeout``.

``transport()`` builds httpx's ``AsyncHTTPTransport`` (TLS settings, limits, proxies from the environment
stay httpx's) and hands its connection pool this backend.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from collections import deque
from collections.abc import Awaitable, Iterable
from pathlib import Path
from typing import Any

import httpcore
import httpx

READ_BUFFER = 1024 * 1024  # bytes the event loop may buffer ahead of the reader, per connection


class Connection(asyncio.Protocol):
    """One socket's bytes as the event loop receives them, kept as they came (a deque of the loop's own
    ``bytes``, up to 256 KiB each) and handed over without a copy: asyncio's ``StreamReader`` copies every
    byte into a bytearray and out again. Reading pauses while ``READ_BUFFER`` bytes wait; writing waits
    while the transport's buffer is full."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.received: deque[bytes] = deque()
        self.buffered = 0
        self.paused = False
        self.ended = False  # the peer closed, or the connection broke (``error``)
        self.error: BaseException | None = None
        self.can_write = True
        self._waiting: set[asyncio.Future[None]] = set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.received.append(data)
        self.buffered += len(data)
        if self.buffered > READ_BUFFER and not self.paused and self.transport is not None:
            self.paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return False  # let the transport close

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended, self.error = True, exc
        self._wake()

    def pause_writing(self) -> None:
        self.can_write = False

    def resume_writing(self) -> None:
        self.can_write = True
        self._wake()

    def _wake(self) -> None:
        for waiter in self._waiting:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self) -> None:
        """Until something happens: bytes in, the end, room to write."""
        waiter = asyncio.get_running_loop().create_future()
        self._waiting.add(waiter)
        try:
            await waiter
        finally:
            self._waiting.discard(waiter)

    def take(self) -> bytes:
        data = self.received.popleft()
        self.buffered -= len(data)
        if self.paused and self.buffered <= READ_BUFFER // 2 and self.transport is not None:
            self.paused = False
            self.transport.resume_reading()
        return data


class Stream(httpcore.AsyncNetworkStream):
    def __init__(self, transport: asyncio.Transport, connection: Connection) -> None:
        self._transport = transport
        self._connection = connection

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        """What arrived first, whatever its size (h11 takes any amount): httpcore asks for 64 KiB at a time,
        and a big download then costs a quarter of the trips through httpcore, h11 and httpx per byte."""
        connection = self._connection
        try:
            async with asyncio.timeout(timeout):
                while not connection.received:
                    if connection.ended:
                        if connection.error is not None:
                            raise connection.error
                        return b""
                    await connection.wait()
        except TimeoutError:
            raise httpcore.ReadTimeout(f"no data for {timeout} s") from None
        except OSError as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc
        return connection.take()

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        connection = self._connection
        try:
            if connection.ended:
                raise connection.error or ConnectionResetError("the server closed the connection")
            self._transport.write(buffer)
            async with asyncio.timeout(timeout):
                while not connection.can_write and not connection.ended:
                    await connection.wait()
            if connection.error is not None:
                raise connection.error
        except TimeoutError:
            raise httpcore.WriteTimeout(f"could not send for {timeout} s") from None
        except OSError as exc:  # includes ConnectionResetError, BrokenPipeError
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        self._transport.close()  # closes in the background; waiting could hang on a dead peer

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                secured = await asyncio.get_running_loop().start_tls(
                    self._transport, self._connection, ssl_context, server_hostname=server_hostname)
        except TimeoutError:
            await self.aclose()
            raise httpcore.ConnectTimeout(f"TLS handshake took over {timeout} s") from None
        except (OSError, ssl.SSLError) as exc:
            await self.aclose()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        assert secured is not None and isinstance(secured, asyncio.Transport)
        self._connection.transport = secured
        return Stream(secured, self._connection)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # asked of idle connections: readable means the server closed it (or spoke)
            connection = self._connection
            sock = self._transport.get_extra_info("socket")
            return connection.ended or bool(connection.received) or sock is None or _readable(sock)
        if info == "client_addr":
            return self._transport.get_extra_info("sockname")
        if info == "server_addr":
            return self._transport.get_extra_info("peername")
        return self._transport.get_extra_info(info)  # "ssl_object", "socket"


class Backend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        stream = await _connected(loop.create_connection(
            Connection, host, port, local_addr=(local_address, 0) if local_address else None),
            f"{host}:{port}", timeout)
        sock = stream.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as anyio does: no 40 ms Nagle stalls
        for option in socket_options or ():
            sock.setsockopt(*option)
        return stream

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        return await _connected(asyncio.get_running_loop().create_unix_connection(Connection, path), path, timeout)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def ssl_context(verify: bool | str | Path | ssl.SSLContext) -> ssl.SSLContext:
    """One TLS setup for HTTP and WebSocket alike: ``True``, httpx's (certifi, or ``SSL_CERT_FILE``); a path,
    that CA bundle; ``False``, no verification (never in production); or a context of your own."""
    if isinstance(verify, ssl.SSLContext):
        return verify
    if isinstance(verify, bool):
        return httpx.create_ssl_context(verify=verify)
    return ssl.create_default_context(cafile=str(verify))


def transport(limits: httpx.Limits, tls: ssl.SSLContext) -> httpx.AsyncHTTPTransport:
    """httpx's transport with this backend under its pool (httpx's own, should a future httpx move it)."""
    built = httpx.AsyncHTTPTransport(limits=limits, verify=tls)
    pool = getattr(built, "_pool", None)
    if hasattr(pool, "_network_backend"):
        pool._network_backend = Backend()  # type: ignore[union-attr]
    return built


async def _connected(opening: Awaitable[tuple[asyncio.Transport, Connection]], where: str,
                     timeout: float | None) -> Stream:
    """The stream ``opening`` makes, its failures as httpcore's (httpx maps those to its own)."""
    try:
        async with asyncio.timeout(timeout):
            transport, connection = await opening
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"could not connect to {where} within {timeout} s") from None
    except OSError as exc:
        raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
    return Stream(transport, connection)


def _readable(sock: socket.socket) -> bool:
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return bool(poller.poll(0))
