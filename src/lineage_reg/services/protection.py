"""Protected aliases: which aliases only a project's admins may move.

The nearest setting wins: the collection's (``setProtectedAliases(collection:)``),
else the project's (``setProtectedAliases(project:)``), else the server's
default (``LINEAGE_REG_PROTECTED_ALIASES``, ``production``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import refs
from ..errors import BadInput
from ..store import projects as project_store
from ..store import protection as store
from . import find
from .runtime import Runtime, Tx, write
from ..store.db import Conn

MAX_NAMES = 50


async def protected(rt: Runtime, *, project_id: int, collection_id: int | None) -> tuple[str, ...]:
    return (await protected_many(rt, keys=[(project_id, collection_id)]))[(project_id, collection_id)]


async def protected_many(rt: Runtime, *, keys: Sequence[tuple[int, int | None]]) -> dict[tuple[int, int | None],
                                                                                   tuple[str, ...]]:
    """The effective list for each (project, collection) in one read (a DataLoader batches these)."""
    async with rt.db.reader() as r:
        return await _effective(r, rt.settings.protected_aliases, keys)


async def protected_in(tx: Tx, default: tuple[str, ...], project_id: int, collection_id: int) -> tuple[str, ...]:
    """The effective list read in a write transaction: what decides whether an alias may move in it."""
    await store.guard(tx.conn, project_id, changing=False)
    return (await _effective(tx.conn, default, [(project_id, collection_id)]))[(project_id, collection_id)]


async def rule_in(tx: Tx, project_id: int, collection_id: int) -> str:
    """Where the effective list of a collection comes from, as a sentence fragment for people."""
    scopes = [store.scope_key(project_id, collection_id), store.scope_key(project_id, None)]
    found = await store.settings_many(tx.conn, scopes)
    if scopes[0] in found:
        return "the collection's own list (setProtectedAliases(collection:))"
    if scopes[1] in found:
        return "the project's list (setProtectedAliases(project:))"
    return "the server's default (LINEAGE_REG_PROTECTED_ALIASES); a project admin can override it with " \
        "setProtectedAliases"


async def _effective(conn: Conn, default: tuple[str, ...], keys: Sequence[tuple[int, int | None]]
                     ) -> dict[tuple[int, int | None], tuple[str, ...]]:
    scopes = sorted({store.scope_key(p, None) for p, _ in keys} | {store.scope_key(p, c) for p, c in keys if c})
    found = await store.settings_many(conn, scopes)
    out = {}
    for project_id, collection_id in keys:
        nearest = [store.scope_key(project_id, collection_id)] if collection_id else []
        nearest.append(store.scope_key(project_id, None))
        hit = next((found[k] for k in nearest if k in found), None)
        out[(project_id, collection_id)] = tuple(hit) if hit is not None else default
    return out


async def protected_for(rt: Runtime, *, collection: str) -> tuple[str, ...]:
    """For ``project/name``; a collection that doesn't exist yet (linking creates it) follows its project."""
    ref = refs.parse_collection(collection)
    async with rt.db.reader() as r:
        project = await find.project(r, ref.project)
        coll = await project_store.collection_by_name(r, ref.project, ref.name)
    return await protected(rt, project_id=project.id, collection_id=coll.id if coll else None)


async def set_protected(rt: Runtime, *, actor: str | None, project: str | None, collection: str | None,
                        names: Sequence[str]) -> tuple[str, tuple[str, ...]]:
    """Set the list for a project or one collection; returns (scope shown to users, names)."""
    if (project is None) == (collection is None):
        raise BadInput("give exactly one of project or collection")
    wanted = tuple(sorted({refs.check_alias(n) for n in names}))
    if "latest" in wanted:
        raise BadInput("'latest' is moved by the server on every commit; it can't be protected")
    if len(wanted) > MAX_NAMES:
        raise BadInput(f"at most {MAX_NAMES} protected aliases")

    async def work(tx: Tx) -> str:
        if collection is not None:
            coll = await find.collection(tx.conn, refs.parse_collection(collection))
            project_id, collection_id, shown, name = coll.project_id, coll.id, f"{coll.project}/{coll.name}", coll.project
            target: Any = coll
        else:
            proj = await find.project(tx.conn, project)  # type: ignore[arg-type]
            project_id, collection_id, shown, name, target = proj.id, None, proj.name, proj.name, None
        await store.guard(tx.conn, project_id, changing=True)
        await store.upsert(tx.conn, tx.dialect, dict(
            scope=store.scope_key(project_id, collection_id), project_id=project_id, collection_id=collection_id,
            names=list(wanted), updated_at=tx.at, updated_by=tx.actor))
        await tx.event("aliases.protected", project_id=project_id, project=name, collection=target,
                       names=list(wanted))
        return shown

    return await write(rt, actor=actor, work=work), wanted
