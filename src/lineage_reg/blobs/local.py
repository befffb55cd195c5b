"""Blobs in a local directory, uploaded and downloaded through the server's /files endpoints.

An upload streams to a temporary file while hashing; only bytes whose sha256
and size match the address are renamed into place (atomic on one filesystem),
so a reader never sees a partial or wrong blob.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from ..errors import DigestInvalid
from .base import UploadTarget
from .signing import LinkSigner

CHUNK = 1024 * 1024


class LocalBlobStore:
    def __init__(self, root: Path, signer: LinkSigner) -> None:
        self.root = root
        self.signer = signer
        self._tmp = root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def upload_target(self, sha256: str, size: int, base_url: str) -> UploadTarget:
        url = f"{base_url}/files/blobs/{sha256}?{self.signer.query('PUT', sha256, size)}"
        return UploadTarget(sha256=sha256, url=url, method="PUT", headers={"Content-Type": "application/octet-stream"})

    def download_url(self, sha256: str, base_url: str) -> str:
        return f"{base_url}/files/blobs/{sha256}?{self.signer.query('GET', sha256)}"

    async def write(self, sha256: str, size: int, chunks: AsyncIterator[bytes]) -> None:
        """Store a blob from a stream; raises DigestInvalid and keeps nothing on mismatch."""
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix=sha256[:16] + ".")
        tmp = Path(tmp_name)
        try:
            hasher = hashlib.sha256()
            written = 0
            with os.fdopen(fd, "wb", buffering=0) as f:
                async for chunk in chunks:
                    written += len(chunk)
                    if written > size:
                        raise DigestInvalid(
                            f"blob {sha256}: more than the declared {size} bytes were sent; "
                            "upload exactly the bytes of the file the manifest describes"
                        )
                    hasher.update(chunk)
                    f.write(chunk)
            if written != size:
                raise DigestInvalid(
                    f"blob {sha256}: received {written} bytes, the manifest declared {size}; upload the whole file"
                )
            if hasher.hexdigest() != sha256:
                raise DigestInvalid(
                    f"blob {sha256}: the uploaded bytes hash to {hasher.hexdigest()}; "
                    "upload the file whose sha256 the manifest names"
                )
            final = self.path(sha256)
            await asyncio.to_thread(final.parent.mkdir, parents=True, exist_ok=True)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
