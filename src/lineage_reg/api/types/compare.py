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


@strawberry.type(description="Versions side by side: the producing runs' config and metrics, metadata, files.")
class VersionComparison:
    versions: list[ArtifactVersion]
    config: list[ComparedValue]
    metrics: list[ComparedValue] = strawberry.field(
        description="The producing run's summary, else the last logged value of each metric.")
    metadata: list[ComparedValue]
    files: list[ComparedFile]
