"""Tags on artifact versions, artifacts and registered models: free labels, every change an event."""

from __future__ import annotations

from collections.abc import Sequence

from .. import ids, refs
from ..errors import BadInput, LimitExceeded
from ..store import projects as project_store
from ..store import versions as version_store
from . import find
from .runtime import Runtime, Tx, write

MAX_TAGS = 100


async def change_tags(rt: Runtime, *, actor: str | None, target: str, add: Sequence[str] = (), remove: Sequence[str] = ()) -> list[str]:
    for tag in (*add, *remove):
        refs.check_tag(tag)
    kind, row_id = ids.decode(target, "ArtifactVersion", "Artifact", "RegisteredModel")

    async def work(tx: Tx) -> list[str]:
        if kind == "ArtifactVersion":
            version = await find.version_by_id(tx.conn, row_id, for_update=True)
            if version.state == "DELETED":
                raise BadInput(f"{version.ref} is deleted")
            current, coll_id = version.tags, version.artifact_id
        else:
            found = (await project_store.collections_by_id(tx.conn, [row_id])).get(row_id)
            if found is None or (kind == "Artifact") != (found.kind == "artifact"):
                raise BadInput(f"no {kind} with id {target}")
            current, coll_id = found.tags, found.id
        tags = [t for t in current if t not in remove] + [t for t in dict.fromkeys(add) if t not in current]
        if len(tags) > MAX_TAGS:
            raise LimitExceeded(f"at most {MAX_TAGS} tags per object")
        if tags == current:
            return tags
        if kind == "ArtifactVersion":
            await version_store.set_version_tags(tx.conn, row_id, tags)
        else:
            await project_store.set_collection_tags(tx.conn, row_id, tags)
        coll = (await project_store.collections_by_id(tx.conn, [coll_id]))[coll_id]
        await tx.event("tags.changed", project_id=coll.project_id, project=coll.project, collection=coll,
                       target=target, added=[t for t in add if t not in current],
                       removed=[t for t in remove if t in current])
        return tags

    return await write(rt, actor=actor, work=work)
