"""The in-memory BlobStore double (tests/support/blobs.py) keeps the promises of the real local store.

Each check runs on both: bytes reach the local store the way a client sends them (its /files endpoints are
not needed here: ``write`` and ``write_part`` are what they call), the double's by ``put``/``put_part``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from lineage_reg.blobs.local import LocalBlobStore
from lineage_reg.blobs.signing import LinkSigner
from lineage_reg.errors import BadInput, DigestInvalid
from support.blobs import MemoryBlobStore

KiB = 1024
MiB = 1024 * KiB  # parts are at least 1 MiB (plan_parts)


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


class Client:
    """Sends bytes into either store as a client's upload would."""

    def __init__(self, store: Any) -> None:
        self.store = store

    async def upload(self, data: bytes, *, declared: int | None = None) -> str:
        sha = hashlib.sha256(data).hexdigest()
        await self.upload_as(sha, data, declared=declared)
        return sha

    async def upload_as(self, sha: str, data: bytes, *, declared: int | None = None) -> None:
        if isinstance(self.store, LocalBlobStore):
            await self.store.write(sha, len(data) if declared is None else declared, chunks(data))
        else:
            self.store.put(sha, data)

    async def part(self, sha: str, size: int, upload_id: str, number: int, offset: int, data: bytes) -> str:
        if isinstance(self.store, LocalBlobStore):
            return str(await self.store.write_part(upload_id, sha, number, offset, len(data), chunks(data)))
        return str(self.store.put_part(upload_id, number, data))


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs", LinkSigner(b"k" * 32, 60), multipart_threshold=2 * MiB,
                              part_size=MiB)
    return MemoryBlobStore(multipart_threshold=2 * MiB, part_size=MiB)


async def test_only_bytes_matching_their_address_are_stored(store: Any) -> None:
    client = Client(store)
    sha = await client.upload(b"weights")
    assert await store.holds(sha, 7) and await store.verify(sha, 7)
    assert not await store.holds(sha, 8)
    other = hashlib.sha256(b"other").hexdigest()
    with pytest.raises(DigestInvalid):
        await client.upload_as(other, b"not other")
    assert not await store.verify(other, 9)
    assert [(b.sha256, b.size) async for b in store.list_blobs()] == [(sha, 7)]
    await store.delete(sha)
    assert not await store.verify(sha, 7)
    assert [b async for b in store.list_blobs()] == []


async def test_multipart_uploads_are_listed_until_completed_or_aborted(store: Any) -> None:
    client = Client(store)
    data = bytes(range(256)) * (10 * KiB)  # 2.5 MiB: parts of 1 MiB, 1 MiB, 0.5 MiB
    sha = hashlib.sha256(data).hexdigest()
    target = await store.upload_target(sha, len(data), "http://registry")
    assert target.upload_id and [p.size for p in target.parts] == [MiB, MiB, MiB // 2]
    assert (await store.upload_target(sha, len(data), "http://registry", resume=target.upload_id)).upload_id \
        == target.upload_id
    etags = {p.number: await client.part(sha, len(data), target.upload_id, p.number, p.offset,
                                         data[p.offset:p.offset + p.size]) for p in target.parts[:2]}
    assert [u.upload_id for u in await store.list_uploads()] == [target.upload_id]
    with pytest.raises(BadInput, match="part 3"):
        await store.complete_upload(sha, len(data), target.upload_id, etags)
    last = target.parts[2]
    etags[3] = await client.part(sha, len(data), target.upload_id, 3, last.offset, data[last.offset:])
    await store.complete_upload(sha, len(data), target.upload_id, etags)
    assert await store.verify(sha, len(data))
    assert await store.list_uploads() == []

    abandoned = await store.upload_target(hashlib.sha256(b"x" * 3 * MiB).hexdigest(), 3 * MiB, "http://registry")
    [pending] = await store.list_uploads()
    assert pending.upload_id == abandoned.upload_id
    await store.abort_upload(pending)
    assert await store.list_uploads() == []
    with pytest.raises(BadInput):
        await store.complete_upload(abandoned.sha256, 3 * MiB, str(abandoned.upload_id), {})



async def test_small_blobs_go_in_one_request_and_download_links_name_the_blob(store: Any) -> None:
    sha = await Client(store).upload(b"small")
    target = await store.upload_target(sha, 5, "http://registry")
    assert target.parts == () and target.upload_id is None and sha in target.url
    assert sha in await store.download_url(sha, "http://registry")
