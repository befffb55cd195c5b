"""Recording blobs once their bytes are verified in the store."""

from __future__ import annotations

from collections.abc import AsyncIterator

from .. import refs
from ..errors import BadInput
from ..store import versions as version_store
from ..store.tables.types import utcnow
from .runtime import Runtime


async def receive_blob(rt: Runtime, *, sha256: str, size: int, chunks: AsyncIterator[bytes]) -> None:
    """Stream an upload into the local store; the row is written only after the bytes are in place."""
    refs.check_sha256(sha256)
    if size < 0:
        raise BadInput("size must be >= 0")
    store = rt.blobs
    write = getattr(store, "write", None)
    if write is None:
        raise BadInput("this server stores blobs in S3; upload to the presigned URL instead")
    async with rt.db.reader() as r:
        known = await version_store.blob_size(r, sha256)
    if known is not None and store.exists(sha256):  # type: ignore[attr-defined]
        async for _ in chunks:  # drain: the client is sending the body anyway
            pass
        return
    await write(sha256, size, chunks)
    stmt = version_store.insert_blob_stmt(rt.db.dialect, sha256=sha256, size=size, at=utcnow())
    await rt.db.transaction(lambda conn: conn.execute(stmt))
