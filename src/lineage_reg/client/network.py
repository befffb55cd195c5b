"""The SDK's sockets: httpcore's network backend on plain asyncio streams, and the transport that uses it.

httpx's async client reaches sockets through anyio, which costs a cancel scope per read and write and builds
a dict of socket attributes each time the pool asks whether an idle connection is still alive. Here that was
~30 % of the client's CPU per small-file request and ~40 % of a large download's receive loop (measured in
docs/performance.md). asyncio's own streams do the same job: reads from a buffer filled by the event loop, TLS through ``StreamWriter.start_tls``, timeouts through ``asyncio.timeout``.

``transport()`` builds httpx's ``AsyncHTTPTransport`` (TLS settings, limits, proxies from the environment
stay httpx's) and hands its connection pool this backend.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from collections.abc import Awaitable, Iterable
from pathlib import Path
from typing import Any

import httpcore
import httpx

READ_BUFFER = 1024 * 1024  # bytes the event loop may buffer ahead of the reader, per connection
# httpcore asks for 64 KiB at a time; whatever more is buffered is handed over too (h11 takes any amount),
# so a big download takes a quarter of the trips through httpcore, h11 and httpx per byte: 1 GiB received
# in ~1.4-2 s here instead of ~3.5 s.
READ_AT_MOST = READ_BUFFER


class Stream(httpcore.AsyncNetworkStream):
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max(max_bytes, READ_AT_MOST))
        except TimeoutError:
            raise httpcore.ReadTimeout(f"no data for {timeout} s") from None
        except OSError as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            self._writer.write(buffer)
            async with asyncio.timeout(timeout):
                await self._writer.drain()
        except TimeoutError:
            raise httpcore.WriteTimeout(f"could not send for {timeout} s") from None
        except OSError as exc:  # includes ConnectionResetError, BrokenPipeError
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        self._writer.close()  # the transport closes in the background; waiting could hang on a dead peer

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError:
            await self.aclose()
            raise httpcore.ConnectTimeout(f"TLS handshake took over {timeout} s") from None
        except (OSError, ssl.SSLError) as exc:
            await self.aclose()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return self

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":  # asked of idle connections: readable means the server closed it
            sock = self._writer.get_extra_info("socket")
            return self._reader.at_eof() or sock is None or _readable(sock)
        if info == "client_addr":
            return self._writer.get_extra_info("sockname")
        if info == "server_addr":
            return self._writer.get_extra_info("peername")
        return self._writer.get_extra_info(info)  # "ssl_object", "socket"


class Backend(httpcore.AsyncNetworkBackend):
    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        stream = await _connected(asyncio.open_connection(
            host, port, local_addr=(local_address, 0) if local_address else None, limit=READ_BUFFER),
            f"{host}:{port}", timeout)
        sock = stream.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as anyio does: no 40 ms Nagle stalls
        for option in socket_options or ():
            sock.setsockopt(*option)
        return stream

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        return await _connected(asyncio.open_unix_connection(path, limit=READ_BUFFER), path, timeout)

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


async def _connected(opening: Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]], where: str,
                     timeout: float | None) -> Stream:
    """The stream ``opening`` makes, its failures as httpcore's (httpx maps those to its own)."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await opening
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"could not connect to {where} within {timeout} s") from None
    except OSError as exc:
        raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
    return Stream(reader, writer)


def _readable(sock: socket.socket) -> bool:
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    return bool(poller.poll(0))
