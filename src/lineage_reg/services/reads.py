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

from .. import ids, refs
from ..errors import BadInput, LimitExceeded
from ..store import events as event_store
from ..store import lineage as lineage_store
from ..store import links as link_store
from ..store import openlineage as ol_store
from ..store import pages
from ..store import projects as project_store
from ..store import runs as run_store
from ..store import schema as s
from ..store import resolve as resolve_store
from ..store import versions as version_store
from ..records import (
    CollectionRec, DatasetRec, DeliveryRec, EventRec, FileRec, LinkRec, ProjectRec, RunRec, VersionRec,
)
from . import lookup
from .runtime import Runtime

DEFAULT_PAGE = 50


@dataclass(frozen=True)
class ListSpec:
    """A list: its base select (``filtered`` applies the list's one optional argument, bound as ``:arg``),
    the parent column it hangs off, and the keyset key it is ordered by. Built once per process."""

    select: sa.Select[Any]
    parent: sa.ColumnElement[Any] | None
    key: sa.ColumnElement[Any]
    descending: bool
    build: Callable[[Any], Any]
    filtered: sa.Select[Any] | None = None

    def statement(self, arg: Any) -> tuple[sa.Select[Any], dict[str, Any]]:
        if arg is None or self.filtered is None:
            return self.select, {}
        return self.filtered, {"arg": arg}


ARG = sa.bindparam("arg")


def _runs_via_edge(src_kind: str, dst_kind: str, kind: str, parent_is_src: bool) -> ListSpec:
    e = s.edge.c
    run_side, parent_side = (e.dst_id, e.src_id) if parent_is_src else (e.src_id, e.dst_id)
    stmt = sa.select(s.run).join(
        s.edge, sa.and_(run_side == s.run.c.id, e.src_kind == src_kind, e.dst_kind == dst_kind, e.kind == kind)
    )
    return ListSpec(stmt, parent_side, s.run.c.id, True, RunRec.from_row)


_artifacts = s.select_collections().where(s.collection.c.kind == "artifact")

LISTS: dict[str, ListSpec] = {
    "projects": ListSpec(sa.select(s.project), None, s.project.c.id, False, ProjectRec.from_row),
    "project.runs": ListSpec(sa.select(s.run), s.run.c.project_id, s.run.c.id, True, RunRec.from_row),
    "project.artifacts": ListSpec(
        _artifacts, s.collection.c.project_id, s.collection.c.id, False, CollectionRec.from_row,
        filtered=_artifacts.where(s.collection.c.type == ARG),
    ),
    "project.models": ListSpec(
        s.select_collections().where(s.collection.c.kind == "model"),
        s.collection.c.project_id, s.collection.c.id, False, CollectionRec.from_row,
    ),
    "artifact.versions": ListSpec(
        s.select_versions().where(s.version.c.state != "DELETED"),
        s.version.c.artifact_id, s.version.c.index, True, VersionRec.from_row,
    ),
    "version.files": ListSpec(
        sa.select(s.version_file.c.path, s.version_file.c.size, s.version_file.c.sha256),
        s.version_file.c.version_id, s.version_file.c.path, False, FileRec.from_row,
    ),
    "version.usedBy": _runs_via_edge("v", "r", "used", parent_is_src=True),
    "dataset.readBy": _runs_via_edge("d", "r", "read", parent_is_src=True),
    "dataset.writtenBy": _runs_via_edge("r", "d", "wrote", parent_is_src=False),
    "model.versions": ListSpec(s.select_links(), s.link.c.model_id, s.link.c.index, True, LinkRec.from_row),
    "model.history": ListSpec(sa.select(s.event), s.event.c.collection_id, s.event.c.id, True, EventRec.from_row),
    "webhook.deliveries": ListSpec(
        sa.select(s.delivery), s.delivery.c.webhook_id, s.delivery.c.id, True, DeliveryRec.from_row
    ),
    # Restricted to the projects bound as :arg; never unfiltered (fail closed).
    "projects.in": ListSpec(
        sa.select(s.project).where(sa.false()), None, s.project.c.id, False, ProjectRec.from_row,
        filtered=sa.select(s.project).where(s.project.c.id.in_(sa.bindparam("arg", expanding=True))),
    ),
    "events.in": ListSpec(
        sa.select(s.event).where(sa.false()), None, s.event.c.id, False, EventRec.from_row,
        filtered=sa.select(s.event).where(s.event.c.project_id.in_(sa.bindparam("arg", expanding=True))),
    ),
    # Every project's events, no registry event (project_id NULL): the log as a non-admin global reader sees it.
    "events.of_projects": ListSpec(
        sa.select(s.event).where(s.event.c.project_id.is_not(None)), None, s.event.c.id, False, EventRec.from_row,
    ),
    "events": ListSpec(
        sa.select(s.event), None, s.event.c.id, False, EventRec.from_row,
        filtered=sa.select(s.event).where(s.event.c.project == ARG),
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
    stmt, params = spec.statement(arg)
    async with rt.db.reader() as r:
        if spec.parent is None:
            page = await pages.fetch_page(
                r, stmt, key=spec.key, first=first, after=after, descending=spec.descending, build=spec.build,
                params=params,
            )
            return {p: page for p in parents}
        return await pages.fetch_pages(
            r, stmt, parent=spec.parent, parents=parents, key=spec.key, first=first, after=after,
            descending=spec.descending, build=spec.build, params=params,
        )


async def list_counts(rt: Runtime, name: str, parents: Sequence[Hashable], *, arg: Any = None) -> dict[Hashable, int]:
    spec = LISTS[name]
    stmt, params = spec.statement(arg)
    async with rt.db.reader() as r:
        if spec.parent is None:
            total = int((await r.execute(sa.select(sa.func.count()).select_from(stmt.subquery()), params)).scalar_one())
            return {p: total for p in parents}
        return await pages.count_by_parent(r, stmt, spec.parent, parents, params)


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
        return await lineage_store.neighbours(r, kind, ids, downstream=downstream, via=via)


async def metric_history(rt: Runtime, run_id: int, key: str | None, limit: int) -> list[tuple[str, int, float]]:
    return await _read(rt, run_store.metric_history, run_id, key, limit)


async def project_by_name(rt: Runtime, name: str) -> ProjectRec | None:
    return await _read(rt, project_store.project_by_name, name)


async def collection_by_name(rt: Runtime, project: str, name: str) -> CollectionRec | None:
    return await _read(rt, project_store.collection_by_name, project, name)


async def resolve(rt: Runtime, text: str) -> VersionRec:
    """The version a reference (or global id) names; NOT_FOUND says which part is missing.

    Aliases and indices take one prebuilt statement; when it finds nothing, the
    step-by-step lookup runs to say exactly what is missing.
    """
    async with rt.db.reader() as r:
        if not ids.looks_like_id(text):
            ref = refs.parse_version_ref(text)
            found = None
            if ref.alias is not None:
                found = await resolve_store.version_by_alias(r, ref.project, ref.name, ref.alias)
            elif ref.index is not None:
                found = await resolve_store.version_by_index(r, ref.project, ref.name, ref.index)
            if found is not None:
                return found
        return await lookup.version(r, text)


async def dataset_by_name(rt: Runtime, namespace: str, name: str) -> DatasetRec | None:
    async with rt.db.reader() as r:
        row = await ol_store.dataset_by_name(r, namespace, name)
    return DatasetRec.from_row(row) if row else None
