"""Event and AliasChange types."""

from __future__ import annotations

from datetime import datetime

import strawberry

from ... import ids
from ...store.records import EventRec
from ..context import Info
from ..permissions import can_read
from .common import JSON, Node
from .registry import ArtifactVersion


async def _version(info: Info, version_id: int | None) -> ArtifactVersion | None:
    can_read(info)
    if version_id is None:
        return None
    rec = await info.context.loaders.version.load(version_id)
    return ArtifactVersion.of(rec) if rec else None


@strawberry.type
class Event(Node):
    id: strawberry.ID
    sequence: float = strawberry.field(description="Monotonic position in the event log; pass to subscriptions as `after`.")
    kind: str
    actor: str | None
    at: datetime
    project: str
    collection: str | None = strawberry.field(
        description="The collection (artifact or registered model) the event concerns, if any."
    )
    alias: str | None
    payload: JSON
    _rec: strawberry.Private[EventRec]

    @classmethod
    def of(cls, rec: EventRec) -> Event:
        return cls(
            id=strawberry.ID(ids.encode("Event", rec.id)), sequence=rec.id, kind=rec.kind, actor=rec.actor, at=rec.at,
            project=rec.project, collection=rec.collection, alias=rec.alias, payload=rec.payload, _rec=rec,
        )

    @strawberry.field
    async def from_version(self, info: Info) -> ArtifactVersion | None:
        return await _version(info, self._rec.from_version_id)

    @strawberry.field
    async def to_version(self, info: Info) -> ArtifactVersion | None:
        return await _version(info, self._rec.to_version_id)


@strawberry.type
class AliasChange:
    event: Event
    collection: str
    alias: str
    _rec: strawberry.Private[EventRec]

    @classmethod
    def of(cls, rec: EventRec) -> AliasChange:
        return cls(event=Event.of(rec), collection=f"{rec.project}/{rec.collection}", alias=rec.alias or "", _rec=rec)

    @strawberry.field(description="Null when the alias was removed.")
    async def version(self, info: Info) -> ArtifactVersion | None:
        return await _version(info, self._rec.to_version_id)

    @strawberry.field
    async def previous(self, info: Info) -> ArtifactVersion | None:
        return await _version(info, self._rec.from_version_id)
