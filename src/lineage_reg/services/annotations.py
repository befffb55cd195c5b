"""Editable annotations: a registered model's name and description, an artifact's description, a version's
description and metadata. A version's files and digest never change; every edit is an event whose payload
keeps the previous value, so a model's ``history`` is its change history (docs/governance.md).
"""

from __future__ import annotations

import json
from typing import Any

from .. import refs
from ..errors import BadInput, Conflict
from ..records import CollectionRec, VersionRec
from ..store import projects as project_store
from ..store import versions as version_store
from . import find
from .projects import check_description
from .runtime import Runtime, Tx, write

MAX_METADATA_BYTES = 64 * 1024


def check_metadata(metadata: Any) -> dict[str, Any]:
    if not isinstance(metadata, dict):
        raise BadInput(f"metadata must be a JSON object, got {type(metadata).__name__}")
    size = len(json.dumps(metadata).encode())
    if size > MAX_METADATA_BYTES:
        raise BadInput(f"metadata is {size:,} bytes as JSON; at most {MAX_METADATA_BYTES:,}")
    return metadata


async def _collection(tx: Tx, text: str, kind: str) -> CollectionRec:
    coll = await find.collection(tx.conn, refs.parse_collection(text))
    if coll.kind != kind:
        what = "a registered model" if kind == "model" else "an artifact"
        raise BadInput(f"{coll.ref} is not {what}")
    await project_store.lock_collection(tx.conn, tx.dialect, coll.id)
    return coll


async def update_model(rt: Runtime, *, actor: str | None, model: str, description: str | None,
                       name: str | None) -> CollectionRec:
    """Describe or rename a registered model (its id, links, aliases and history stay; references use the new
    name at once, the old one answers NOT_FOUND)."""
    check_description(description)
    if name is not None:
        refs.check_name(name)

    async def work(tx: Tx) -> CollectionRec:
        coll = await _collection(tx, model, "model")
        changes: dict[str, Any] = {}
        if description is not None and description != coll.description:
            changes["description"] = description
        if name is not None and name != coll.name:
            taken = await project_store.collection_by_name(tx.conn, coll.project, name)
            if taken is not None:
                raise Conflict(f"{coll.project}/{name} is taken (an {taken.kind.replace('model', 'registered model')}"
                               "); artifacts and registered models share the names of a project",
                               name=name)
            changes["name"] = name
        if not changes:
            return coll
        await project_store.update_collection(tx.conn, coll.id, changes)
        after = (await project_store.collections_by_id(tx.conn, [coll.id]))[coll.id]
        await tx.event("model.updated", project_id=coll.project_id, project=coll.project, collection=after,
                       changed=sorted(changes), previous={k: getattr(coll, k) for k in changes},
                       **{k: getattr(after, k) for k in changes})
        return after

    return await write(rt, actor=actor, work=work)


async def update_artifact(rt: Runtime, *, actor: str | None, artifact: str, description: str | None) -> CollectionRec:
    check_description(description)

    async def work(tx: Tx) -> CollectionRec:
        coll = await _collection(tx, artifact, "artifact")
        if description is None or description == coll.description:
            return coll
        await project_store.update_collection(tx.conn, coll.id, {"description": description})
        await tx.event("artifact.updated", project_id=coll.project_id, project=coll.project, collection=coll,
                       changed=["description"], previous={"description": coll.description}, description=description)
        return (await project_store.collections_by_id(tx.conn, [coll.id]))[coll.id]

    return await write(rt, actor=actor, work=work)


async def update_version(rt: Runtime, *, actor: str | None, version: str, description: str | None,
                         metadata: Any) -> VersionRec:
    """A version's description and metadata (replaced whole); refused for a deleted version."""
    check_description(description)
    if metadata is not None:
        check_metadata(metadata)

    async def work(tx: Tx) -> VersionRec:
        rec = await find.version(tx.conn, version, for_update=True)
        if rec.state == "DELETED":
            raise BadInput(f"{rec.ref} is deleted: its annotations can no longer change")
        changes: dict[str, Any] = {}
        if description is not None and description != rec.description:
            changes["description"] = description
        if metadata is not None and metadata != rec.metadata:
            changes["metadata"] = metadata
        if not changes:
            return rec
        await version_store.update_annotations(tx.conn, rec.id, changes)
        artifact = (await project_store.collections_by_id(tx.conn, [rec.artifact_id]))[rec.artifact_id]
        await tx.event("version.updated", project_id=rec.project_id, project=rec.project, collection=artifact,
                       to_version=rec.id, ref=rec.ref, changed=sorted(changes),
                       previous={k: getattr(rec, k) for k in changes}, **changes)
        return await find.version_by_id(tx.conn, rec.id)

    return await write(rt, actor=actor, work=work)
