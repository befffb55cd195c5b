"""Which project an argument belongs to, so access can be checked before anything runs.

A project never changes under an object, so this read may happen outside the
transaction that later acts on it. Lookups of things that don't exist raise
NOT_FOUND, as the action itself would.
"""

from __future__ import annotations

from typing import Any

from .. import ids, refs
from ..errors import NotFound
from ..store import projects as project_store
from ..store import webhooks as webhook_store
from . import lookup
from .runtime import Runtime


async def project(rt: Runtime, name: str) -> int:
    async with rt.db.reader() as r:
        return (await lookup.project(r, name)).id


async def collection(rt: Runtime, text: str) -> int:
    """``project/name`` (the collection itself may not exist yet: linking creates models)."""
    return await project(rt, refs.parse_collection(text).project)


async def version(rt: Runtime, text: str) -> int:
    """A version named by a reference or a global id."""
    if not ids.looks_like_id(text):
        return await project(rt, refs.parse_version_ref(text).project)
    async with rt.db.reader() as r:
        return (await lookup.version(r, text)).project_id


async def run(rt: Runtime, global_id: str) -> int:
    async with rt.db.reader() as r:
        return (await lookup.run(r, global_id)).project_id


async def link(rt: Runtime, global_id: str) -> int:
    async with rt.db.reader() as r:
        return (await lookup.link(r, global_id)).project_id


async def tag_target(rt: Runtime, global_id: str) -> int:
    kind, row_id = ids.decode(global_id, "ArtifactVersion", "Artifact", "RegisteredModel")
    async with rt.db.reader() as r:
        if kind == "ArtifactVersion":
            return (await lookup.version_by_id(r, row_id)).project_id
        found: Any = (await project_store.collections_by_id(r, [row_id])).get(row_id)
    if found is None:
        raise NotFound(f"no {kind} with id {global_id}")
    return int(found.project_id)


async def webhook(rt: Runtime, webhook_id: int) -> int:
    async with rt.db.reader() as r:
        hook = await webhook_store.webhook_by_id(r, webhook_id)
    if hook is None:
        raise NotFound("webhook not found; list them with `webhooks(project:)`")
    return hook.project_id
