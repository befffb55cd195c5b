"""Root mutations that edit documentation: model cards, descriptions, a model's name, a version's metadata
(docs/governance.md). ``Mutation`` inherits them."""

from __future__ import annotations

from enum import Enum

import strawberry

from ..services import annotations as annotation_service
from ..services import card_export, find
from ..services import cards as card_service
from ..services import owners
from .context import Info
from .permissions import in_project, may_read, project_reader, project_role
from .types.artifacts import Artifact, ArtifactVersion
from .types.cards import ModelCard
from .types.common import JSON
from .types.models import RegisteredModel


@strawberry.type
class AnnotationMutation:
    @strawberry.mutation(description="Replace the card's markdown and/or structured fields (project member).")
    async def update_model_card(self, info: Info, target: strawberry.ID, markdown: str | None = None,
                                fields: JSON | None = None) -> ModelCard:
        rt = info.context.rt
        granted = await project_role(info, "member", lambda: owners.comment_target(rt, global_id=target))
        return ModelCard.of(await card_service.update(rt, actor=granted.name, target=target, markdown=markdown,
                                                      fields=fields))

    @strawberry.mutation(description="Member: describe or rename a registered model (`project/name`). Its links, "
                         "aliases and history stay; references use the new name at once.")
    async def update_registered_model(self, info: Info, model: str, description: str | None = None,
                                      name: str | None = None) -> RegisteredModel:
        rt = info.context.rt
        granted = await project_role(info, "member", lambda: owners.collection(rt, ref=model))
        rec = await annotation_service.update_model(rt, actor=granted.name, model=model, description=description,
                                                    name=name)
        return RegisteredModel.of(rec)

    @strawberry.mutation(description="Member: change an artifact's description.")
    async def update_artifact(self, info: Info, artifact: str, description: str | None = None) -> Artifact:
        rt = info.context.rt
        granted = await project_role(info, "member", lambda: owners.collection(rt, ref=artifact))
        rec = await annotation_service.update_artifact(rt, actor=granted.name, artifact=artifact,
                                                       description=description)
        return Artifact.of(rec)

    @strawberry.mutation(description="Editable annotations of a version; its files and digest never change.")
    async def update_artifact_version(self, info: Info, version: str, description: str | None = None,
                                      metadata: JSON | None = None) -> ArtifactVersion:
        rt = info.context.rt
        granted = await project_role(info, "member", lambda: owners.version(rt, ref=version))
        rec = await annotation_service.update_version(rt, actor=granted.name, version=version,
                                                      description=description, metadata=metadata)
        return ArtifactVersion.of(rec)


@strawberry.enum
class CardFormat(Enum):
    HUGGINGFACE = "HUGGINGFACE"
    MARKDOWN = "MARKDOWN"


@strawberry.type
class AnnotationQuery:
    @strawberry.field(description="The card as a document: HUGGINGFACE = README.md with YAML front matter "
                      "(model-index from version metrics, datasets from lineage, base_model from upstream versions); "
                      "MARKDOWN = the card as written.")
    async def export_model_card(self, info: Info, ref: str, format: CardFormat = CardFormat.HUGGINGFACE) -> str:
        rt = info.context.rt
        actor = await project_reader(info, lambda: owners.version(rt, ref=ref))
        in_project(actor, (await find.resolve(rt, ref=ref)).project_id)  # a model may link another project's
        return await card_export.export(rt, ref=ref, format=format.value,
                                        readable=lambda project_id: may_read(actor, project_id))
