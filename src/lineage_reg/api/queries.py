"""Root query fields: thin lookups that check access and map records to types."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated

import strawberry

from ..list_names import ListName
from .. import ids, refs
from ..services import compare, find, owners, webhooks
from ..services import members as member_service
from .context import Info
from .annotations import AnnotationQuery
from .governance import GovernanceQuery
from .types.comments import Comment
from .types.governance import PromotionRequest
from .access import project_scope
from ..services.actors import Actor
from ..records import EventRec
from .permissions import actor_of, in_project, may_read, may_read_event, project_reader, project_role
from .relay import Connection, connection
from .types.common import LineageDirection, LineageNodeKind, Node
from .types.events import Event
from .types.metrics import MetricRule
from .types.lineage import LINEAGE_DOC, ImpactHit, LineageGraph, impact_hits, lineage_graph, lineage_path
from .types.artifacts import Artifact, ArtifactVersion
from .types.compare import ComparedFile, ComparedMetricSeries, ComparedValue, FileChange, VersionComparison
from .types.models import ModelLink, RegisteredModel
from .types.projects import Member, Project
from .types.runs import Dataset, Run
from .types.webhooks import Webhook, WebhookDelivery
from .types.search import (
    ModelFilter, RunFilter, RunOrder, VersionFilter, VersionOrder, model_terms, order_keys, run_terms,
    search_connection, version_terms,
)

SEARCH_DOC = ("`filter` and the text `query` (docs/search.md) combined by AND; only what you may read. totalCount "
              "is exact up to 10,000; 10001 means more than 10,000.")

_NODE_LOADERS = {
    "Project": ("project", Project.of),
    "Run": ("run", Run.of),
    "Dataset": ("dataset", Dataset.of),
    "Artifact": ("collection", Artifact.of),
    "RegisteredModel": ("collection", RegisteredModel.of),
    "ArtifactVersion": ("version", ArtifactVersion.of),
    "ModelLink": ("link", ModelLink.of),
    "Event": ("event", Event.of),
    "MetricRule": ("metric_rule", MetricRule.of),
    "PromotionRequest": ("promotion_request", PromotionRequest.of),
    "Comment": ("comment", Comment.of),
}


def visible(actor: Actor, rec: object) -> bool:
    if isinstance(rec, EventRec):
        return may_read_event(actor, rec.project_id)  # a registry event: the global admin's alone
    project_id = project_scope(rec)
    return project_id is None or may_read(actor, project_id)


def _compared(rows: list[compare.Compared]) -> list[ComparedValue]:
    return [ComparedValue(key=r.key, values=r.values, differs=r.differs) for r in rows]


@strawberry.type
class Query(GovernanceQuery, AnnotationQuery):
    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        actor = actor_of(info)
        type_name, row_id = ids.decode(id)
        if type_name not in _NODE_LOADERS:
            return None  # ids of admin-only objects are looked up through their own fields
        loader_name, convert = _NODE_LOADERS[type_name]
        rec = await getattr(info.context.loaders, loader_name).load(row_id)
        if rec is None or not visible(actor, rec):
            return None
        if type_name in ("Artifact", "RegisteredModel") and (rec.kind == "artifact") != (type_name == "Artifact"):
            return None
        return convert(rec)  # type: ignore[no-any-return]

    @strawberry.field
    async def project(self, info: Info, name: str) -> Project | None:
        actor = actor_of(info)
        rec = await find.project_named(info.context.rt, name=refs.check_project_name(name))
        return Project.of(rec) if rec and visible(actor, rec) else None

    @strawberry.field
    async def projects(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[Project]:
        actor = actor_of(info)
        if actor.reads_everything:
            return await connection(info, ListName.PROJECTS, None, Project.of, first=first, after=after)
        return await connection(info, ListName.PROJECTS_IN, None, Project.of, first=first, after=after,
                                arg=actor.readable_projects())

    @strawberry.field
    async def run(self, info: Info, id: strawberry.ID) -> Run | None:
        actor = actor_of(info)
        rec = await info.context.loaders.run.load(ids.decode_as(id, "Run"))
        return Run.of(rec) if rec and visible(actor, rec) else None

    @strawberry.field
    async def artifact(self, info: Info, project: str, name: str) -> Artifact | None:
        actor = actor_of(info)
        rec = await find.collection_named(info.context.rt, project=refs.check_project_name(project), name=refs.check_name(name))
        return Artifact.of(rec) if rec and rec.kind == "artifact" and visible(actor, rec) else None

    @strawberry.field
    async def registered_model(self, info: Info, project: str, name: str) -> RegisteredModel | None:
        actor = actor_of(info)
        rec = await find.collection_named(info.context.rt, project=refs.check_project_name(project), name=refs.check_name(name))
        return RegisteredModel.of(rec) if rec and rec.kind == "model" and visible(actor, rec) else None

    @strawberry.field(description="Resolve any reference string to the artifact version it names.")
    async def resolve(self, info: Info, ref: str) -> ArtifactVersion | None:
        actor = await project_reader(info, lambda: owners.version(info.context.rt, ref=ref))
        rec = await find.resolve(info.context.rt, ref=ref)
        in_project(actor, rec.project_id)  # a registered model's link may point into a project it can't read
        return ArtifactVersion.of(rec)

    @strawberry.field(description=LINEAGE_DOC)
    async def lineage(
        self, info: Info, node: strawberry.ID, direction: LineageDirection = LineageDirection.BOTH,
        depth: int | None = 5, limit: int | None = 1000, kinds: list[LineageNodeKind] | None = None,
        skip_runs: bool = False, as_of: datetime | None = None,
    ) -> LineageGraph:
        return await lineage_graph(info, node, direction, depth, limit, kinds, skip_runs, as_of)

    @strawberry.field(
        description="Registered-model links downstream of a node (e.g. a bad dataset), nearest first, optionally "
        "only those holding `alias`. Follows the lineage graph up to 100 hops and 100,000 nodes."
    )
    async def impact(
        self, info: Info, node: strawberry.ID, alias: str | None = None, as_of: datetime | None = None
    ) -> list[ModelLink]:
        return [hit.link for hit in await impact_hits(info, node, alias, as_of)]

    @strawberry.field(description="Like `impact`, with each link's distance and shortest path back to the node.")
    async def impact_paths(
        self, info: Info, node: strawberry.ID, alias: str | None = None, as_of: datetime | None = None
    ) -> list[ImpactHit]:
        return await impact_hits(info, node, alias, as_of)

    @strawberry.field(
        description="One shortest path between two nodes (following edges either way round), or null. "
        "Never enumerates paths."
    )
    async def lineage_path(
        self, info: Info, from_: Annotated[strawberry.ID, strawberry.argument(name="from")], to: strawberry.ID,
        as_of: datetime | None = None,
    ) -> LineageGraph | None:
        return await lineage_path(info, from_, to, as_of)

    @strawberry.field(description="The event log, oldest first; `after` is an event's sequence. Registry events "
                      "(`token.created`, `token.revoked`: no project) are listed to global admins only.")
    async def events(
        self, info: Info, project: str | None = None, after: float | None = None, first: int | None = None
    ) -> Connection[Event]:
        actor = actor_of(info)
        cursor = ids.encode_cursor(ids.sequence(after)) if after is not None else None
        if project is not None:
            refs.check_project_name(project)
            await project_reader(info, lambda: owners.project(info.context.rt, name=project))  # type: ignore[arg-type]
        elif not actor.reads_everything:
            return await connection(info, ListName.EVENTS_IN, None, Event.of, first=first, after=cursor,
                                    arg=actor.readable_projects())
        elif not actor.has("admin"):  # registry events (tokens made or revoked) are the global admin's alone
            return await connection(info, ListName.EVENTS_OF_PROJECTS, None, Event.of, first=first, after=cursor)
        return await connection(info, ListName.EVENTS, None, Event.of, first=first, after=cursor, arg=project)

    @strawberry.field(description="2-10 versions (references or ids) side by side: the producing runs' config and "
                      "metrics, metadata, and files added/removed/changed against the first.")
    async def compare_versions(self, info: Info, refs: list[str]) -> VersionComparison:
        actor = actor_of(info)
        compare.check_count(refs)
        for ref in refs:  # each one's project first: nothing is looked up below one it can't read
            await project_reader(info, partial(owners.version, info.context.rt, ref=ref))
        c = await compare.compare(info.context.rt, refs=refs)
        for version in c.versions:
            in_project(actor, version.project_id)
        return VersionComparison(
            versions=[ArtifactVersion.of(v) for v in c.versions], config=_compared(c.config),
            metrics=_compared(c.metrics), metadata=_compared(c.metadata),
            files=[ComparedFile(path=f.path, change=FileChange(f.change), sha256=f.sha256, size=f.size)
                   for f in c.files],
            metrics_by_source=[ComparedMetricSeries(source=s.source, name=s.name, latest=s.latest, mean=s.mean,
                                                    count=s.count, differs=s.differs) for s in c.series],
        )

    @strawberry.field(description="A dataset by namespace and name (or by one of its OpenLineage symlinks).")
    async def dataset(self, info: Info, namespace: str, name: str) -> Dataset | None:
        actor_of(info)  # datasets belong to no project: any reader may see them
        rec = await find.dataset_named(info.context.rt, namespace=namespace, name=name)
        return Dataset.of(rec) if rec else None

    @strawberry.field(description="Admin: a project's webhooks.")
    async def webhooks(self, info: Info, project: str) -> list[Webhook]:
        await project_role(info, "admin", lambda: owners.project(info.context.rt, name=project))
        return [Webhook.of(rec) for rec in await webhooks.webhooks_of(info.context.rt, project=project)]

    @strawberry.field(description="Admin: one webhook's deliveries, newest first.")
    async def deliveries(self, info: Info, webhook: strawberry.ID, first: int | None = None,
                         after: str | None = None) -> Connection[WebhookDelivery]:
        await project_role(info, "admin", lambda: owners.webhook(info.context.rt, global_id=webhook))
        hook = await webhooks.get_webhook(info.context.rt, webhook_id=ids.decode_as(webhook, "Webhook"))
        convert = partial(WebhookDelivery.of, project_id=hook.project_id)
        return await connection(info, ListName.WEBHOOK_DELIVERIES, hook.id, convert, first=first, after=after)

    @strawberry.field(description="Who has which role in a project (its viewers may see this).")
    async def members(self, info: Info, project: str) -> list[Member]:
        rt = info.context.rt
        project_id = (await project_role(info, "viewer", lambda: owners.project(rt, name=project))).project_id
        return [Member.of(row) for row in await member_service.members_of(rt, project_id=project_id)]

    @strawberry.field(description="Versions matching a filter, newest first unless `orderBy` says otherwise (the "
                      "id breaks ties). " + SEARCH_DOC)
    async def search_versions(
        self, info: Info, filter_: Annotated[VersionFilter | None, strawberry.argument(name="filter")] = None,
        query: str | None = None, order_by: list[VersionOrder] | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[ArtifactVersion]:
        return await search_connection(info, "versions", version_terms(filter_), query, order_keys(order_by),
                                       ArtifactVersion.of, first=first, after=after)

    @strawberry.field(description="Registered models matching a filter, newest first. " + SEARCH_DOC)
    async def search_registered_models(
        self, info: Info, filter_: Annotated[ModelFilter | None, strawberry.argument(name="filter")] = None,
        query: str | None = None, first: int | None = None, after: str | None = None,
    ) -> Connection[RegisteredModel]:
        return await search_connection(info, "models", model_terms(filter_), query, [], RegisteredModel.of,
                                       first=first, after=after)

    @strawberry.field(description="Runs matching a filter, newest first unless `orderBy` says otherwise. "
                      + SEARCH_DOC)
    async def search_runs(
        self, info: Info, filter_: Annotated[RunFilter | None, strawberry.argument(name="filter")] = None,
        query: str | None = None, order_by: list[RunOrder] | None = None, first: int | None = None,
        after: str | None = None,
    ) -> Connection[Run]:
        return await search_connection(info, "runs", run_terms(filter_), query, order_keys(order_by), Run.of,
                                       first=first, after=after)
