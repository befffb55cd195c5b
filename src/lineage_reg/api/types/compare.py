"""VersionComparison and its parts: versions side by side."""

from __future__ import annotations

from enum import Enum

import strawberry

from .artifacts import ArtifactVersion
from .common import JSON


@strawberry.enum
class FileChange(Enum):
    ADDED = "ADDED"
    REMOVED = "REMOVED"
    CHANGED = "CHANGED"
    UNCHANGED = "UNCHANGED"


@strawberry.type(description="One key across the compared versions; `values[i]` belongs to `versions[i]` "
                 "(null where absent).")
class ComparedValue:
    key: str
    values: list[JSON | None]
    differs: bool


@strawberry.type(description="One path across the compared versions, against the first version.")
class ComparedFile:
    path: str
    change: FileChange
    sha256: list[str | None]
    size: list[float | None]


@strawberry.type(description="One metric of one source across the compared versions; `latest[i]`, `mean[i]`, "
                 "`count[i]` belong to `versions[i]` (null and 0 where that version has no such series).")
class ComparedMetricSeries:
    source: str
    name: str
    latest: list[float | None]
    mean: list[float | None]
    count: list[int]
    differs: bool = strawberry.field(description="Whether the latest values differ.")


@strawberry.type(description="Versions side by side: the producing runs' config and metrics, metadata, files.")
class VersionComparison:
    versions: list[ArtifactVersion]
    config: list[ComparedValue]
    metrics: list[ComparedValue] = strawberry.field(
        description="The producing run's summary, else the last logged value of each metric.")
    metadata: list[ComparedValue]
    files: list[ComparedFile]
    metrics_by_source: list[ComparedMetricSeries] = strawberry.field(
        description="Every metric of every source (evaluation, production, any other, training last) the versions "
        "have: champion and challenger in one query. See docs/metrics.md.")
