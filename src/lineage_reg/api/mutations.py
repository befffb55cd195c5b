"""Root mutations: check access, call one service, map the result. No logic lives here."""

from __future__ import annotations

from datetime import datetime

import strawberry

from .. import ids
from ..errors import BadInput, NotFound
from ..services import aliases, metric_rules, models, projects, protection, runs, versions, webhooks
from ..services import metrics as metric_service
from ..services import blobs as blob_service
from ..services import members as member_service
from ..services import tags as tags_service
from ..services.manifest import FileIn
from .context import Info
from .annotations import AnnotationMutation
from .comments import CommentMutation
from .governance import GovernanceMutation
from .inputs import (
    CompletedPartInput, CreateArtifactVersionInput, CreateWebhookInput, DatasetInput, LinkVersionInput, SetAliasInput,
    StartRunInput, UpdateWebhookInput, VersionMetricsInput,
)
from ..services import owners
from .permissions import global_role, metrics_writer, project_role, role_somewhere
from .types.aliases import Alias, ProtectedAliases
from .types.artifacts import ArtifactVersion
from .types.common import JSON, FilterOp, RunStatus
from .types.metrics import MetricRule
from .types.models import ModelLink, RegisteredModel
from .types.payloads import CreateVersionPayload, UploadTarget
from .types.projects import Member, Project
from .types.runs import Dataset, Run
from .types.webhooks import Webhook, WebhookDelivery


@strawberry.type
class Mutation(GovernanceMutation, CommentMutation, AnnotationMutation):
    @strawberry.mutation
    async def create_project(self, info: Info, name: str, description: str | None = None) -> Project:
        actor = global_role(info, "admin").name
        return Project.of(await projects.create_project(info.context.rt, actor=actor, name=name, description=description))

    @strawberry.mutation
    async def start_run(self, info: Info, input: StartRunInput) -> Run:
        rec = await runs.start_run(
            info.context.rt,
            actor=(await project_role(info, "member", lambda: owners.project(info.context.rt, name=input.project))).name,
            project=input.project, name=input.name, config=input.config, git_commit=input.git_commit,
        )
        return Run.of(rec)

    @strawberry.mutation
    async def finish_run(
        self, info: Info, run: strawberry.ID, status: RunStatus = RunStatus.FINISHED, summary: JSON | None = None
    ) -> Run:
        actor = (await project_role(info, "member", lambda: owners.run(info.context.rt, global_id=run))).name
        rec = await runs.finish_run(info.context.rt, actor=actor, run=run, status=status.value, summary=summary)
        return Run.of(rec)

    @strawberry.mutation
    async def log_metrics(self, info: Info, run: strawberry.ID, step: int, metrics: JSON) -> bool:
        actor = (await project_role(info, "member", lambda: owners.run(info.context.rt, global_id=run))).name
        return await runs.log_metrics(info.context.rt, actor=actor, run=run, step=step, metrics=metrics)

    @strawberry.mutation
    async def use_artifact(self, info: Info, run: strawberry.ID, version: str) -> ArtifactVersion:
        actor = (await project_role(info, "member", lambda: owners.run(info.context.rt, global_id=run))).name
        await project_role(info, "viewer", lambda: owners.version(info.context.rt, ref=version))
        rec = await runs.use_artifact(info.context.rt, actor=actor, run=run, version=version)
        return ArtifactVersion.of(rec)

    @strawberry.mutation
    async def use_dataset(self, info: Info, run: strawberry.ID, dataset: DatasetInput, mode: str = "read") -> Dataset:
        actor = (await project_role(info, "member", lambda: owners.run(info.context.rt, global_id=run))).name
        rec = await runs.use_dataset(
            info.context.rt, actor=actor, run=run, namespace=dataset.namespace, name=dataset.name, mode=mode
        )
        return Dataset.of(rec)

    @strawberry.mutation
    async def create_artifact_version(self, info: Info, input: CreateArtifactVersionInput) -> CreateVersionPayload:
        rt = info.context.rt
        granted = await project_role(info, "member", lambda: owners.project(rt, name=input.project))
        if input.run is not None:
            await project_role(info, "member", lambda: owners.run(rt, global_id=input.run))  # type: ignore[arg-type]
        created = await versions.create_version(
            info.context.rt, actor=granted.name, base_url=info.context.base_url, project=input.project,
            artifact=input.artifact, type=input.type,
            files=[FileIn(path=f.path, size=f.size, sha256=f.sha256) for f in input.files],
            metadata=input.metadata, description=input.description, aliases_on_commit=input.aliases, run=input.run,
            may_move_protected=granted.may_move_protected,
        )
        uploads = [UploadTarget.of(u) for u in created.uploads]
        return CreateVersionPayload(
            version=ArtifactVersion.of(created.version), uploads=uploads, deduplicated=created.deduplicated
        )

    @strawberry.mutation
    async def commit_artifact_version(self, info: Info, version: strawberry.ID) -> ArtifactVersion:
        granted = await project_role(info, "member", lambda: owners.version(info.context.rt, ref=version))
        rec = await versions.commit_version(info.context.rt, actor=granted.name, version=version,
                                            may_move_protected=granted.may_move_protected)
        return ArtifactVersion.of(rec)

    @strawberry.mutation(description="Finish a multipart upload once every part is sent; then commit the version.")
    async def complete_upload(
        self, info: Info, sha256: str, size: float, upload_id: str, parts: list[CompletedPartInput]
    ) -> bool:
        # A blob belongs to no project until a version commits it: any member of any project may finish one.
        role_somewhere(info, "member")
        etags = {p.number: p.etag for p in parts}
        await blob_service.complete_upload(info.context.rt, sha256=sha256, size=size, upload_id=upload_id, etags=etags)
        return True

    @strawberry.mutation(
        description="Soft-delete a version (admin): state DELETED, its aliases removed, events written. "
        "Garbage collection later frees blobs no other version uses."
    )
    async def delete_artifact_version(self, info: Info, version: str) -> ArtifactVersion:
        actor = (await project_role(info, "admin", lambda: owners.version(info.context.rt, ref=version))).name
        rec = await versions.delete_version(info.context.rt, actor=actor, version=version)
        return ArtifactVersion.of(rec)

    @strawberry.mutation
    async def create_registered_model(
        self, info: Info, project: str, name: str, description: str | None = None
    ) -> RegisteredModel:
        actor = (await project_role(info, "member", lambda: owners.project(info.context.rt, name=project))).name
        rec = await models.create_registered_model(
            info.context.rt, actor=actor, project=project, name=name, description=description
        )
        return RegisteredModel.of(rec)

    @strawberry.mutation
    async def link_version(self, info: Info, input: LinkVersionInput) -> ModelLink:
        rt = info.context.rt
        granted = await project_role(info, "member", lambda: owners.collection(rt, ref=input.registered_model))
        await project_role(info, "viewer", lambda: owners.version(rt, ref=input.version))
        rec = await models.link_version(
            info.context.rt, actor=granted.name, version=input.version, registered_model=input.registered_model,
            aliases_to_set=input.aliases or (), may_move_protected=granted.may_move_protected,
        )
        return ModelLink.of(rec)

    @strawberry.mutation
    async def unlink_version(self, info: Info, link: strawberry.ID) -> bool:
        actor = (await project_role(info, "admin", lambda: owners.link(info.context.rt, global_id=link))).name
        return await models.unlink_version(info.context.rt, actor=actor, link=link)

    @strawberry.mutation
    async def set_alias(self, info: Info, input: SetAliasInput) -> Alias:
        rt = info.context.rt
        granted = await project_role(info, "member", lambda: owners.collection(rt, ref=input.collection))
        await project_role(info, "viewer", lambda: owners.version(rt, ref=input.version))
        done = await aliases.set_alias(
            info.context.rt, actor=granted.name, collection=input.collection, alias=input.alias, version=input.version,
            may_move_protected=granted.may_move_protected,
        )
        protected = done.alias.name in await protection.protected_for(rt, collection=input.collection)
        return Alias(name=done.alias.name, protected=protected, _version_id=done.alias.version_id,
                     created=done.created, note=done.note)

    @strawberry.mutation
    async def remove_alias(self, info: Info, collection: str, alias: str) -> bool:
        granted = await project_role(info, "member", lambda: owners.collection(info.context.rt, ref=collection))
        return await aliases.remove_alias(info.context.rt, actor=granted.name, collection=collection, alias=alias,
                                          may_move_protected=granted.may_move_protected)

    @strawberry.mutation
    async def add_tags(self, info: Info, target: strawberry.ID, tags: list[str]) -> list[str]:
        actor = (await project_role(info, "member", lambda: owners.tag_target(info.context.rt, global_id=target))).name
        return await tags_service.change_tags(info.context.rt, actor=actor, target=target, add=tags)

    @strawberry.mutation
    async def remove_tags(self, info: Info, target: strawberry.ID, tags: list[str]) -> list[str]:
        actor = (await project_role(info, "member", lambda: owners.tag_target(info.context.rt, global_id=target))).name
        return await tags_service.change_tags(info.context.rt, actor=actor, target=target, remove=tags)



    @strawberry.mutation(description="Admin: POST matching events to a URL, signed with `secret`. See docs/events.md.")
    async def create_webhook(self, info: Info, input: CreateWebhookInput) -> Webhook:
        actor = (await project_role(info, "admin", lambda: owners.project(info.context.rt, name=input.project))).name
        rec = await webhooks.create_webhook(
            info.context.rt, actor=actor, project=input.project, url=input.url, kinds=input.kinds,
            secret=input.secret, collection=input.collection, alias_pattern=input.alias_pattern,
        )
        return Webhook.of(rec)

    @strawberry.mutation(description="Admin: change a webhook; fields left out stay as they are.")
    async def update_webhook(self, info: Info, input: UpdateWebhookInput) -> Webhook:
        granted = await project_role(info, "admin", lambda: owners.webhook(info.context.rt, global_id=input.id))
        actor = granted.name
        rec = await webhooks.update_webhook(
            info.context.rt, actor=actor, webhook_id=ids.decode_as(input.id, "Webhook"), url=input.url, kinds=input.kinds,
            secret=input.secret, collection=input.collection or None, clear_collection=input.collection == "",
            alias_pattern=input.alias_pattern or None, clear_alias_pattern=input.alias_pattern == "",
            active=input.active,
        )
        return Webhook.of(rec)

    @strawberry.mutation(description="Admin: delete a webhook and its delivery history.")
    async def delete_webhook(self, info: Info, id: strawberry.ID) -> bool:
        granted = await project_role(info, "admin", lambda: owners.webhook(info.context.rt, global_id=id))
        await webhooks.delete_webhook(info.context.rt, actor=granted.name, webhook_id=ids.decode_as(id, "Webhook"))
        return True

    @strawberry.mutation(description="Admin: send a `ping` delivery to test a receiver.")
    async def ping_webhook(self, info: Info, id: strawberry.ID) -> WebhookDelivery:
        granted = await project_role(info, "admin", lambda: owners.webhook(info.context.rt, global_id=id))
        return WebhookDelivery.of(await webhooks.ping(info.context.rt, webhook_id=ids.decode_as(id, "Webhook")),
                                  project_id=granted.project_id)

    @strawberry.mutation(description="Project admin: give USER (the name its tokens were created with) a role in "
                         "the project: viewer, member or admin. Replaces the user's previous role there.")
    async def add_member(self, info: Info, project: str, user: str, role: str = "viewer") -> list[Member]:
        rt = info.context.rt
        granted = await project_role(info, "admin", lambda: owners.project(rt, name=project))
        project_id = granted.project_id
        await member_service.set_member(rt, actor=granted.name, project_id=project_id, user=user, role=role)
        return [Member.of(row) for row in await member_service.members_of(rt, project_id=project_id)]

    @strawberry.mutation(description="Project admin: take USER's role in the project away (global roles stay).")
    async def remove_member(self, info: Info, project: str, user: str) -> list[Member]:
        rt = info.context.rt
        granted = await project_role(info, "admin", lambda: owners.project(rt, name=project))
        project_id = granted.project_id
        if not await member_service.remove_member(rt, actor=granted.name, project_id=project_id, user=user):
            raise NotFound(f"{user!r} is not a member of {project!r}")
        return [Member.of(row) for row in await member_service.members_of(rt, project_id=project_id)]

    @strawberry.mutation(description="Project admin: the aliases only admins may move, for a whole project or one "
                         "artifact / registered model (the nearest setting wins; default: `production`).")
    async def set_protected_aliases(self, info: Info, names: list[str], project: str | None = None,
                                    collection: str | None = None) -> ProtectedAliases:
        rt = info.context.rt
        role_somewhere(info, "admin")
        target = collection if collection is not None else project
        if target is None:
            raise BadInput("give exactly one of project or collection")
        actor = (await project_role(info, "admin", lambda: owners.collection(rt, ref=target) if collection is not None
                                else owners.project(rt, name=target))).name
        shown, protected = await protection.set_protected(rt, actor=actor, project=project, collection=collection,
                                                          names=names)
        return ProtectedAliases(scope=shown, names=list(protected))

    @strawberry.mutation(description="Record metric values for a version (by reference or id). `metrics` maps name "
                         "→ number; `at` defaults to now. Returns the number of points stored. Needs the member "
                         "role in the version's project; see docs/metrics.md.")
    async def log_version_metrics(self, info: Info, version: str, metrics: JSON, source: str = "evaluation",
                                  at: datetime | None = None, step: int | None = None) -> int:
        return await _log_points(info, [metric_service.PointsIn(version=version, metrics=metrics, source=source,
                                                                at=at, step=step)])

    @strawberry.mutation(description="The same for many versions/points in one request (an evaluation sweep, a "
                         f"serving sidecar flushing its buffer): at most {metric_service.MAX_POINTS} points, all "
                         "stored or none.")
    async def log_version_metrics_batch(self, info: Info, points: list[VersionMetricsInput]) -> int:
        return await _log_points(info, [metric_service.PointsIn(version=p.version, metrics=p.metrics,
                                                                source=p.source, at=p.at, step=p.step)
                                        for p in points])

    @strawberry.mutation(description="Project admin: raise a `metric.breached` event when the mean of the last "
                         "`window` points of `metric` (from `source`) for the version currently holding `alias` "
                         "in `collection` satisfies `op threshold`.")
    async def create_metric_rule(self, info: Info, collection: str, alias: str, metric: str,
                                 source: str = "production", *, op: FilterOp, threshold: float,  # type: ignore[valid-type]
                                 window: int = 1) -> MetricRule:
        granted = await project_role(info, "admin", lambda: owners.collection(info.context.rt, ref=collection))
        rec = await metric_rules.create_rule(info.context.rt, actor=granted.name, collection=collection, alias=alias,
                                             metric=metric, source=source, op=str(op.value),  # type: ignore[attr-defined]
                                             threshold=threshold,
                                             window=window)
        return MetricRule.of(rec)

    @strawberry.mutation(description="Project admin: delete a metric rule.")
    async def delete_metric_rule(self, info: Info, id: strawberry.ID) -> bool:
        granted = await project_role(info, "admin", lambda: owners.metric_rule(info.context.rt, global_id=id))
        return await metric_rules.delete_rule(info.context.rt, actor=granted.name,
                                              rule_id=ids.decode_as(id, "MetricRule"))


async def _log_points(info: Info, points: list[metric_service.PointsIn]) -> int:
    role_somewhere(info, "member")  # a caller who may write nowhere learns nothing from the arguments' checks
    if not points:
        return 0
    metric_service.check_points(points)  # before any lookup: a malformed request costs no read
    actor = await metrics_writer(info, [p.version for p in points])
    return await metric_service.log_version_metrics(info.context.rt, actor=actor, points=points)
