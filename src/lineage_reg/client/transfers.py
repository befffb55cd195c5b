"""Moving blobs between disk and the server's signed URLs: uploads (whole, or in parts) and verified downloads.

Each upload or download is streamed (never a whole file in memory) and tried again from the start on a
transient failure: blobs are addressed by their sha256, so sending one twice stores it once. At most
``concurrency`` run at once (``each``); the first failure cancels the rest, whose cleanup still runs
(no partial file is left behind). Signed URLs carry their own authority: no token is sent with them.

Blob requests go straight to the transport (``direct``), past the client's per-request work that signed,
absolute, cookie-free URLs never need (URL merging, cookie extraction, auth and redirect handling): ~15 %
of the client's CPU per small file. With a proxy configured in the environment they go through the client,
which knows which proxy serves which URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from .. import __version__, errors
from .cache import BlobCache
from .failures import transfer_error
from .files import INLINE, read_slice, write_verified
from .retry import TRANSIENT_STATUS, Retry, Transient, repeat
from .version import File

T = TypeVar("T")
USER_AGENT = f"lineage-reg-sdk/{__version__}"
PARTS_AT_ONCE = 4  # of one multipart upload (each part is streamed from disk: no part is held in memory)
Complete = Callable[[dict[str, Any], int, list[dict[str, Any]]], Awaitable[object]]


async def each(work: Callable[[T], Awaitable[object]], items: Iterable[T], limit: int) -> None:
    """``work`` over ``items``, at most ``limit`` at a time; the first failure cancels the others and raises."""
    gate = asyncio.Semaphore(limit)

    async def bounded(item: T) -> None:
        async with gate:
            await work(item)

    try:
        async with asyncio.TaskGroup() as group:
            for item in items:
                group.create_task(bounded(item))
    except BaseExceptionGroup as grouped:  # the first error as itself, as the blocking SDK always raised
        first = grouped.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None


class Transfers:
    def __init__(self, http: httpx.AsyncClient, direct: httpx.AsyncBaseTransport | None, *, retry: Retry,
                 progress: Callable[[int], None] | None, cache: BlobCache | None, fsync: bool) -> None:
        self.http = http
        self.direct = direct
        self.timeout = http.timeout.as_dict()
        self.retry = retry
        self.progress = progress
        self.cache = cache
        self.fsync = fsync

    async def _open(self, method: str, url: str, headers: dict[str, str],
                    content: AsyncIterable[bytes] | None = None) -> httpx.Response:
        """Send a blob request; the response's body is not read yet (``aclose`` it)."""
        if self.direct is None:
            return await self.http.send(self.http.build_request(method, url, headers=headers, content=content),
                                        stream=True)
        request = httpx.Request(method, url, headers={"User-Agent": USER_AGENT, **headers}, content=content,
                                extensions={"timeout": self.timeout})
        resp = await self.direct.handle_async_request(request)
        resp.request = request
        return resp

    # --- up ---

    async def upload(self, target: dict[str, Any], source: Path, complete: Complete) -> None:
        """One blob as the server's upload target says: a single PUT, or its parts and then ``complete``."""
        size = source.stat().st_size
        if not target["parts"]:
            await self._send(target["method"], target["url"], source, 0, size, target["headers"])
            return
        etags: dict[int, str] = {}

        async def put(part: dict[str, Any]) -> None:
            resp = await self._send("PUT", part["url"], source, int(part["offset"]), int(part["size"]), {})
            etags[int(part["number"])] = resp.headers["etag"]

        await each(put, target["parts"], PARTS_AT_ONCE)  # the connection pool still bounds the total
        await complete(target, size, [{"number": n, "etag": etags[n]} for n in sorted(etags)])

    async def _send(self, method: str, url: str, source: Path, offset: int, size: int,
                    headers: dict[str, str]) -> httpx.Response:
        what = f"upload of {source}"

        async def send() -> httpx.Response:
            resp = await self._open(method, url, {**headers, "Content-Length": str(size)},
                                    self._counted(read_slice(source, offset, size)))
            try:
                await resp.aread()
            finally:
                await resp.aclose()
            if resp.status_code in TRANSIENT_STATUS:
                raise Transient(transfer_error(resp, what), resp)
            if resp.status_code >= 300:
                raise transfer_error(resp, what)
            return resp

        try:
            return await repeat(self.retry, send, idempotent=True)
        except httpx.TransportError as exc:
            raise errors.RegistryError(f"{what} failed: {exc!r}") from exc

    def _counted(self, chunks: AsyncIterable[bytes]) -> AsyncIterable[bytes]:
        """``chunks``, reporting each one's size to ``progress`` (if there is one) as it passes."""
        progress = self.progress
        if progress is None:
            return chunks

        async def counting() -> AsyncIterator[bytes]:
            async for chunk in chunks:
                progress(len(chunk))
                yield chunk

        return counting()

    # --- down ---

    async def fetch(self, file: File, target: Path) -> None:
        """``file`` into ``target``: from the cache when it holds the bytes, else streamed and verified."""
        cache = self.cache
        if cache is not None and await _disk(file.size, cache.place, file.sha256, file.size, target):
            if self.progress is not None:
                self.progress(file.size)
            return
        what = f"download of {file.path}"

        async def get() -> None:
            resp = await self._open("GET", file.download_url, {})
            try:
                if resp.status_code != 200:
                    await resp.aread()
                    error = transfer_error(resp, what)
                    raise Transient(error, resp) if resp.status_code in TRANSIENT_STATUS else error
                # Straight into place (hashed on the way, renamed when whole); the cache shares these bytes.
                await write_verified(target, file.sha256, self._counted(resp.aiter_bytes()), sync=self.fsync,
                                     label=file.path, make_parent=False, offload=file.size > INLINE)
            finally:
                await resp.aclose()

        try:
            await repeat(self.retry, get, idempotent=True)
            if cache is not None:
                try:
                    await _disk(file.size, cache.adopt, file.sha256, target)
                except OSError:
                    pass  # the file is downloaded; only the next download of it will not be instant
        except httpx.TransportError as exc:
            raise errors.RegistryError(f"{what} failed: {exc!r}") from exc
        except OSError as exc:  # a full disk, a quota, no permission: say which file, keep the errno
            if exc.errno is None:
                raise
            raise OSError(exc.errno, f"{exc.strerror} during the {what} (nothing partial was kept)",
                          str(target)) from exc


async def _disk(size: int, work: Callable[..., T], *args: Any) -> T:
    """File-system work on ``size`` bytes: in the loop when small, else on a worker thread (a copy of a big
    cached file must not stall the other transfers)."""
    return work(*args) if size <= INLINE else await asyncio.to_thread(work, *args)
