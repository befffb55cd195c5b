"""Blobs: receiving bytes for the local store, completing multipart uploads, verifying at commit."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

from .. import refs
from ..blobs.local import LocalBlobStore
from ..errors import BadInput, BlobUnknown
from ..store import uploads as upload_store
from ..store import versions as version_store
from ..clock import utcnow
from .runtime import Runtime

VERIFY_CONCURRENCY = 16  # objects checked at once at commit (each streamed in 1 MiB pieces)


def _local(rt: Runtime) -> LocalBlobStore:
    if not isinstance(rt.blobs, LocalBlobStore):
        raise BadInput("this server stores blobs in S3; upload to the presigned URL instead")
    return rt.blobs


def serves_files(rt: Runtime) -> bool:
    """Whether this server moves blob bytes itself (the local store, through ``/files``); with S3, clients
    talk to the store directly."""
    return isinstance(rt.blobs, LocalBlobStore)


def link_valid(rt: Runtime, *, method: str, subject: str, size: int | None, expires: str | None,
               sig: str | None) -> bool:
    """Whether a ``/files`` link (``?expires=…&sig=…``) is one this server signed for ``method`` on ``subject``
    (a blob's sha256, or a part's ``sha256:upload:number:offset``) and has not expired."""
    return _local(rt).signer.check(method, subject, size, expires, sig)


def blob_path(rt: Runtime, *, sha256: str) -> Path:
    """Where the local store keeps a blob's bytes (the file may be missing: never uploaded, or collected)."""
    return _local(rt).path(sha256)


async def record(rt: Runtime, *, sha256: str, size: int) -> None:
    """Note a verified blob; a concurrent upload of the same bytes is not an error."""
    await record_many(rt, blobs=[(sha256, size)])


async def record_many(rt: Runtime, *, blobs: list[tuple[str, int]]) -> None:
    """Note verified blobs, all in one transaction."""
    at = utcnow()
    stmts = [version_store.insert_blob_stmt(rt.db.dialect, sha256=sha, size=size, at=at) for sha, size in blobs]

    async def work(conn: object) -> None:
        for stmt in stmts:
            await conn.execute(stmt)  # type: ignore[attr-defined]

    await rt.db.transaction(work)


async def receive_blob(rt: Runtime, *, sha256: str, size: int, chunks: AsyncIterator[bytes]) -> None:
    """Stream an upload into the local store; the row is written only after the bytes are in place."""
    refs.check_sha256(sha256)
    store = _local(rt)
    async with rt.db.reader() as r:
        known = await version_store.blob_size(r, sha256)
    if known is not None and store.exists(sha256):
        async for _ in chunks:  # drain: the client is sending the body anyway
            pass
        return
    await store.write(sha256, size, chunks)
    await record(rt, sha256=sha256, size=size)


async def receive_part(rt: Runtime, *, upload_id: str, sha256: str, number: int, offset: int, length: int,
                       chunks: AsyncIterator[bytes]) -> str:
    return await _local(rt).write_part(upload_id, sha256, number, offset, length, chunks)


async def complete_upload(rt: Runtime, *, sha256: str, size: float, upload_id: str, etags: dict[int, str]) -> None:
    refs.check_sha256(sha256)
    if size < 0 or size != int(size):
        raise BadInput("size must be a whole number of bytes")
    if not upload_id or len(upload_id) > 1024:
        raise BadInput("uploadId must be the id createArtifactVersion returned")
    await rt.blobs.complete_upload(sha256, int(size), upload_id, etags)
    if isinstance(rt.blobs, LocalBlobStore):
        await record(rt, sha256=sha256, size=int(size))  # verified on completion; S3 blobs are verified at commit
    await rt.db.transaction(lambda conn: upload_store.finish(conn, upload_id))


async def not_held(rt: Runtime, *, sizes: dict[str, int]) -> list[str]:
    """The blobs of ``sizes`` (sha256 -> size) the store does not hold yet, looked up a few at a time."""
    gate = asyncio.Semaphore(VERIFY_CONCURRENCY)

    async def held(sha256: str) -> bool:
        async with gate:
            return await rt.blobs.holds(sha256, sizes[sha256])

    found = await asyncio.gather(*(held(sha) for sha in sizes))
    return [sha for sha, ok in zip(sizes, found, strict=True) if not ok]


async def verify_missing(rt: Runtime, *, version_id: int) -> None:
    """Before commit: find the version's blobs the database doesn't know yet and check them in the store.

    On S3 this is where uploads are verified (presence, size, sha256), with
    bounded concurrency; verified blobs are recorded. Absent ones fail the
    commit with BLOB_UNKNOWN, wrong ones (deleted by the store) with DIGEST_INVALID.
    """
    async with rt.db.reader() as r:
        missing = await version_store.missing_blobs_with_size(r, version_id)
    if not missing:
        return
    gate = asyncio.Semaphore(VERIFY_CONCURRENCY)

    async def check(sha256: str, size: int) -> bool:
        async with gate:
            return await rt.blobs.verify(sha256, size)

    found = await asyncio.gather(*(check(sha, size) for sha, size in missing), return_exceptions=True)
    for result in found:
        if isinstance(result, BaseException):
            raise result
    absent = [sha for (sha, _), ok in zip(missing, found, strict=True) if not ok]
    if absent:
        raise BlobUnknown(
            f"{len(absent)} blob(s) were never uploaded (first: {absent[0]}); "
            "upload every target createArtifactVersion returned, then commit",
            missing=absent,
        )
    await record_many(rt, blobs=missing)
