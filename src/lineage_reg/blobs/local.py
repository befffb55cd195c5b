"""Blobs in a local directory, uploaded and downloaded through the server's /files endpoints.

An upload streams to a temporary file while hashing; only bytes whose sha256
and size match the address are renamed into place (atomic on one
filesystem), so a reader never sees a partial or wrong blob. Above the
multipart threshold a client sends slices (each a ranged write into one
sparse temporary file) and then completes; completion hashes the file,
streaming, before the rename. Memory never grows with file size.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import secrets
import tempfile

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from .. import private
from ..errors import BadInput, DigestInvalid
from .base import MiB, PendingUpload, StoredBlob, UploadPart, UploadTarget, plan_parts
from .signing import LinkSigner

CHUNK = MiB
UPLOAD_PREFIX = "upload-"
SHA_IN_NAME = re.compile(r"[0-9a-f]{64}")


def _mismatch(sha256: str, got: str, size: int, written: int) -> DigestInvalid:
    if written != size:
        return DigestInvalid(f"blob {sha256}: received {written} bytes, the manifest declared {size}; upload the whole file")
    return DigestInvalid(f"blob {sha256}: the uploaded bytes hash to {got}; upload the file whose sha256 the manifest names")


class LocalBlobStore:
    def __init__(self, root: Path, signer: LinkSigner, *, multipart_threshold: int = 64 * MiB,
                 part_size: int = 64 * MiB) -> None:
        self.root = root
        self.signer = signer
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self.tmp = root / "tmp"
        private.make_dir(self.tmp)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    # --- uploads ---

    async def upload_target(self, sha256: str, size: int, base_url: str) -> UploadTarget:
        headers = {"Content-Type": "application/octet-stream"}
        if size <= self.multipart_threshold:
            url = f"{base_url}/files/blobs/{sha256}?{self.signer.query('PUT', sha256, size)}"
            return UploadTarget(sha256=sha256, url=url, headers=headers)
        upload_id = secrets.token_hex(16)
        fd = os.open(self._upload_file(upload_id, sha256), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, private.FILE_MODE)
        with os.fdopen(fd, "wb") as f:
            f.truncate(size)  # sparse: parts land at their offsets, in any order
        parts = tuple(
            UploadPart(number=n, offset=off, size=length,
                       url=f"{base_url}/files/uploads/{upload_id}/{n}?"
                           f"{self.signer.query('PUT', f'{sha256}:{upload_id}:{n}:{off}', length)}&sha256={sha256}&offset={off}")
            for n, off, length in plan_parts(size, self.part_size)
        )
        return UploadTarget(sha256=sha256, url=parts[0].url, headers=headers, upload_id=upload_id, parts=parts)

    def _upload_file(self, upload_id: str, sha256: str) -> Path:
        """Named after the blob too, so garbage collection can tell whose upload it is."""
        if not upload_id.isalnum():
            raise BadInput("invalid upload id")
        return self.tmp / f"{UPLOAD_PREFIX}{upload_id}-{sha256}"

    def _part_marker(self, upload_id: str, sha256: str, number: int) -> Path:
        return self.tmp / f"{UPLOAD_PREFIX}{upload_id}-{sha256}.{number}"

    async def write(self, sha256: str, size: int, chunks: AsyncIterator[bytes]) -> None:
        """Store a blob from one stream; raises DigestInvalid and keeps nothing on mismatch."""
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix=f"put-{sha256}-")
        tmp = Path(tmp_name)
        try:
            hasher = hashlib.sha256()
            written = 0
            with os.fdopen(fd, "wb", buffering=0) as f:
                async for chunk in chunks:
                    written += len(chunk)
                    if written > size:
                        raise DigestInvalid(f"blob {sha256}: more than the declared {size} bytes were sent; "
                                            "upload exactly the bytes of the file the manifest describes")
                    hasher.update(chunk)
                    f.write(chunk)
            if written != size or hasher.hexdigest() != sha256:
                raise _mismatch(sha256, hasher.hexdigest(), size, written)
            await self._place(tmp, sha256)
        finally:
            tmp.unlink(missing_ok=True)

    async def write_part(self, upload_id: str, sha256: str, number: int, offset: int, length: int,
                         chunks: AsyncIterator[bytes]) -> str:
        """Write one slice at its offset; returns the part's ETag.

        The slice is not hashed: completion hashes the whole file anyway, and hashing
        twice cost ~15 % of upload throughput.
        """
        path = self._upload_file(upload_id, sha256)
        if not path.exists():
            raise BadInput(f"upload {upload_id} is unknown or finished; call createArtifactVersion again")
        written = 0
        fd = os.open(path, os.O_WRONLY)
        try:
            async for chunk in chunks:
                if written + len(chunk) > length:
                    raise DigestInvalid(f"part {number} is {length} bytes; more were sent")
                os.pwrite(fd, chunk, offset + written)
                written += len(chunk)
        finally:
            os.close(fd)
        if written != length:
            raise DigestInvalid(f"part {number}: received {written} bytes of {length}; send the whole slice")
        etag = secrets.token_hex(16)  # proves this exact part upload finished; completion checks it
        fd = os.open(self._part_marker(upload_id, sha256, number), os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
                     private.FILE_MODE)
        with os.fdopen(fd, "w") as f:
            f.write(etag)
        return etag

    async def complete_upload(self, sha256: str, size: int, upload_id: str, etags: dict[int, str]) -> None:
        path = self._upload_file(upload_id, sha256)
        if not path.exists():
            raise BadInput(f"upload {upload_id} is unknown or finished; call createArtifactVersion again")
        expected = plan_parts(size, self.part_size)
        for number, _, _ in expected:
            marker = self._part_marker(upload_id, sha256, number)
            if not marker.exists():
                raise BadInput(f"part {number} of upload {upload_id} was never uploaded")
            if number in etags and etags[number].strip('"') != marker.read_text():
                raise BadInput(f"part {number}: ETag does not match what was uploaded")
        try:
            digest, length = await asyncio.to_thread(_hash_file, path)
            if length != size or digest != sha256:
                raise _mismatch(sha256, digest, size, length)
            await self._place(path, sha256)
        finally:
            path.unlink(missing_ok=True)
            for number, _, _ in expected:
                self._part_marker(upload_id, sha256, number).unlink(missing_ok=True)

    async def _place(self, tmp: Path, sha256: str) -> None:
        final = self.path(sha256)
        await asyncio.to_thread(private.make_dir, final.parent)
        os.replace(tmp, final)  # the temporary file's 0600 (mkstemp, or created so) goes with it

    # --- reads, verification, GC ---

    async def holds(self, sha256: str, size: int) -> bool:
        return await self.verify(sha256, size)

    async def verify(self, sha256: str, size: int) -> bool:
        # Bytes were hashed on the way in; only verified blobs are ever renamed into place.
        try:
            return self.path(sha256).stat().st_size == size
        except FileNotFoundError:
            return False

    async def download_url(self, sha256: str, base_url: str) -> str:
        return f"{base_url}/files/blobs/{sha256}?{self.signer.query('GET', sha256)}"

    async def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    async def list_blobs(self) -> AsyncIterator[StoredBlob]:
        for blob in await asyncio.to_thread(self._scan):
            yield blob

    def _scan(self) -> list[StoredBlob]:
        found = []
        for top in self.root.iterdir():
            if top == self.tmp or not top.is_dir():
                continue
            for path in top.glob("*/*"):
                st = path.stat()
                found.append(StoredBlob(path.name, st.st_size, datetime.fromtimestamp(st.st_mtime, UTC)))
        return found

    async def list_uploads(self) -> list[PendingUpload]:
        # Every write to a temporary file refreshes its mtime: an upload in progress always looks young.
        return [
            PendingUpload(f"temporary upload file {p.name}", m.group(0) if (m := SHA_IN_NAME.search(p.name)) else None,
                          datetime.fromtimestamp(p.stat().st_mtime, UTC), handle=p)
            for p in self.tmp.iterdir()
        ]

    async def abort_upload(self, upload: PendingUpload) -> None:
        assert isinstance(upload.handle, Path)
        upload.handle.unlink(missing_ok=True)


def _hash_file(path: Path) -> tuple[str, int]:
    hasher = hashlib.sha256()
    length = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            hasher.update(chunk)
            length += len(chunk)
    return hasher.hexdigest(), length


