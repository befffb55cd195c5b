"""Comparing versions side by side: config and metrics of the runs that produced them (the summary,
else the last logged value), metadata, and files (added, removed or changed by sha256, against the first)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import BadInput, LimitExceeded
from ..store import runs as run_store
from ..store import versions as version_store
from ..records import VersionRec
from . import find
from .runtime import Runtime

MAX_VERSIONS = 10
MAX_FILES = 20_000  # per version


@dataclass(frozen=True)
class Compared:
    key: str
    values: list[Any]  # one per version; None where the key is absent

    @property
    def differs(self) -> bool:
        return any(v != self.values[0] for v in self.values[1:])


@dataclass(frozen=True)
class ComparedFile:
    path: str
    sha256: list[str | None]
    size: list[int | None]

    @property
    def change(self) -> str:
        first, rest = self.sha256[0], self.sha256[1:]
        if first is None:
            return "ADDED"
        if any(s is None for s in rest):
            return "REMOVED"
        return "CHANGED" if any(s != first for s in rest) else "UNCHANGED"


@dataclass(frozen=True)
class Comparison:
    versions: list[VersionRec]
    config: list[Compared]
    metrics: list[Compared]
    metadata: list[Compared]
    files: list[ComparedFile]


def check_count(refs: Sequence[str]) -> None:
    if not 2 <= len(refs) <= MAX_VERSIONS:
        raise BadInput(f"compare 2 to {MAX_VERSIONS} versions, not {len(refs)}")


def flatten(data: dict[str, Any] | None, prefix: str = "") -> dict[str, Any]:
    """{"optimizer": {"lr": 0.1}} -> {"optimizer.lr": 0.1}: nested config compares key by key."""
    flat: dict[str, Any] = {}
    for key, value in (data or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _side_by_side(maps: Sequence[dict[str, Any]]) -> list[Compared]:
    keys = sorted({k for m in maps for k in m})
    return [Compared(k, [m.get(k) for m in maps]) for k in keys]


async def compare(rt: Runtime, *, refs: Sequence[str]) -> Comparison:
    check_count(refs)
    async with rt.db.reader() as r:
        versions = [await find.version(r, ref) for ref in refs]
        run_ids = sorted({v.run_id for v in versions if v.run_id is not None})
        runs = await run_store.runs_by_id(r, run_ids)
        logged = await run_store.latest_metrics(r, run_ids) if run_ids else {}
        too_big = [v.ref for v in versions if v.file_count > MAX_FILES]
        if too_big:
            raise LimitExceeded(f"{too_big[0]} has more than {MAX_FILES} files; compare its files with "
                                "`files` pages instead")
        files = await version_store.files_of(r, [v.id for v in versions])
    run_of = [runs.get(v.run_id) if v.run_id is not None else None for v in versions]
    by_version = [{f.path: f for f in files.get(v.id, [])} for v in versions]
    paths = sorted({p for m in by_version for p in m})
    return Comparison(
        versions=versions,
        config=_side_by_side([flatten(run.config if run else None) for run in run_of]),
        # The run's summary where it set one, else the last value it logged of each metric.
        metrics=_side_by_side([logged.get(run.id, {}) | flatten(run.summary) if run else {} for run in run_of]),
        metadata=_side_by_side([flatten(v.metadata) for v in versions]),
        files=[ComparedFile(p, [m[p].sha256 if p in m else None for m in by_version],
                            [m[p].size if p in m else None for m in by_version]) for p in paths],
    )
