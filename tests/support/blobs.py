"""An in-memory ``BlobStore`` (``lineage_reg.blobs.base``) for tests that are not about storage.

It keeps the real stores' promises that the services rely on: only bytes whose sha256 and size match their
address count as stored, a stored blob is never written again, ``verify`` deletes a damaged blob and raises
``DigestInvalid``, unfinished multipart uploads are listed for GC until completed or aborted. It serves no
bytes over HTTP (``put`` hands them over directly), so tests about uploads, downloads, links or GC use the
real ``LocalBlobStore`` and ``S3BlobStore`` (tests/store/test_storage.py); ``tests/store/test_memory_blobs.py``
checks this double against the local store, call by call.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import AsyncIterator
from datetime import datetime

from lineage_reg.blobs.base import MiB, PendingUpload, StoredBlob, plan_parts
from lineage_reg.records import UploadPart, UploadTarget
from lineage_reg.clock import utcnow
from lineage_reg.config import Settings
from lineage_reg.errors import BadInput, DigestInvalid
from lineage_reg.services.runtime import Runtime


class MemoryBlobStore:
    url = "memory://blobs"

    def __init__(self, *, multipart_threshold: int = 64 * MiB, part_size: int = 64 * MiB) -> None:
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.blobs: dict[str, tuple[bytes, datetime]] = {}
        self.uploads: dict[str, tuple[str, datetime, dict[int, bytes]]] = {}  # upload id: sha256, started, parts
        self.started = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.started = False

    # --- what a client would do over HTTP, handed over directly ---

    def put(self, sha256: str, data: bytes) -> None:
        """Store ``data`` under ``sha256`` if it hashes to it (else DigestInvalid); an existing blob stays."""
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            raise DigestInvalid(f"blob {sha256}: the uploaded bytes hash to {got}; upload the file whose sha256 "
                                "the manifest names")
        self.blobs.setdefault(sha256, (data, utcnow()))

    def put_part(self, upload_id: str, number: int, data: bytes) -> str:
        if upload_id not in self.uploads:
            raise BadInput(f"upload {upload_id} is unknown or finished; call createArtifactVersion again")
        self.uploads[upload_id][2][number] = data
        return hashlib.md5(data).hexdigest()  # noqa: S324 (an ETag, as S3's)

    # --- the BlobStore protocol ---

    async def upload_target(self, sha256: str, size: int, base_url: str, *, resume: str | None = None) -> UploadTarget:
        if size <= self.multipart_threshold:
            return UploadTarget(sha256=sha256, url=f"{self.url}/{sha256}")
        upload_id = resume if resume in self.uploads and self.uploads[resume][0] == sha256 else secrets.token_hex(16)
        self.uploads.setdefault(upload_id, (sha256, utcnow(), {}))
        parts = tuple(UploadPart(number=n, url=f"{self.url}/uploads/{upload_id}/{n}", offset=off, size=length)
                      for n, off, length in plan_parts(size, self.part_size))
        return UploadTarget(sha256=sha256, url=parts[0].url, upload_id=upload_id, parts=parts)

    async def complete_upload(self, sha256: str, size: int, upload_id: str, etags: dict[int, str]) -> None:
        if upload_id not in self.uploads or self.uploads[upload_id][0] != sha256:
            raise BadInput(f"upload {upload_id} is unknown or finished; call createArtifactVersion again")
        parts = self.uploads[upload_id][2]
        for number, _, length in plan_parts(size, self.part_size):
            if number not in parts:
                raise BadInput(f"part {number} of upload {upload_id} was never uploaded")
            if len(parts[number]) != length:
                raise BadInput(f"part {number} of upload {upload_id} holds {len(parts[number])} bytes, not {length}")
        data = b"".join(parts[n] for n in sorted(parts))
        del self.uploads[upload_id]
        self.put(sha256, data)

    async def holds(self, sha256: str, size: int) -> bool:
        return sha256 in self.blobs and len(self.blobs[sha256][0]) == size

    async def verify(self, sha256: str, size: int) -> bool:
        if sha256 not in self.blobs:
            return False
        data = self.blobs[sha256][0]
        got = hashlib.sha256(data).hexdigest()
        if got != sha256 or len(data) != size:
            del self.blobs[sha256]
            raise DigestInvalid(f"blob {sha256}: stored {len(data)} bytes hashing to {got}, the manifest declared "
                                f"{size}; upload the file again")
        return True

    async def download_url(self, sha256: str, base_url: str) -> str:
        return f"{self.url}/{sha256}"

    async def delete(self, sha256: str) -> None:
        self.blobs.pop(sha256, None)

    async def list_blobs(self) -> AsyncIterator[StoredBlob]:
        for sha256, (data, modified) in list(self.blobs.items()):
            yield StoredBlob(sha256, len(data), modified)

    async def list_uploads(self) -> list[PendingUpload]:
        return [PendingUpload(f"multipart upload {uid} of blob {sha}", sha, started, handle=uid, upload_id=uid,
                              size=sum(map(len, parts.values())))
                for uid, (sha, started, parts) in self.uploads.items()]

    async def abort_upload(self, upload: PendingUpload) -> None:
        self.uploads.pop(str(upload.handle), None)


def memory_runtime(settings: Settings) -> Runtime:
    """``build_runtime(settings)`` (real database, real event bus) with the blobs kept in memory."""
    from lineage_reg.app import build_runtime

    rt = build_runtime(settings)
    rt.blobs = MemoryBlobStore(multipart_threshold=settings.multipart_threshold, part_size=settings.part_size)
    return rt
