"""Scalars, enums and the Node interface shared by every slice."""

from __future__ import annotations

from enum import Enum

import strawberry
from strawberry.scalars import JSON

__all__ = ["JSON", "LineageDirection", "LineageNodeKind", "Node", "RunStatus", "VersionState"]


@strawberry.interface(description="An object with a global id, fetchable with `node(id:)`.")
class Node:
    id: strawberry.ID


@strawberry.enum
class RunStatus(Enum):
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"
    FAILED = "FAILED"


@strawberry.enum
class VersionState(Enum):
    PENDING = "PENDING"
    COMMITTED = "COMMITTED"
    DELETED = "DELETED"


@strawberry.enum
class LineageDirection(Enum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"


@strawberry.enum
class LineageNodeKind(Enum):
    RUN = "RUN"
    ARTIFACT_VERSION = "ARTIFACT_VERSION"
    DATASET = "DATASET"
