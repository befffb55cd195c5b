"""Downloaded blobs kept by sha256, so fetching the same bytes again needs no network.

    <cache dir>/blobs/<sha256[:2]>/<sha256>     read-only copies; LINEAGE_REG_CACHE_DIR moves the directory

A blob enters the cache only after its bytes hashed to its sha256 (``files.write_verified``); on the
way out its size is checked again and it is copied (never linked: a file the user edits in place must
not change the cache) to a temporary file beside the target, then renamed into place. Nothing evicts
entries: delete the directory to reclaim the space.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterable
from pathlib import Path

from .files import write_verified


def default_dir() -> Path:
    override = os.environ.get("LINEAGE_REG_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("lineage-reg"))


class BlobCache:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"BlobCache({str(self.root)!r})"

    def path(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256[:2] / sha256

    def place(self, sha256: str, size: int, target: Path) -> bool:
        """Copy the cached blob to ``target`` (atomically) if there is one of the right size."""
        cached = self.path(sha256)
        try:
            if cached.stat().st_size != size:
                cached.unlink(missing_ok=True)  # damaged: fetch it again
                return False
        except FileNotFoundError:
            return False
        copy_atomically(cached, target)
        return True

    def fill(self, sha256: str, chunks: Iterable[bytes], label: str) -> Path:
        """Stream ``chunks`` into the cache, verified against ``sha256``; nothing stays behind on failure."""
        cached = write_verified(self.path(sha256), sha256, chunks, sync=False, label=label)
        cached.chmod(0o444)
        return cached


def copy_atomically(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.{secrets.token_hex(6)}.part"
    try:
        shutil.copyfile(source, tmp)  # sendfile: the bytes stay in the kernel
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)  # as durable as a file written by write_verified
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
