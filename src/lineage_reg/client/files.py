"""Local file work for the SDK: manifests by streaming hash, verified streamed downloads."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath

from ..errors import BadInput, DigestInvalid

CHUNK = 1024 * 1024


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def walk(root: Path) -> dict[str, Path]:
    """Relative POSIX path -> file, for a file or every file under a directory."""
    root = Path(root)
    if root.is_file():
        return {root.name: root}
    if not root.is_dir():
        raise BadInput(f"{root} is neither a file nor a directory")
    return {
        PurePosixPath(p.relative_to(root)).as_posix(): p
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def manifest(files: dict[str, Path]) -> list[dict[str, object]]:
    return [{"path": rel, "size": p.stat().st_size, "sha256": sha256_of(p)} for rel, p in files.items()]


def read_slice(path: Path, offset: int, size: int) -> Iterator[bytes]:
    """Stream ``size`` bytes from ``offset``: what one part of a multipart upload sends."""
    with open(path, "rb") as f:
        f.seek(offset)
        left = size
        while left > 0:
            chunk = f.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk


def safe_target(dest: Path, rel: str) -> Path:
    """Where ``rel`` goes under ``dest``; refuses paths that would escape it."""
    target = (dest / rel).resolve()
    if not target.is_relative_to(dest.resolve()):
        raise BadInput(f"refusing to write {rel!r} outside {dest}")
    return target


class VerifiedWriter:
    """Writes a download to a temporary file next to its target, renaming it into place only if the sha256 matches."""

    def __init__(self, target: Path, sha256: str) -> None:
        self.target = target
        self.sha256 = sha256
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        self._file = os.fdopen(fd, "wb")
        self._tmp = Path(name)
        self._hash = hashlib.sha256()

    def write(self, chunk: bytes) -> None:
        self._hash.update(chunk)
        self._file.write(chunk)

    def finish(self) -> Path:
        self._file.close()
        if self._hash.hexdigest() != self.sha256:
            self._tmp.unlink(missing_ok=True)
            raise DigestInvalid(f"downloaded bytes of {self.target.name} hash to {self._hash.hexdigest()}, "
                                f"expected {self.sha256}; nothing was written")
        os.replace(self._tmp, self.target)
        return self.target

    def abort(self) -> None:
        self._file.close()
        self._tmp.unlink(missing_ok=True)
