"""Search inputs and enums (docs/search.md), their translation into search terms, and the one resolver body the
three search fields share: access, page size, the service call, the connection."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import Enum
from functools import partial
from typing import Any, TypeVar

import strawberry

from ...filters import Created, FilterOp, JsonTerm, Match, MetricTerm, OrderKey, Term
from ...services import lists, owners, search
from ..context import Info
from ..permissions import actor_of, project_role
from ..relay import Connection, Edge, PageInfo
from .common import JSON, RunStatus, VersionState  # common makes filters.FilterOp a GraphQL enum

T = TypeVar("T")


@strawberry.input(description="A comparison on a dot path into a JSON object (a version's metadata, a run's config).")
class JSONFilter:
    path: str = strawberry.field(description="dot path into metadata, e.g. framework or train.epochs")
    op: FilterOp
    value: JSON | None = None


@strawberry.input(description="The latest value of a metric compared with a number. `source` null: evaluation, "
                  "then production, then training (the producing run's summary).")
class MetricFilter:
    name: str
    source: str | None = None
    op: FilterOp
    value: float


@strawberry.input(description="What searchVersions keeps; every field given must hold.")
class VersionFilter:
    projects: list[str] | None = strawberry.field(default=None, description="null = every project you may read")
    artifact: str | None = strawberry.field(default=None, description="collection name within the project(s)")
    type: str | None = None
    registered_model: str | None = strawberry.field(default=None, description="project/model: versions linked "
                                                    "into it")
    alias: str | None = strawberry.field(default=None, description="holds this alias in its artifact or in a "
                                         "registered model it is linked into")
    states: list[VersionState] | None = strawberry.field(default=None, description="default [COMMITTED]")
    tags_all: list[str] | None = None
    tags_any: list[str] | None = None
    metadata: list[JSONFilter] | None = strawberry.field(default=None, description="all must hold")
    metrics: list[MetricFilter] | None = strawberry.field(default=None, description="all must hold (latest value)")
    created_after: datetime | None = None
    created_before: datetime | None = None
    created_by: str | None = strawberry.field(default=None, description="the user whose token created it")
    text: str | None = strawberry.field(default=None, description="case-insensitive substring of artifact name, "
                                        "description or tags")


@strawberry.enum
class OrderDirection(Enum):
    ASC = "ASC"
    DESC = "DESC"


@strawberry.enum
class VersionOrderField(Enum):
    CREATED_AT = "created_at"
    INDEX = "index"
    SIZE = "size"
    METRIC = "metric"


@strawberry.input(description="One key of a version search's order; the id breaks ties. Versions without the "
                  "metric sort last, whatever the direction.")
class VersionOrder:
    field: VersionOrderField
    direction: OrderDirection = OrderDirection.DESC
    metric: str | None = None
    source: str | None = None


@strawberry.input(description="What searchRegisteredModels keeps; every field given must hold.")
class ModelFilter:
    projects: list[str] | None = None
    tags_all: list[str] | None = None
    tags_any: list[str] | None = None
    alias: str | None = None
    text: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None


@strawberry.input(description="What searchRuns keeps; every field given must hold.")
class RunFilter:
    projects: list[str] | None = None
    statuses: list[RunStatus] | None = None
    config: list[JSONFilter] | None = None
    metrics: list[MetricFilter] | None = strawberry.field(default=None, description="the run's summary values")
    created_after: datetime | None = None
    created_before: datetime | None = None
    created_by: str | None = None
    text: str | None = strawberry.field(default=None, description="case-insensitive substring of the run's name")


@strawberry.enum
class RunOrderField(Enum):
    CREATED_AT = "created_at"
    METRIC = "metric"


@strawberry.input(description="One key of a run search's order (METRIC: the run's summary value).")
class RunOrder:
    field: RunOrderField
    direction: OrderDirection = OrderDirection.DESC
    metric: str | None = None


def _common(f: Any) -> list[Term]:
    terms: list[Term] = []
    if f.projects is not None:
        terms.append(Match("project", tuple(f.projects)))
    if getattr(f, "tags_all", None):
        terms.extend(Match("tag", (t,)) for t in f.tags_all)
    if getattr(f, "tags_any", None) is not None:
        terms.append(Match("tag", tuple(f.tags_any)))
    for field in ("alias", "created_by", "text"):
        if (value := getattr(f, field, None)) is not None:
            terms.append(Match("createdBy" if field == "created_by" else field, (value,)))
    if f.created_after is not None:
        terms.append(Created(FilterOp.GT, f.created_after))
    if f.created_before is not None:
        terms.append(Created(FilterOp.LT, f.created_before))
    for m in getattr(f, "metrics", None) or []:
        terms.append(MetricTerm(m.name, m.source, m.op, m.value))
    return terms


def version_terms(f: VersionFilter | None) -> list[Term]:
    if f is None:
        return []
    terms = _common(f)
    for field, name in (("artifact", "artifact"), ("type", "type"), ("registered_model", "registeredModel")):
        if (value := getattr(f, field)) is not None:
            terms.append(Match(name, (value,)))
    if f.states is not None:
        terms.append(Match("state", tuple(s.value for s in f.states)))
    terms.extend(JsonTerm(tuple(j.path.split(".")), j.op, j.value) for j in f.metadata or [])
    return terms


def model_terms(f: ModelFilter | None) -> list[Term]:
    return [] if f is None else _common(f)


def run_terms(f: RunFilter | None) -> list[Term]:
    if f is None:
        return []
    terms = _common(f)
    if f.statuses is not None:
        terms.append(Match("status", tuple(s.value for s in f.statuses)))
    terms.extend(JsonTerm(tuple(j.path.split(".")), j.op, j.value) for j in f.config or [])
    return terms


def order_keys(order: list[VersionOrder] | list[RunOrder] | None) -> list[OrderKey]:
    return [OrderKey(o.field.value, o.direction is OrderDirection.DESC, o.metric, getattr(o, "source", None))
            for o in order or []]


async def search_connection(
    info: Info, kind: str, terms: list[Term], query: str | None, order: list[OrderKey],
    convert: Callable[[Any], T], *, first: int | None, after: str | None,
) -> Connection[T]:
    """A page of search ``kind``: every project it names checked like the project itself, results and counts
    limited to what the caller may read."""
    actor = actor_of(info)
    rt = info.context.rt
    size = lists.page_size(rt, first=first)
    checked = search.terms_of(kind, terms=terms, query=query)
    for name in search.projects_named(checked):
        await project_role(info, "viewer", partial(owners.project, rt, name=name))
    scope = None if actor.reads_everything else actor.readable_projects()
    spec = search.prepare(kind, terms=checked, order=order, project_ids=scope)
    found = await search.search(rt, spec=spec, first=size, after=after)
    page = found.page
    return Connection(
        edges=[Edge(cursor=c, node=convert(item)) for c, item in zip(found.cursors, page.items, strict=True)],
        page_info=PageInfo(has_next_page=page.has_next, has_previous_page=page.has_previous,
                           start_cursor=found.cursors[0] if found.cursors else None,
                           end_cursor=found.cursors[-1] if found.cursors else None),
        _count=lambda: search.count(rt, spec=spec),
    )
