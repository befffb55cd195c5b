"""Comparing versions side by side: config and metrics of the runs that produced them (the summary,
else the last logged value), metadata, and files (added, removed or changed by sha256, against the first)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .. import jsontext
from ..errors import BadInput, LimitExceeded
from ..store import runs as run_store
from ..store import versions as version_store
from ..records import MetricSummaryRec, VersionRec
from ..store import metrics as metric_store
from .metric_names import TRAINING
from .metrics import training_series
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
class ComparedSeries:
    """One metric of one source across the compared versions (None where a version has no such series)."""

    source: str
    name: str
    latest: list[float | None]
    mean: list[float | None]
    count: list[int]

    @property
    def differs(self) -> bool:
        return any(v != self.latest[0] for v in self.latest[1:])


@dataclass(frozen=True)
class Comparison:
    versions: list[VersionRec]
    config: list[Compared]
    metrics: list[Compared]
    metadata: list[Compared]
    files: list[ComparedFile]
    series: list[ComparedSeries]


def check_count(refs: Sequence[str]) -> None:
    if not 2 <= len(refs) <= MAX_VERSIONS:
        raise BadInput(f"compare 2 to {MAX_VERSIONS} versions, not {len(refs)}")


flatten = jsontext.flatten


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
        stored = await metric_store.summaries_of(r, [v.id for v in versions])
        history = await metric_store.run_summaries(r, run_ids) if run_ids else {}
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
        series=_series_side_by_side([
            [*stored.get(v.id, []),
             *training_series(run, history.get(run.id, []) if run else [])]
            for v, run in zip(versions, run_of, strict=True)]),
    )


def _series_side_by_side(per_version: Sequence[Sequence[MetricSummaryRec]]) -> list[ComparedSeries]:
    """Every (source, metric) any compared version has, evaluation and production first, training last."""
    maps = [{(s.source, s.name): s for s in series} for series in per_version]
    keys = sorted({k for m in maps for k in m}, key=lambda k: (k[0] == TRAINING, k))
    return [ComparedSeries(source=k[0], name=k[1], latest=[m[k].latest if k in m else None for m in maps],
                           mean=[m[k].mean if k in m else None for m in maps],
                           count=[m[k].count if k in m else 0 for m in maps]) for k in keys]
