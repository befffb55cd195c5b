"""Root mutations: check access, call one service, map the result. No logic lives here."""

from __future__ import annotations

import strawberry

from ..services import aliases, models, projects, runs, versions
from ..services import tags as tags_service
from ..services.manifest import FileIn
from .context import Info
from .inputs import CreateArtifactVersionInput, DatasetInput, LinkVersionInput, SetAliasInput, StartRunInput
from .permissions import alias_writer, require, writer
from .types.common import JSON, RunStatus
from .types.registry import Alias, ArtifactVersion, ModelLink, Project, RegisteredModel
from .types.runs import Dataset, Run


@strawberry.type
class UploadTarget:
    sha256: str
    url: str
    method: str
    headers: JSON


@strawberry.type
class CreateVersionPayload:
    version: ArtifactVersion
    uploads: list[UploadTarget] = strawberry.field(description="Blobs the server does not have yet; upload each, then commit.")
    deduplicated: bool = strawberry.field(
        description="True when an identical committed version already existed and was returned."
    )


@strawberry.type
class Mutation:
    @strawberry.mutation
    async def create_project(self, info: Info, name: str, description: str | None = None) -> Project:
        actor = require(info, "admin").name
        return Project.of(await projects.create_project(info.context.rt, actor=actor, name=name, description=description))

    @strawberry.mutation
    async def start_run(self, info: Info, input: StartRunInput) -> Run:
        rec = await runs.start_run(
            info.context.rt, actor=writer(info), project=input.project, name=input.name,
            config=input.config, git_commit=input.git_commit,
        )
        return Run.of(rec)

    @strawberry.mutation
    async def finish_run(
        self, info: Info, run: strawberry.ID, status: RunStatus = RunStatus.FINISHED, summary: JSON | None = None
    ) -> Run:
        rec = await runs.finish_run(info.context.rt, actor=writer(info), run=run, status=status.value, summary=summary)
        return Run.of(rec)

    @strawberry.mutation
    async def log_metrics(self, info: Info, run: strawberry.ID, step: int, metrics: JSON) -> bool:
        return await runs.log_metrics(info.context.rt, actor=writer(info), run=run, step=step, metrics=metrics)

    @strawberry.mutation
    async def use_artifact(self, info: Info, run: strawberry.ID, version: str) -> ArtifactVersion:
        rec = await runs.use_artifact(info.context.rt, actor=writer(info), run=run, version=version)
        return ArtifactVersion.of(rec)

    @strawberry.mutation
    async def use_dataset(self, info: Info, run: strawberry.ID, dataset: DatasetInput, mode: str = "read") -> Dataset:
        rec = await runs.use_dataset(
            info.context.rt, actor=writer(info), run=run, namespace=dataset.namespace, name=dataset.name, mode=mode
        )
        return Dataset.of(rec)

    @strawberry.mutation
    async def create_artifact_version(self, info: Info, input: CreateArtifactVersionInput) -> CreateVersionPayload:
        actor = writer(info)
        for alias in input.aliases or ():
            alias_writer(info, alias)
        created = await versions.create_version(
            info.context.rt, actor=actor, base_url=info.context.base_url, project=input.project,
            artifact=input.artifact, type=input.type,
            files=[FileIn(path=f.path, size=f.size, sha256=f.sha256) for f in input.files],
            metadata=input.metadata, description=input.description, aliases_on_commit=input.aliases, run=input.run,
        )
        uploads = [UploadTarget(sha256=u.sha256, url=u.url, method=u.method, headers=u.headers) for u in created.uploads]
        return CreateVersionPayload(
            version=ArtifactVersion.of(created.version), uploads=uploads, deduplicated=created.deduplicated
        )

    @strawberry.mutation
    async def commit_artifact_version(self, info: Info, version: strawberry.ID) -> ArtifactVersion:
        rec = await versions.commit_version(info.context.rt, actor=writer(info), version=version)
        return ArtifactVersion.of(rec)

    @strawberry.mutation
    async def create_registered_model(
        self, info: Info, project: str, name: str, description: str | None = None
    ) -> RegisteredModel:
        rec = await models.create_registered_model(
            info.context.rt, actor=writer(info), project=project, name=name, description=description
        )
        return RegisteredModel.of(rec)

    @strawberry.mutation
    async def link_version(self, info: Info, input: LinkVersionInput) -> ModelLink:
        actor = writer(info)
        for alias in input.aliases or ():
            alias_writer(info, alias)
        rec = await models.link_version(
            info.context.rt, actor=actor, version=input.version, registered_model=input.registered_model,
            aliases_to_set=input.aliases or (),
        )
        return ModelLink.of(rec)

    @strawberry.mutation
    async def unlink_version(self, info: Info, link: strawberry.ID) -> bool:
        return await models.unlink_version(info.context.rt, actor=require(info, "admin").name, link=link)

    @strawberry.mutation
    async def set_alias(self, info: Info, input: SetAliasInput) -> Alias:
        actor = alias_writer(info, input.alias)
        rec, _, _ = await aliases.set_alias(
            info.context.rt, actor=actor, collection=input.collection, alias=input.alias, version=input.version
        )
        protected = rec.name in info.context.rt.settings.protected_aliases
        return Alias(name=rec.name, protected=protected, _version_id=rec.version_id)

    @strawberry.mutation
    async def remove_alias(self, info: Info, collection: str, alias: str) -> bool:
        actor = alias_writer(info, alias)
        return await aliases.remove_alias(info.context.rt, actor=actor, collection=collection, alias=alias)

    @strawberry.mutation
    async def add_tags(self, info: Info, target: strawberry.ID, tags: list[str]) -> list[str]:
        return await tags_service.change_tags(info.context.rt, actor=writer(info), target=target, add=tags)

    @strawberry.mutation
    async def remove_tags(self, info: Info, target: strawberry.ID, tags: list[str]) -> list[str]:
        return await tags_service.change_tags(info.context.rt, actor=writer(info), target=target, remove=tags)


