"""Event and AliasChange types."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import strawberry

from ... import ids
from ...records import EventRec
from ..context import Info
from ...services import find
from ..permissions import may_read
from .common import JSON, Node
from .artifacts import ArtifactVersion


REF_PROJECT = re.compile(r"([a-z0-9][a-z0-9._-]{0,127})/[^/]")
HIDDEN = "(hidden: a project you have no role in)"


async def hide_foreign_refs(info: Info, own_project: str, payload: dict[str, Any]) -> dict[str, Any]:
    """An event names versions of other projects (a link into a shared registry): keep those the actor can
    read, hide the others."""
    out = {}
    for key, value in payload.items():
        if isinstance(value, str) and (m := REF_PROJECT.match(value)) and m.group(1) != own_project:
            project = await find.project_named(info.context.rt, name=m.group(1))
            if project is not None and not may_read(info.context.actor, project.id):
                value = HIDDEN
        out[key] = value
    return out


async def _version(info: Info, version_id: int | None) -> ArtifactVersion | None:
    if version_id is None:
        return None
    rec = await info.context.loaders.version.load(version_id)
    return ArtifactVersion.of(rec) if rec else None


def _full_name(rec: EventRec) -> str | None:
    """project/name, as every argument and every other field names a collection (the log keeps the bare name)."""
    return f"{rec.project}/{rec.collection}" if rec.collection else None


@strawberry.type
class Event(Node):
    id: strawberry.ID
    sequence: float = strawberry.field(description="Monotonic position in the event log; pass to subscriptions as `after`.")
    kind: str
    actor: str | None
    at: datetime
    project: str
    collection: str | None = strawberry.field(
        description="The collection (artifact or registered model) the event concerns, as project/name; null if none."
    )
    alias: str | None
    _rec: strawberry.Private[EventRec]

    @classmethod
    def of(cls, rec: EventRec) -> Event:
        return cls(
            id=strawberry.ID(ids.encode("Event", rec.id)), sequence=rec.id, kind=rec.kind, actor=rec.actor, at=rec.at,
            project=rec.project, collection=_full_name(rec), alias=rec.alias, _rec=rec,
        )

    @strawberry.field(description="Details of the event; references into projects you have no role in are hidden.")
    async def payload(self, info: Info) -> JSON:
        return await hide_foreign_refs(info, self._rec.project, self._rec.payload)

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
        return cls(event=Event.of(rec), collection=_full_name(rec) or "", alias=rec.alias or "", _rec=rec)

    @strawberry.field(description="Null when the alias was removed.")
    async def version(self, info: Info) -> ArtifactVersion | None:
        return await _version(info, self._rec.to_version_id)

    @strawberry.field
    async def previous(self, info: Info) -> ArtifactVersion | None:
        return await _version(info, self._rec.from_version_id)
