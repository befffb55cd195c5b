"""Blobs in a local directory, uploaded and downloaded through the server's /files endpoints.

An upload streams to a temporary file while hashing; only bytes whose sha256
and size match the address are linked into place (atomic on one filesystem,
never over an existing blob), so a reader never sees a partial or wrong blob
and a stored blob's file is never written again.

Above the multipart threshold a client sends slices, then completes. An
upload session is an empty file ``upload-<id>-<sha256>`` in ``tmp/``. Each
part request writes a fresh temporary file of its own; only when its body is
complete and of the right length is it renamed into the part's slot
(``upload-<id>-<sha256>.<n>``), under a shared lock on the session file.
Completion holds that lock exclusively while it concatenates the slots into
a new file, hashing, and removes the session: a part still arriving then
finds the session gone and is refused, and no file a writer holds is ever
renamed into place. Memory never grows with file size.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
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
from ..records import UploadPart, UploadTarget
from .base import MiB, PendingUpload, StoredBlob, plan_parts
from .signing import LinkSigner

CHUNK = MiB
UPLOAD_PREFIX = "upload-"
SHA_IN_NAME = re.compile(r"[0-9a-f]{64}")
# upload-<id>-<sha>, its part slots (.<n>), the parts arriving (part-…) and the blob being assembled (assemble-…)
SESSION_FILE = re.compile(r"^(?:upload|part|assemble)-(([0-9a-f]+)-[0-9a-f]{64})")


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

    async def upload_target(self, sha256: str, size: int, base_url: str, *, resume: str | None = None) -> UploadTarget:
        headers = {"Content-Type": "application/octet-stream"}
        if size <= self.multipart_threshold:
            url = f"{base_url}/files/blobs/{sha256}?{self.signer.query('PUT', sha256, size)}"
            return UploadTarget(sha256=sha256, url=url, headers=headers)
        upload_id = resume if resume and self._session(resume, sha256).exists() else secrets.token_hex(16)
        # Nothing is allocated up front: the session is an empty file, each part arrives as a file of its own.
        private.create_file(self._session(upload_id, sha256))
        parts = tuple(
            UploadPart(number=n, offset=off, size=length,
                       url=f"{base_url}/files/uploads/{upload_id}/{n}?"
                           f"{self.signer.query('PUT', f'{sha256}:{upload_id}:{n}:{off}', length)}&sha256={sha256}&offset={off}")
            for n, off, length in plan_parts(size, self.part_size)
        )
        return UploadTarget(sha256=sha256, url=parts[0].url, headers=headers, upload_id=upload_id, parts=parts)

    def _session(self, upload_id: str, sha256: str) -> Path:
        """Named after the blob too, so garbage collection can tell whose upload it is."""
        if not upload_id.isalnum():
            raise BadInput("invalid upload id")
        return self.tmp / f"{UPLOAD_PREFIX}{upload_id}-{sha256}"

    def _slot(self, upload_id: str, sha256: str, number: int) -> Path:
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
        """Receive one slice into a file of this request's own; returns the part's ETag.

        The slice is not hashed: completion hashes the whole blob anyway, and hashing
        twice cost ~15 % of upload throughput.
        """
        session = self._session(upload_id, sha256)
        if not session.exists():
            raise BadInput(f"upload {upload_id} is unknown or finished; call createArtifactVersion again")
        fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix=f"part-{upload_id}-{sha256}.{number}-")
        tmp = Path(tmp_name)
        try:
            written = 0
            with os.fdopen(fd, "wb", buffering=0) as f:
                async for chunk in chunks:
                    if written + len(chunk) > length:
                        raise DigestInvalid(f"part {number} is {length} bytes; more were sent")
                    f.write(chunk)
                    written += len(chunk)
                st = os.fstat(f.fileno())
            if written != length:
                raise DigestInvalid(f"part {number}: received {written} bytes of {length}; send the whole slice")
            async with self._locked(upload_id, sha256, fcntl.LOCK_SH):
                try:
                    os.replace(tmp, self._slot(upload_id, sha256, number))  # a repeated part replaces, never rewrites
                except FileNotFoundError:  # collected by GC: stalled past the grace window
                    raise BadInput(f"upload {upload_id} was abandoned; call createArtifactVersion again") from None
        finally:
            tmp.unlink(missing_ok=True)
        return _etag(st)  # this exact file: completion checks the slot still holds it

    async def complete_upload(self, sha256: str, size: int, upload_id: str, etags: dict[int, str]) -> None:
        expected = plan_parts(size, self.part_size)
        async with self._locked(upload_id, sha256, fcntl.LOCK_EX):
            slots = []
            for number, _, length in expected:
                slot = self._slot(upload_id, sha256, number)
                try:
                    st = slot.stat()
                except FileNotFoundError:
                    raise BadInput(f"part {number} of upload {upload_id} was never uploaded") from None
                if st.st_size != length:
                    raise BadInput(f"part {number} of upload {upload_id} holds {st.st_size} bytes, not {length}; "
                                   "upload it again with the URL you were given")
                if number in etags and etags[number].strip('"') != _etag(st):
                    raise BadInput(f"part {number}: ETag does not match what was uploaded last; "
                                   "send the ETag of the last upload of each part")
                slots.append(slot)
            fd, tmp_name = tempfile.mkstemp(dir=self.tmp, prefix=f"assemble-{upload_id}-{sha256}-")
            tmp = Path(tmp_name)
            try:
                digest, length = await asyncio.to_thread(_concatenate, slots, fd)
                if length != size or digest != sha256:
                    raise _mismatch(sha256, digest, size, length)
                await self._place(tmp, sha256)
            finally:
                tmp.unlink(missing_ok=True)
                self._session(upload_id, sha256).unlink(missing_ok=True)
                for slot in slots:
                    slot.unlink(missing_ok=True)

    @contextlib.asynccontextmanager
    async def _locked(self, upload_id: str, sha256: str, mode: int) -> AsyncIterator[None]:
        """Hold the session's lock (flock: across worker processes too); refuses a finished upload."""
        try:
            fd = os.open(self._session(upload_id, sha256), os.O_RDONLY)
        except FileNotFoundError:
            raise BadInput(f"upload {upload_id} is unknown or finished; call createArtifactVersion again") from None
        # On a thread: completion may hold the lock while it hashes gigabytes.
        acquire = asyncio.ensure_future(asyncio.to_thread(fcntl.flock, fd, mode))
        try:
            await asyncio.shield(acquire)
            if os.fstat(fd).st_nlink == 0:  # completed (or collected) while this request waited
                raise BadInput(f"upload {upload_id} finished while this request was in flight; "
                               "call createArtifactVersion again if the version still needs it")
            yield
        finally:
            # Closing releases the lock; a request cancelled while waiting closes only once the thread
            # is done with the descriptor (its number must not be reused under a running flock).
            if acquire.done():
                os.close(fd)
            else:
                acquire.add_done_callback(lambda _: os.close(fd))

    async def _place(self, tmp: Path, sha256: str) -> None:
        """Link verified bytes under their address. A blob already there stays as it is: its file is never
        replaced or written again (a reader or a download holds it)."""
        final = self.path(sha256)
        await asyncio.to_thread(private.make_dir, final.parent)
        with contextlib.suppress(FileExistsError):
            os.link(tmp, final)  # the temporary file's 0600 (mkstemp) goes with it

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
        return await asyncio.to_thread(self._scan_uploads)

    def _scan_uploads(self) -> list[PendingUpload]:
        """Every temporary file, a multipart session's files (session, parts, parts arriving) as one upload.
        Every write refreshes a file's mtime, so an upload's age is that of its newest file."""
        groups: dict[str, list[tuple[Path, os.stat_result]]] = {}
        for path in self.tmp.iterdir():
            try:
                st = path.stat()
            except FileNotFoundError:  # finished meanwhile
                continue
            session = SESSION_FILE.match(path.name)
            groups.setdefault(session[1] if session else path.name, []).append((path, st))
        found = []
        for key, files in groups.items():
            session = SESSION_FILE.match(files[0][0].name)
            sha = m[0] if (m := SHA_IN_NAME.search(key)) else None
            found.append(PendingUpload(
                f"multipart upload {session[2]} of blob {sha}" if session else f"temporary upload file {key}", sha,
                datetime.fromtimestamp(max(st.st_mtime for _, st in files), UTC),
                handle=[p for p, _ in files], upload_id=session[2] if session else None,
                size=sum(st.st_blocks * 512 for _, st in files)))
        return found

    async def abort_upload(self, upload: PendingUpload) -> None:
        assert isinstance(upload.handle, list)
        for path in upload.handle:
            path.unlink(missing_ok=True)


def _etag(st: os.stat_result) -> str:
    return f"{st.st_ino:x}{st.st_mtime_ns:x}{st.st_size:x}"


def _concatenate(slots: list[Path], fd: int) -> tuple[str, int]:
    """Copy the parts, in order, into the file ``fd`` (then closed), hashing; returns (sha256, length)."""
    hasher = hashlib.sha256()
    length = 0
    with os.fdopen(fd, "wb", buffering=0) as out:
        for slot in slots:
            with open(slot, "rb") as f:
                while chunk := f.read(CHUNK):
                    hasher.update(chunk)
                    out.write(chunk)
                    length += len(chunk)
    return hasher.hexdigest(), length


