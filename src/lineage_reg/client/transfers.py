"""Moving blobs between disk and the server's signed URLs: uploads (whole, or in parts) and verified downloads.

Each upload or download is streamed (never a whole file in memory) and tried again from the start on a
transient failure: blobs are addressed by their sha256, so sending one twice stores it once. At most
``concurrency`` run at once (``each``); the first failure cancels the rest, whose cleanup still runs
(no partial file is left behind). Signed URLs carry their own authority: no token is sent with them.

Blob requests go straight to the transport (``direct``), past the client's per-request work that signed,
absolute, cookie-free URLs never need (URL merging, cookie extraction, auth and redirect handling): ~15 %
of the client's CPU per small file. With a proxy configured in the environment they go through the client,
which knows which proxy serves which URL.

Small files of the local store come many to a request (``POST /files/batch``: the links in, their bytes back
to back): per file, a request costs more than its bytes. Anything a batch cannot do (an older server, a link
it refuses) falls back to one GET per file, which says precisely what is wrong.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx

from .. import __version__, errors
from .cache import BlobCache
from .failures import transfer_error
from .files import INLINE, place_verified, read_slice, write_verified
from .retry import TRANSIENT_STATUS, Retry, Transient, repeat
from .version import File

T = TypeVar("T")
USER_AGENT = f"lineage-reg-sdk/{__version__}"
PARTS_AT_ONCE = 4  # of one multipart upload (each part is streamed from disk: no part is held in memory)
BATCH_FILES = 64  # small files per batch request at most
BATCH_BYTES = 4 * 1024 * 1024  # and bytes
LOCAL_BLOB = re.compile(r"(.*)/files/blobs/[0-9a-f]{64}")
Complete = Callable[[dict[str, Any], int, list[dict[str, Any]]], Awaitable[object]]
Job = tuple[File, Path]  # a file of a version, and where it goes


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
                    content: bytes | AsyncIterable[bytes] | None = None) -> httpx.Response:
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
            if resp.status_code == 412 and headers.get("If-None-Match") == "*":
                return resp  # the store holds an object under this address already, never overwritten: commit checks it
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

    async def fetch_all(self, jobs: list[Job], limit: int) -> None:
        """Every file into its target, ``limit`` requests at a time: from the cache when it holds the bytes,
        else small files a batch at a time where the store serves batches, the others one GET each."""
        missing = [job for job in jobs if not await self._from_cache(*job)]
        singles, batches = _plan(missing, limit)
        work: list[Callable[[], Awaitable[None]]] = [
            *(partial(self._fetch_batch, url, group) for url, group in batches),
            *(partial(self._fetch, *job) for job in singles)]
        await each(lambda start: start(), work, limit)

    async def _from_cache(self, file: File, target: Path) -> bool:
        cache = self.cache
        if cache is None or not await _disk(file.size, cache.place, file.sha256, file.size, target):
            return False
        if self.progress is not None:
            self.progress(file.size)
        return True

    async def _fetch(self, file: File, target: Path) -> None:
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
            with _naming_disk_errors(what, target):
                await repeat(self.retry, get, idempotent=True)
        except httpx.TransportError as exc:
            raise errors.RegistryError(f"{what} failed: {exc!r}") from exc
        await self._adopt(file, target)

    async def _fetch_batch(self, url: str, jobs: list[Job]) -> None:
        """Small files in one request: their bytes come back to back, each verified and renamed into place
        as soon as it is whole. A retry asks only for the files not placed yet."""
        left = deque(jobs)
        what = f"download of {len(jobs)} files ({jobs[0][0].path}, ...)"

        async def post() -> bool:
            body = json.dumps({"links": [file.download_url for file, _ in left]}).encode()
            resp = await self._open("POST", url, {"Content-Type": "application/json"}, body)
            try:
                if resp.status_code != 200:
                    await resp.aread()
                    if resp.status_code in TRANSIENT_STATUS:
                        raise Transient(transfer_error(resp, what), resp)
                    return False
                held = bytearray()
                async for chunk in resp.aiter_bytes():
                    held += chunk
                    while left and len(held) >= left[0][0].size:
                        file, target = left[0]
                        self._place(file, target, bytes(held[:file.size]))
                        del held[:file.size]
                        left.popleft()
                        if self.progress is not None:
                            self.progress(file.size)
                while left and left[0][0].size == 0:  # empty files after the last byte
                    self._place(*left.popleft(), b"")
                return not left
            finally:
                await resp.aclose()

        try:
            served = await repeat(self.retry, post, idempotent=True)
        except httpx.TransportError as exc:
            raise errors.RegistryError(f"{what} failed: {exc!r}") from exc
        if not served:  # not served as a batch (an older server, a refused link): one GET each says why
            for job in left:
                await self._fetch(*job)

    def _place(self, file: File, target: Path, data: bytes) -> None:
        with _naming_disk_errors(f"download of {file.path}", target):
            place_verified(target, file.sha256, data, sync=self.fsync, label=file.path)
        self._keep(file, target)

    async def _adopt(self, file: File, target: Path) -> None:
        await _disk(file.size, self._keep, file, target)

    def _keep(self, file: File, target: Path) -> None:
        """The cache shares a downloaded file's bytes (a hard link, else a copy)."""
        if self.cache is not None:
            try:
                self.cache.adopt(file.sha256, target)
            except OSError:
                pass  # the file is downloaded; only the next download of it will not be instant


def _plan(jobs: list[Job], limit: int) -> tuple[list[Job], list[tuple[str, list[Job]]]]:
    """Which files go one GET each, and which go in batches (to which URL). Batches are sized so that
    ``limit`` of them share the work, within ``BATCH_FILES`` and ``BATCH_BYTES``."""
    singles: list[Job] = []
    by_url: dict[str, list[Job]] = {}
    for job in jobs:
        url = _batch_url(job[0].download_url) if job[0].size <= INLINE else None
        if url is None:
            singles.append(job)
        else:
            by_url.setdefault(url, []).append(job)
    batches: list[tuple[str, list[Job]]] = []
    for url, group in by_url.items():
        per = min(BATCH_FILES, max(2, math.ceil(len(group) / limit)))
        current: list[Job] = []
        size = 0
        for job in group:
            if current and (len(current) == per or size + job[0].size > BATCH_BYTES):
                batches.append((url, current))
                current, size = [], 0
            current.append(job)
            size += job[0].size
        if len(current) > 1:
            batches.append((url, current))
        else:  # a batch of one is a GET with extra steps
            singles += current
    return singles, batches


def _batch_url(download_url: str) -> str | None:
    """Where the store behind a download link serves batches: the local store's links only (S3 presigns
    its own), found beside the link itself (so a server mounted under a path prefix works too)."""
    parts = urlsplit(download_url)
    found = LOCAL_BLOB.fullmatch(parts.path)
    if found is None or set(parse_qs(parts.query)) != {"expires", "sig"}:
        return None
    return urlunsplit((parts.scheme, parts.netloc, f"{found.group(1)}/files/batch", "", ""))


@contextmanager
def _naming_disk_errors(what: str, target: Path) -> Iterator[None]:
    """A full disk, a quota, no permission: say which file, keep the errno."""
    try:
        yield
    except OSError as exc:
        if exc.errno is None:
            raise
        raise OSError(exc.errno, f"{exc.strerror} during the {what} (nothing partial was kept)", str(target)) from exc


async def _disk(size: int, work: Callable[..., T], *args: Any) -> T:
    """File-system work on ``size`` bytes: in the loop when small, else on a worker thread (a copy of a big
    cached file must not stall the other transfers)."""
    return work(*args) if size <= INLINE else await asyncio.to_thread(work, *args)
