"""Read paths the API batches: records by id, and pages of every list.

Each list is a ``ListSpec``: a base select, the parent column it hangs off,
and the keyset key it is ordered by. The API's loaders group requests for the
same list and page size into one statement per spec.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..errors import BadInput, LimitExceeded
from ..store import events as event_store
from ..store import links as link_store
from ..store import pages
from ..store import projects as project_store
from ..store import runs as run_store
from ..store import schema as s
from ..store import versions as version_store
from ..store.records import (
    CollectionRec, DatasetRec, EventRec, FileRec, LinkRec, ProjectRec, RunRec, VersionRec,
)
from .runtime import Runtime

DEFAULT_PAGE = 50


@dataclass(frozen=True)
class ListSpec:
    select: Callable[[Any], sa.Select[Any]]  # takes the list's filter argument
    parent: sa.ColumnElement[Any] | None
    key: sa.ColumnElement[Any]
    descending: bool
    build: Callable[[Any], Any]


def _runs_via_edge(src_kind: str, dst_kind: str, kind: str, parent_is_src: bool) -> ListSpec:
    e = s.edge.c
    run_side, parent_side = (e.dst_id, e.src_id) if parent_is_src else (e.src_id, e.dst_id)
    return ListSpec(
        select=lambda _: sa.select(s.run).join(
            s.edge, sa.and_(run_side == s.run.c.id, e.src_kind == src_kind, e.dst_kind == dst_kind, e.kind == kind)
        ),
        parent=parent_side, key=s.run.c.id, descending=True, build=RunRec.from_row,
    )


def _artifacts(type_filter: Any) -> sa.Select[Any]:
    stmt = s.select_collections().where(s.collection.c.kind == "artifact")
    return stmt.where(s.collection.c.type == type_filter) if type_filter else stmt


LISTS: dict[str, ListSpec] = {
    "projects": ListSpec(lambda _: sa.select(s.project), None, s.project.c.id, False, ProjectRec.from_row),
    "project.runs": ListSpec(lambda _: sa.select(s.run), s.run.c.project_id, s.run.c.id, True, RunRec.from_row),
    "project.artifacts": ListSpec(_artifacts, s.collection.c.project_id, s.collection.c.id, False, CollectionRec.from_row),
    "project.models": ListSpec(
        lambda _: s.select_collections().where(s.collection.c.kind == "model"),
        s.collection.c.project_id, s.collection.c.id, False, CollectionRec.from_row,
    ),
    "artifact.versions": ListSpec(
        lambda _: s.select_versions().where(s.version.c.state != "DELETED"),
        s.version.c.artifact_id, s.version.c.index, True, VersionRec.from_row,
    ),
    "version.files": ListSpec(
        lambda _: sa.select(s.version_file.c.path, s.version_file.c.size, s.version_file.c.sha256),
        s.version_file.c.version_id, s.version_file.c.path, False, FileRec.from_row,
    ),
    "version.usedBy": _runs_via_edge("v", "r", "used", parent_is_src=True),
    "dataset.readBy": _runs_via_edge("d", "r", "read", parent_is_src=True),
    "dataset.writtenBy": _runs_via_edge("r", "d", "wrote", parent_is_src=False),
    "model.versions": ListSpec(lambda _: s.select_links(), s.link.c.model_id, s.link.c.index, True, LinkRec.from_row),
    "model.history": ListSpec(lambda _: sa.select(s.event), s.event.c.collection_id, s.event.c.id, True, EventRec.from_row),
    "events": ListSpec(
        lambda project: sa.select(s.event).where(s.event.c.project == project) if project else sa.select(s.event),
        None, s.event.c.id, False, EventRec.from_row,
    ),
}


def page_size(rt: Runtime, first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 0:
        raise BadInput(f"first must be >= 0, got {first}")
    if first > rt.settings.max_page_size:
        raise LimitExceeded(f"first is {first}; ask for at most {rt.settings.max_page_size} and page with `after`")
    return first


async def list_pages(
    rt: Runtime, name: str, parents: Sequence[Hashable], *, first: int, after: Any, arg: Any = None
) -> dict[Hashable, pages.Page[Any]]:
    spec = LISTS[name]
    async with rt.db.reader() as r:
        if spec.parent is None:
            page = await pages.fetch_page(
                r, spec.select(arg), key=spec.key, first=first, after=after, descending=spec.descending, build=spec.build
            )
            return {p: page for p in parents}
        return await pages.fetch_pages(
            r, spec.select(arg), parent=spec.parent, parents=parents, key=spec.key, first=first, after=after,
            descending=spec.descending, build=spec.build,
        )


async def list_counts(rt: Runtime, name: str, parents: Sequence[Hashable], *, arg: Any = None) -> dict[Hashable, int]:
    spec = LISTS[name]
    async with rt.db.reader() as r:
        if spec.parent is None:
            stmt = sa.select(sa.func.count()).select_from(spec.select(arg).subquery())
            total = int((await r.execute(stmt)).scalar_one())
            return {p: total for p in parents}
        return await pages.count_by_parent(r, spec.select(arg), spec.parent, parents)


async def _read(rt: Runtime, fn: Callable[..., Any], *args: Any) -> Any:
    async with rt.db.reader() as r:
        return await fn(r, *args)


async def projects_by_id(rt: Runtime, ids: Sequence[int]) -> dict[int, ProjectRec]:
    return await _read(rt, project_store.projects_by_id, ids)


async def collections_by_id(rt: Runtime, ids: Sequence[int]) -> dict[int, CollectionRec]:
    return await _read(rt, project_store.collections_by_id, ids)


async def versions_by_id(rt: Runtime, ids: Sequence[int]) -> dict[int, VersionRec]:
    return await _read(rt, version_store.versions_by_id, ids)


async def runs_by_id(rt: Runtime, ids: Sequence[int]) -> dict[int, RunRec]:
    return await _read(rt, run_store.runs_by_id, ids)


async def datasets_by_id(rt: Runtime, ids: Sequence[int]) -> dict[int, DatasetRec]:
    return await _read(rt, run_store.datasets_by_id, ids)


async def links_by_id(rt: Runtime, ids: Sequence[int]) -> dict[int, LinkRec]:
    return await _read(rt, link_store.links_by_id, ids)


async def events_by_id(rt: Runtime, ids: Sequence[int]) -> dict[int, EventRec]:
    return await _read(rt, event_store.events_by_id, ids)


async def links_of_versions(rt: Runtime, ids: Sequence[int]) -> dict[int, list[LinkRec]]:
    return await _read(rt, link_store.links_of_versions, ids)


async def aliases_of_collections(rt: Runtime, ids: Sequence[int]) -> dict[int, Any]:
    return await _read(rt, link_store.aliases_of_collections, ids)


async def alias_names(rt: Runtime, pairs: Sequence[tuple[int, int]]) -> dict[tuple[int, int], list[str]]:
    return await _read(rt, link_store.alias_names_of, pairs)


async def neighbours(rt: Runtime, kind: str, ids: Sequence[int], *, downstream: bool, via: str | None = None) -> dict[int, list[tuple[str, int, str]]]:
    async with rt.db.reader() as r:
        return await run_store.neighbours(r, kind, ids, downstream=downstream, via=via)


async def metric_history(rt: Runtime, run_id: int, key: str | None, limit: int) -> list[tuple[str, int, float]]:
    return await _read(rt, run_store.metric_history, run_id, key, limit)


async def project_by_name(rt: Runtime, name: str) -> ProjectRec | None:
    return await _read(rt, project_store.project_by_name, name)


async def collection_by_name(rt: Runtime, project: str, name: str) -> CollectionRec | None:
    return await _read(rt, project_store.collection_by_name, project, name)


async def resolve(rt: Runtime, text: str) -> VersionRec:
    """The version a reference (or global id) names; NOT_FOUND says which part is missing."""
    from . import lookup

    async with rt.db.reader() as r:
        return await lookup.version(r, text)
