"""The blob store boundary: where bytes go, how clients reach them, and what GC may see.

Two backends: ``LocalBlobStore`` (a directory; bytes go through this server's
``/files`` endpoints) and ``S3BlobStore`` (any S3-compatible store; bytes go
straight between clients and the store via presigned URLs). Both verify a
blob's sha256 and size before it counts as stored.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from ..config import MiB
from ..records import UploadTarget

MAX_PARTS = 10_000  # S3's limit


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    modified: datetime


@dataclass(frozen=True)
class PendingUpload:
    """An unfinished upload in the store (a multipart upload, a temporary file)."""

    description: str
    sha256: str | None  # None when the store can't tell
    started: datetime
    handle: object = None
    upload_id: str | None = None  # the id createArtifactVersion handed out, for a multipart upload
    size: int = 0  # bytes it holds on disk, where the store can tell


def plan_parts(size: int, part_size: int) -> list[tuple[int, int, int]]:
    """(number, offset, size) of each part; parts grow past ``part_size`` to stay within 10,000."""
    part = max(part_size, math.ceil(size / MAX_PARTS / MiB) * MiB)
    return [(i + 1, off, min(part, size - off)) for i, off in enumerate(range(0, size, part))]


class BlobStore(Protocol):
    multipart_threshold: int

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def upload_target(self, sha256: str, size: int, base_url: str, *, resume: str | None = None) -> UploadTarget:
        """Where a client sends the bytes of one blob (multipart above the threshold). ``resume``: the id of a
        multipart upload handed out before for this blob, continued if the store still has it."""
        ...

    async def complete_upload(self, sha256: str, size: int, upload_id: str, etags: dict[int, str]) -> None:
        """Assemble a multipart upload; the blob is verified at commit."""
        ...

    async def holds(self, sha256: str, size: int) -> bool:
        """A cheap look (no bytes read): an object of that size is stored under that sha256. Not a
        verification: ``verify`` at commit still checks the bytes."""
        ...

    async def verify(self, sha256: str, size: int) -> bool:
        """True when the blob is stored with that sha256 and size; False when absent.

        Raises DigestInvalid, after deleting the object, when the stored bytes don't match.
        """
        ...

    async def download_url(self, sha256: str, base_url: str) -> str:
        """A URL a client may GET the bytes from, for a limited time."""
        ...

    async def delete(self, sha256: str) -> None: ...

    def list_blobs(self) -> AsyncIterator[StoredBlob]:
        """Every blob object in the store (for garbage collection)."""
        ...

    async def list_uploads(self) -> list[PendingUpload]:
        """Unfinished uploads (for garbage collection)."""
        ...

    async def abort_upload(self, upload: PendingUpload) -> None: ...
