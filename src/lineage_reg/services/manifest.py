"""Validating a manifest and computing its digest."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from .. import refs
from ..errors import BadInput, LimitExceeded
from ..records import FileRec

MAX_FILES = 100_000
MAX_FILE_SIZE = 5 * 1024**4  # 5 TiB, S3's object limit


@dataclass(frozen=True)
class FileIn:
    path: str
    size: float
    sha256: str


def check_manifest(files: Iterable[FileIn]) -> list[FileRec]:
    files = list(files)
    if len(files) > MAX_FILES:
        raise LimitExceeded(f"a version holds at most {MAX_FILES} files, this manifest has {len(files)}; "
                            "split it into several artifacts")
    if not files:
        raise BadInput("a version needs at least one file")
    refs.check_file_paths(f.path for f in files)
    out: list[FileRec] = []
    sizes: dict[str, tuple[str, int]] = {}  # sha256 -> (first path, size)
    for f in files:
        refs.check_sha256(f.sha256)
        if f.size < 0 or f.size != int(f.size) or f.size > MAX_FILE_SIZE:
            raise BadInput(f"file {f.path!r}: size must be a whole number of bytes between 0 and 5 TiB, got {f.size}")
        first = sizes.setdefault(f.sha256, (f.path, int(f.size)))
        if first[1] != int(f.size):
            raise BadInput(f"file {f.path!r} has sha256 {f.sha256} like {first[0]!r} but size {int(f.size)}, "
                           f"not {first[1]}: the same bytes have one size; send each file's real size")
        out.append(FileRec(path=f.path, size=int(f.size), sha256=f.sha256))
    out.sort(key=lambda f: f.path)
    return out


def size_mismatch(path: str, declared: int, sha256: str, stored: int) -> BadInput:
    return BadInput(f"file {path!r}: the manifest says {declared} bytes, but the stored blob {sha256} is {stored} "
                    "bytes; send the file's real size (and its real sha256)")


def check_known_sizes(files: Iterable[FileRec], stored: dict[str, int]) -> None:
    """A declared size must be the size of the blob already stored under that sha256."""
    for f in files:
        if f.sha256 in stored and stored[f.sha256] != f.size:
            raise size_mismatch(f.path, f.size, f.sha256, stored[f.sha256])


def digest(files: list[FileRec]) -> str:
    """sha256 over the sorted manifest: same files, same digest, whatever order they came in."""
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f.path):
        h.update(f"{f.path}\0{f.size}\0{f.sha256}\n".encode())
    return h.hexdigest()
