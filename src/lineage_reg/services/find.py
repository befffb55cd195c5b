"""Finding things by name, reference or id.

The functions taking a connection work on a write transaction's connection and
on a reader alike, and raise NOT_FOUND naming what was missing. Those taking the
runtime open their own short read: ``resolve`` (the deploy bot's hot path) and
the ``*_named`` lookups, which answer None for "not there" so the API decides.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from .. import ids, refs
from ..errors import BadInput, NotFound
from ..records import CollectionRec, DatasetRec, LinkRec, ProjectRec, RunRec, VersionRec
from ..store import links as link_store
from ..store import openlineage as ol_store
from ..store import projects as project_store
from ..store import runs as run_store
from ..store import versions as version_store
from ..store.db import Conn
from .runtime import Runtime


async def project(conn: Conn, name: str) -> ProjectRec:
    refs.check_project_name(name)
    rec = await project_store.project_by_name(conn, name)
    if rec is None:
        raise NotFound(f"project {name!r} not found; create it with createProject", project=name)
    return rec


async def collection(conn: Conn, ref: refs.CollectionRef, *, kind: str | None = None, for_update: bool = False) -> CollectionRec:
    rec = await project_store.collection_by_name(conn, ref.project, ref.name, for_update=for_update)
    if rec is None:
        await project(conn, ref.project)
        what = {"artifact": "artifact", "model": "registered model"}.get(kind or "", "artifact or registered model")
        raise NotFound(f"{what} {str(ref)!r} not found", collection=str(ref))
    if kind is not None and rec.kind != kind:
        actual = "an artifact" if rec.kind == "artifact" else "a registered model"
        raise BadInput(f"{str(ref)!r} is {actual}, not a{'n artifact' if kind == 'artifact' else ' registered model'}")
    return rec


async def version_in(conn: Conn, coll: CollectionRec, ref: refs.VersionRef) -> VersionRec:
    """The version a selector names within a collection (artifact or registered model)."""
    found: VersionRec | None = None
    if ref.alias is not None:
        target = await link_store.alias_target(conn, coll.id, ref.alias)
        if target is None:
            raise await unknown_alias(conn, coll, ref.alias, str(ref))
        found = await version_store.version_by_id(conn, target)
    elif ref.index is not None:
        if coll.kind == "artifact":
            found = await version_store.version_by_index(conn, coll.id, ref.index)
        else:
            link = await link_store.link_by_index(conn, coll.id, ref.index)
            found = await version_store.version_by_id(conn, link.version_id) if link else None
    else:
        assert ref.digest_prefix is not None
        matches = await version_store.versions_by_digest_prefix(conn, coll.id, coll.kind, ref.digest_prefix)
        if len(matches) > 1:
            raise BadInput(f"digest prefix in {str(ref)!r} matches several versions; give more characters")
        found = matches[0] if matches else None
    if found is None:
        raise NotFound(f"version {str(ref)!r} not found", ref=str(ref))
    return found


def closest_first(name: str, names: Sequence[str]) -> list[str]:
    """``names`` with those most like ``name`` first (a typo's intended name leads), the rest in order."""
    close = difflib.get_close_matches(name, names, n=len(names), cutoff=0.6)
    return close + sorted(n for n in names if n not in close)


async def unknown_alias(conn: Conn, coll: CollectionRec, alias: str, ref: str) -> NotFound:
    """NOT_FOUND for an alias the collection doesn't have, listing the ones it has, closest first."""
    names = [a.name for a in (await link_store.aliases_of_collections(conn, [coll.id])).get(coll.id, [])]
    if not names:
        return NotFound(f"version {ref!r} not found: {coll.ref} has no alias {alias!r}, nor any other alias yet; "
                        f"name a version by index "
                        f"({coll.ref}:v0) or set an alias with setAlias", ref=ref, alias=alias, aliases=[])
    ordered = closest_first(alias, names)
    hint = f"did you mean {ordered[0]!r}? " if ordered[0] in difflib.get_close_matches(alias, names, n=1) else ""
    return NotFound(f"version {ref!r} not found: {coll.ref} has no alias {alias!r}; {hint}its aliases: "
                    f"{', '.join(ordered)}",
                    ref=ref, alias=alias, aliases=ordered)


async def version_by_ref(conn: Conn, text: str) -> VersionRec:
    ref = refs.parse_version_ref(text)
    return await version_in(conn, await collection(conn, ref.collection), ref)


async def version(conn: Conn, text: str, *, for_update: bool = False) -> VersionRec:
    """A version named by a reference string or a global id."""
    if ids.looks_like_id(text):
        return await version_by_id(conn, ids.decode_as(text, "ArtifactVersion"), for_update=for_update)
    return await version_by_ref(conn, text)


async def version_by_id(conn: Conn, version_id: int, *, for_update: bool = False) -> VersionRec:
    rec = await version_store.version_by_id(conn, version_id, for_update=for_update)
    if rec is None:
        raise NotFound(f"artifact version {ids.encode('ArtifactVersion', version_id)} not found")
    return rec


async def run(conn: Conn, global_id: str, *, for_update: bool = False) -> RunRec:
    run_id = ids.decode_as(global_id, "Run")
    rec = (await run_store.runs_by_id(conn, [run_id], for_update=for_update)).get(run_id)
    if rec is None:
        raise NotFound(f"run {global_id} not found", run=global_id)
    return rec


async def link(conn: Conn, global_id: str) -> LinkRec:
    link_id = ids.decode_as(global_id, "ModelLink")
    rec = (await link_store.links_by_id(conn, [link_id])).get(link_id)
    if rec is None:
        raise NotFound(f"model link {global_id} not found", link=global_id)
    return rec


async def project_by_id(conn: Conn, project_id: int) -> ProjectRec:
    rec = (await project_store.projects_by_id(conn, [project_id])).get(project_id)
    if rec is None:
        raise NotFound(f"project {ids.encode('Project', project_id)} not found")
    return rec


async def resolve(rt: Runtime, *, ref: str) -> VersionRec:
    """The version a reference (or global id) names; NOT_FOUND says which part is missing.

    Aliases and indices take one prebuilt statement; when it finds nothing, the
    step-by-step lookup runs to say exactly what is missing.
    """
    async with rt.db.reader() as r:
        if not ids.looks_like_id(ref):
            parsed = refs.parse_version_ref(ref)
            found = None
            if parsed.alias is not None:
                found = await version_store.version_named_by_alias(r, parsed.project, parsed.name, parsed.alias)
            elif parsed.index is not None:
                found = await version_store.version_named_by_index(r, parsed.project, parsed.name, parsed.index)
            if found is not None:
                return found
        return await version(r, ref)


async def project_named(rt: Runtime, *, name: str) -> ProjectRec | None:
    async with rt.db.reader() as r:
        return await project_store.project_by_name(r, name)


async def collection_named(rt: Runtime, *, project: str, name: str) -> CollectionRec | None:
    async with rt.db.reader() as r:
        return await project_store.collection_by_name(r, project, name)


async def dataset_named(rt: Runtime, *, namespace: str, name: str) -> DatasetRec | None:
    async with rt.db.reader() as r:
        row = await ol_store.dataset_by_name(r, namespace, name)
    return DatasetRec.from_row(row) if row else None
