"""Who owns a thing: which project an argument belongs to, so access can be checked before anything below it is looked up.

A project never changes under an object, so this read may happen outside the
transaction that later acts on it. A target that doesn't exist comes back with
no project rather than as an error: the caller decides what to answer, and a
caller who may not read the project answers a missing target and an unreadable
one identically (``api/permissions.grant``), so nothing tells them apart.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .. import ids, refs
from ..store import comments as comment_store
from ..store import links as link_store
from ..store import metrics as metric_store
from ..store import projects as project_store
from ..store import promotions as promotion_store
from ..store import runs as run_store
from ..store import versions as version_store
from ..store import webhooks as webhook_store
from ..store.db import Conn
from .runtime import Runtime


@dataclass(frozen=True)
class Target:
    what: str  # how an answer names it: "project 'churn'", "run UnVuOjE"
    project_id: int | None  # None: it does not exist


async def project(rt: Runtime, *, name: str) -> Target:
    refs.check_project_name(name)
    async with rt.db.reader() as r:
        found = await project_store.project_by_name(r, name)
    return Target(f"project {name!r}", found.id if found else None)


async def collection(rt: Runtime, *, ref: str) -> Target:
    """``project/name``: its project (the collection itself may not exist yet: linking creates models)."""
    return await project(rt, name=refs.parse_collection(ref).project)


async def version(rt: Runtime, *, ref: str) -> Target:
    """A version named by a reference (its project) or a global id."""
    if not ids.looks_like_id(ref):
        return await project(rt, name=refs.parse_version_ref(ref).project)
    version_id = ids.decode_as(ref, "ArtifactVersion")
    async with rt.db.reader() as r:
        return Target(f"artifact version {ref}", await _version_project(r, version_id))


async def versions(rt: Runtime, *, global_ids: list[str]) -> dict[str, Target]:
    """Many versions by global id in one read (a metrics batch names hundreds)."""
    wanted = {text: ids.decode_as(text, "ArtifactVersion") for text in global_ids}
    async with rt.db.reader() as r:
        found = await version_store.projects_of_versions(r, sorted(set(wanted.values())))
    return {text: Target(f"artifact version {text}", found.get(v)) for text, v in wanted.items()}


async def _version_project(conn: Conn, version_id: int) -> int | None:
    rec = await version_store.version_by_id(conn, version_id)
    return rec.project_id if rec else None


async def _by_id(rt: Runtime, global_id: str, type_name: str, what: str,
                 fetch: Callable[[Conn, list[int]], Awaitable[Mapping[int, Any]]]) -> Target:
    """A thing with a ``project_id``, read by id with its store's batch function."""
    row_id = ids.decode_as(global_id, type_name)
    async with rt.db.reader() as r:
        found = (await fetch(r, [row_id])).get(row_id)
    return Target(f"{what} {global_id}", found.project_id if found else None)


async def run(rt: Runtime, *, global_id: str) -> Target:
    return await _by_id(rt, global_id, "Run", "run", run_store.runs_by_id)


async def link(rt: Runtime, *, global_id: str) -> Target:
    return await _by_id(rt, global_id, "ModelLink", "model link", link_store.links_by_id)


async def tag_target(rt: Runtime, *, global_id: str) -> Target:
    kind, row_id = ids.decode(global_id, "ArtifactVersion", "Artifact", "RegisteredModel")
    async with rt.db.reader() as r:
        if kind == "ArtifactVersion":
            return Target(f"{kind} {global_id}", await _version_project(r, row_id))
        found: Any = (await project_store.collections_by_id(r, [row_id])).get(row_id)
    return Target(f"{kind} {global_id}", int(found.project_id) if found else None)


async def webhook(rt: Runtime, *, global_id: str) -> Target:
    webhook_id = ids.decode_as(global_id, "Webhook")
    async with rt.db.reader() as r:
        hook = await webhook_store.webhook_by_id(r, webhook_id)
    return Target(f"webhook {global_id}", hook.project_id if hook else None)


async def metric_rule(rt: Runtime, *, global_id: str) -> Target:
    return await _by_id(rt, global_id, "MetricRule", "metric rule", metric_store.rules_by_id)


async def promotion_request(rt: Runtime, *, global_id: str) -> Target:
    return await _by_id(rt, global_id, "PromotionRequest", "promotion request", promotion_store.by_id)


async def comment_target(rt: Runtime, *, global_id: str) -> Target:
    """What a comment may be on: a version, a registered model, a promotion request."""
    kind, row_id = ids.decode(global_id, "ArtifactVersion", "RegisteredModel", "PromotionRequest")
    if kind == "ArtifactVersion":
        return await version(rt, ref=global_id)
    if kind == "PromotionRequest":
        return await promotion_request(rt, global_id=global_id)
    async with rt.db.reader() as r:
        found = (await project_store.collections_by_id(r, [row_id])).get(row_id)
    return Target(f"{kind} {global_id}", int(found.project_id) if found and found.kind == "model" else None)


async def comment(rt: Runtime, *, global_id: str) -> Target:
    return await _by_id(rt, global_id, "Comment", "comment", comment_store.by_id)
