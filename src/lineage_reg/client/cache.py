"""Downloaded blobs kept by sha256, so fetching the same bytes again needs no network.

    <cache dir>/blobs/<sha256[:2]>/<sha256>     the bytes; LINEAGE_REG_CACHE_DIR moves the directory

Each entry carries a stamp, "<size> <mtime_ns>" of its bytes when they entered, and when it was last
used: in extended attributes of the file (``user.lineage-reg.*``), or in ``<sha256>.stamp`` and
``<sha256>.used`` beside it where the file system has none (creating a file costs ~0.2 ms here; an
attribute ~4 us).

A blob enters the cache only after its bytes hashed to its sha256, and without being written a second time:
the downloaded file is hard-linked into the cache (copied only when the cache is on another file system).
The file and the cache entry then share their bytes, so a file edited in place changes the entry too: the
stamp notices (its size or modification time no longer match) and the entry is dropped, never served. On
the way out an entry is copied (never linked: two downloads must not share bytes) to a temporary file
beside the target, then renamed into place.

The cache is bounded: after each download the least recently used entries go until it holds at most
``LINEAGE_REG_CACHE_MAX_BYTES`` (default 10 GiB; ``lineage-reg cache prune`` does the same by hand).
Sizes count in full, also for an entry whose bytes a downloaded file still shares.
"""

from __future__ import annotations

import errno
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInput
from .files import partial_beside

GiB = 1024**3
DEFAULT_MAX_BYTES = 10 * GiB


def default_dir() -> Path:
    override = os.environ.get("LINEAGE_REG_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("lineage-reg"))


def default_max_bytes() -> int:
    value = os.environ.get("LINEAGE_REG_CACHE_MAX_BYTES")
    if not value:
        return DEFAULT_MAX_BYTES
    try:
        return parse_size(value)
    except BadInput as exc:
        raise BadInput(f"LINEAGE_REG_CACHE_MAX_BYTES: {exc.message}") from None


def parse_size(text: str) -> int:
    """``10737418240``, ``10G``, ``500M``, ``1.5GiB``: bytes."""
    units = {"": 1, "K": 1024, "M": 1024**2, "G": GiB, "T": 1024**4}
    value = text.strip().upper().removesuffix("IB").removesuffix("B")
    unit = value[-1:] if value[-1:] in units and not value[-1:].isdigit() else ""
    try:
        number = float(value[: len(value) - len(unit)])
    except ValueError:
        raise BadInput(f"cannot read {text!r} as a size: write bytes, or a number with K, M, G or T") from None
    if not number >= 0:
        raise BadInput(f"a cache size is 0 or more, not {text!r}")
    return int(number * units[unit])


@dataclass(frozen=True)
class CacheUsage:
    entries: int
    bytes: int


class BlobCache:
    def __init__(self, root: str | Path, max_bytes: int | None = None) -> None:
        self.root = Path(root)
        self.max_bytes = default_max_bytes() if max_bytes is None else max_bytes
        self._shards: set[Path] = set()

    def __repr__(self) -> str:
        return f"BlobCache({str(self.root)!r}, max_bytes={self.max_bytes})"

    def path(self, sha256: str) -> Path:
        return self.root / "blobs" / sha256[:2] / sha256

    def place(self, sha256: str, size: int, target: Path) -> bool:
        """Copy the cached blob to ``target`` (atomically) if there is an intact one of the right size."""
        cached = self.path(sha256)
        if not self._intact(cached, size):
            return False
        copy_atomically(cached, target)
        _write_meta(cached, "used", str(time.time_ns()))
        return True

    def adopt(self, sha256: str, source: Path) -> None:
        """Take a file just downloaded and verified into the cache, sharing its bytes (a hard link). An entry
        there already (another download of the same bytes got there first) is replaced: same bytes."""
        cached = self.path(sha256)
        if cached.parent not in self._shards:  # a directory per sha256 prefix, made once per process
            cached.parent.mkdir(parents=True, exist_ok=True)
            self._shards.add(cached.parent)
        tmp = partial_beside(cached)
        try:
            try:
                try:
                    os.link(source, tmp)
                except FileNotFoundError:  # the cache directory was deleted meanwhile
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    os.link(source, tmp)
            except OSError as exc:  # another file system, or one without hard links
                if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
                    raise
                shutil.copyfile(source, tmp)
            st = tmp.stat()
            sidecars = _write_meta(tmp, "stamp", f"{st.st_size} {st.st_mtime_ns}")
            sidecars |= _write_meta(tmp, "used", str(time.time_ns()))
            os.replace(tmp, cached)
            if sidecars:
                _move_sidecars(tmp, cached)
        except BaseException:
            _drop(tmp)
            raise

    def usage(self) -> CacheUsage:
        entries = list(self._entries())
        return CacheUsage(entries=len(entries), bytes=sum(size for _, size, _ in entries))

    def prune(self, max_bytes: int | None = None) -> CacheUsage:
        """Drop the least recently used entries until the cache holds at most ``max_bytes`` (default: its
        bound); returns what was dropped."""
        limit = self.max_bytes if max_bytes is None else max_bytes
        entries = sorted(self._entries(), key=lambda e: e[2])  # oldest use first
        held = sum(size for _, size, _ in entries)
        dropped = CacheUsage(0, 0)
        for path, size, _ in entries:
            if held <= limit:
                break
            _drop(path)
            held -= size
            dropped = CacheUsage(dropped.entries + 1, dropped.bytes + size)
        return dropped

    def _intact(self, cached: Path, size: int) -> bool:
        """The entry exists with the size it should have and unchanged since it entered; else it is dropped."""
        try:
            st = cached.stat()
        except FileNotFoundError:
            return False
        if st.st_size != size or _read_meta(cached, "stamp") != f"{st.st_size} {st.st_mtime_ns}":
            _drop(cached)  # damaged, or a downloaded file sharing its bytes was edited: fetch it again
            return False
        return True

    def _entries(self) -> Iterator[tuple[Path, int, int]]:
        """(blob, size, last use in ns) of every entry."""
        blobs = self.root / "blobs"
        if not blobs.is_dir():
            return
        for shard in os.scandir(blobs):
            if not shard.is_dir():
                continue
            for item in os.scandir(shard.path):
                if "." in item.name:  # a download under way, or a sidecar
                    continue
                path = Path(item.path)
                try:
                    size = item.stat().st_size
                except FileNotFoundError:
                    continue  # pruned by another process meanwhile
                used = _read_meta(path, "used")
                yield path, size, int(used) if used and used.isdigit() else 0


_XATTR = hasattr(os, "setxattr")  # Linux
_NO_XATTR = (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM)
_SIDECARS = ("stamp", "used")


def _write_meta(path: Path, key: str, value: str) -> bool:
    """Set an entry's ``key``; True when that took a sidecar file."""
    if _XATTR:
        try:
            os.setxattr(path, f"user.lineage-reg.{key}", value.encode())
            return False
        except OSError as exc:
            if exc.errno not in _NO_XATTR:
                raise
    path.with_name(f"{path.name}.{key}").write_text(value)
    return True


def _read_meta(path: Path, key: str) -> str | None:
    if _XATTR:
        try:
            return os.getxattr(path, f"user.lineage-reg.{key}").decode()
        except OSError:
            pass  # not set, or no extended attributes here: try the sidecar
    try:
        return path.with_name(f"{path.name}.{key}").read_text()
    except OSError:
        return None


def _move_sidecars(old: Path, new: Path) -> None:
    for key in _SIDECARS:
        try:
            os.replace(old.with_name(f"{old.name}.{key}"), new.with_name(f"{new.name}.{key}"))
        except FileNotFoundError:
            pass


def _drop(cached: Path) -> None:
    cached.unlink(missing_ok=True)
    for key in _SIDECARS:
        cached.with_name(f"{cached.name}.{key}").unlink(missing_ok=True)


def copy_atomically(source: Path, target: Path, *, sync: bool = False) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = partial_beside(target)
    try:
        shutil.copyfile(source, tmp)  # sendfile: the bytes stay in the kernel
        if sync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
