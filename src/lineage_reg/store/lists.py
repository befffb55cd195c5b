"""Every list the API pages through: its SQL, the parent it hangs off and the key it is ordered by.

Each list is a ``ListSpec`` named by a ``ListName``: a base select, the parent
column, and the keyset key. ``pages_of`` answers a page of one list for many
parents in one statement (``store/pages.py`` builds it), so the API's loaders
cost one query per list and page size, never one per parent.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..event_kinds import ALIAS_MOVES
from ..list_names import ListName
from ..records import (
    CollectionRec, CommentRec, DeliveryRec, EventRec, FileRec, LinkRec, Page, ProjectRec, RunRec, VersionRec,
)
from . import pages
from . import schema as s
from .db import Conn


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


ARG: sa.BindParameter[Any] = sa.bindparam("arg")


def _runs_via_edge(src_kind: str, dst_kind: str, kind: str, parent_is_src: bool) -> ListSpec:
    e = s.edge.c
    run_side, parent_side = (e.dst_id, e.src_id) if parent_is_src else (e.src_id, e.dst_id)
    stmt = sa.select(s.run).join(
        s.edge, sa.and_(run_side == s.run.c.id, e.src_kind == src_kind, e.dst_kind == dst_kind, e.kind == kind)
    )
    return ListSpec(stmt, parent_side, s.run.c.id, True, RunRec.from_row)


def _only_bound(table: sa.Table, column: sa.ColumnElement[Any], build: Callable[[Any], Any]) -> ListSpec:
    """A root list restricted to the ids bound as :arg; with no argument it is empty, never everything
    (fail closed: a caller who forgets the argument sees nothing rather than every project)."""
    return ListSpec(
        sa.select(table).where(sa.false()), None, table.c.id, False, build,
        filtered=sa.select(table).where(column.in_(sa.bindparam("arg", expanding=True))),
    )


_artifacts = s.select_collections().where(s.collection.c.kind == "artifact")

LISTS: dict[ListName, ListSpec] = {
    ListName.PROJECTS: ListSpec(sa.select(s.project), None, s.project.c.id, False, ProjectRec.from_row),
    ListName.PROJECTS_IN: _only_bound(s.project, s.project.c.id, ProjectRec.from_row),
    ListName.PROJECT_RUNS: ListSpec(sa.select(s.run), s.run.c.project_id, s.run.c.id, True, RunRec.from_row),
    ListName.PROJECT_ARTIFACTS: ListSpec(
        _artifacts, s.collection.c.project_id, s.collection.c.id, False, CollectionRec.from_row,
        filtered=_artifacts.where(s.collection.c.type == ARG),
    ),
    ListName.PROJECT_MODELS: ListSpec(
        s.select_collections().where(s.collection.c.kind == "model"),
        s.collection.c.project_id, s.collection.c.id, False, CollectionRec.from_row,
    ),
    ListName.ARTIFACT_VERSIONS: ListSpec(
        s.select_versions().where(s.version.c.state != "DELETED"),
        s.version.c.artifact_id, s.version.c.index, True, VersionRec.from_row,
    ),
    ListName.VERSION_FILES: ListSpec(
        sa.select(s.version_file.c.path, s.version_file.c.size, s.version_file.c.sha256),
        s.version_file.c.version_id, s.version_file.c.path, False, FileRec.from_row,
    ),
    ListName.VERSION_USED_BY: _runs_via_edge("v", "r", "used", parent_is_src=True),
    ListName.DATASET_READ_BY: _runs_via_edge("d", "r", "read", parent_is_src=True),
    ListName.DATASET_WRITTEN_BY: _runs_via_edge("r", "d", "wrote", parent_is_src=False),
    ListName.MODEL_VERSIONS: ListSpec(
        s.select_links(), s.link.c.model_id, s.link.c.index, True, LinkRec.from_row
    ),
    ListName.MODEL_HISTORY: ListSpec(
        sa.select(s.event), s.event.c.collection_id, s.event.c.id, True, EventRec.from_row
    ),
    ListName.COMMENTS: ListSpec(sa.select(s.comment), s.comment.c.target, s.comment.c.id, False, CommentRec.from_row),
    # Fail closed: with no alias bound, no moves at all (never every event of the collection).
    ListName.ALIAS_HISTORY: ListSpec(
        sa.select(s.event).where(sa.false()), s.event.c.collection_id, s.event.c.id, True, EventRec.from_row,
        filtered=sa.select(s.event).where(s.event.c.alias == ARG, s.event.c.kind.in_(ALIAS_MOVES)),
    ),
    ListName.WEBHOOK_DELIVERIES: ListSpec(
        sa.select(s.delivery), s.delivery.c.webhook_id, s.delivery.c.id, True, DeliveryRec.from_row
    ),
    ListName.EVENTS: ListSpec(
        sa.select(s.event), None, s.event.c.id, False, EventRec.from_row,
        filtered=sa.select(s.event).where(s.event.c.project == ARG),
    ),
    ListName.EVENTS_IN: _only_bound(s.event, s.event.c.project_id, EventRec.from_row),
    # Registry events (tokens made or revoked) have no project: this is the log as a non-admin global reader sees it.
    ListName.EVENTS_OF_PROJECTS: ListSpec(
        sa.select(s.event).where(s.event.c.project_id.is_not(None)), None, s.event.c.id, False, EventRec.from_row,
    ),
}

assert set(LISTS) == set(ListName), "every ListName needs a ListSpec"


async def pages_of(
    conn: Conn, name: ListName, parents: Sequence[Hashable], *, first: int, after: Any, arg: Any = None
) -> dict[Hashable, Page[Any]]:
    """A page of list ``name`` for each parent (a root list answers the same page for every "parent")."""
    spec = LISTS[name]
    stmt, params = spec.statement(arg)
    if spec.parent is None:
        page = await pages.fetch_page(
            conn, stmt, key=spec.key, first=first, after=after, descending=spec.descending, build=spec.build,
            params=params,
        )
        return {p: page for p in parents}
    return await pages.fetch_pages(
        conn, stmt, parent=spec.parent, parents=parents, key=spec.key, first=first, after=after,
        descending=spec.descending, build=spec.build, params=params,
    )


async def counts_of(conn: Conn, name: ListName, parents: Sequence[Hashable], *, arg: Any = None) -> dict[Hashable, int]:
    """``totalCount`` of list ``name`` for each parent, in one grouped statement."""
    spec = LISTS[name]
    stmt, params = spec.statement(arg)
    if spec.parent is None:
        total = int((await conn.execute(sa.select(sa.func.count()).select_from(stmt.subquery()), params)).scalar_one())
        return {p: total for p in parents}
    return await pages.count_by_parent(conn, stmt, spec.parent, parents, params)
