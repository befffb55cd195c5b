"""RegisteredModel and ModelLink types."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from ...list_names import ListName
from ... import ids, refs
from ...records import CollectionRec, LinkRec
from ..context import Info
from ..relay import Connection, connection
from .aliases import Alias, aliases_of
from .artifacts import ArtifactVersion, version_in
from .common import Node
from .metrics import MetricRule, rules_of
from .projects import Project

if TYPE_CHECKING:
    from .cards import ModelCard
    from .comments import Comment
    from .governance import ApprovalPolicy, PromotionRequest
    from .events import Event


@strawberry.type
class RegisteredModel(Node):
    id: strawberry.ID
    name: str
    description: str | None
    tags: list[str]
    created_at: datetime
    _rec: strawberry.Private[CollectionRec]

    @classmethod
    def of(cls, rec: CollectionRec) -> RegisteredModel:
        return cls(id=strawberry.ID(ids.encode("RegisteredModel", rec.id)), name=rec.name,
                   description=rec.description, tags=rec.tags, created_at=rec.created_at, _rec=rec)

    @strawberry.field
    async def project(self, info: Info) -> Project:
        return Project.of(await info.context.loaders.project.load(self._rec.project_id))

    @strawberry.field(description="Links, newest first.")
    async def versions(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[ModelLink]:
        return await connection(info, ListName.MODEL_VERSIONS, self._rec.id, ModelLink.of, first=first, after=after)

    @strawberry.field(description="The link that holds this alias, or null.")
    async def alias(self, info: Info, name: str) -> ModelLink | None:
        refs.check_alias(name)
        version = await version_in(info, self._rec, name)
        if version is None:
            return None
        for link in await info.context.loaders.links_of_version.load(version._rec.id):
            if link.model_id == self._rec.id:
                return ModelLink.of(link)
        return None

    @strawberry.field
    async def aliases(self, info: Info) -> list[Alias]:
        return await aliases_of(info, self._rec)

    @strawberry.field(description="Metric rules watching this registered model's aliases (docs/metrics.md).")
    async def metric_rules(self, info: Info) -> list[MetricRule]:
        return await rules_of(info, self._rec.id)

    @strawberry.field(description="Its model card (docs/governance.md).")
    async def card(self, info: Info) -> Annotated[ModelCard, strawberry.lazy(".cards")]:
        from .cards import card_of

        return await card_of(info, "RegisteredModel", self._rec.id, self._rec.project_id)

    @strawberry.field(description="Comments on this registered model, oldest first.")
    async def comments(self, info: Info, first: int | None = None, after: str | None = None
                       ) -> Connection[Annotated[Comment, strawberry.lazy(".comments")]]:
        from .comments import comments_of

        return await comments_of(info, "RegisteredModel", self._rec.id, first=first, after=after)

    @strawberry.field(description="The approval policies in force on this registered model's aliases, one per alias (its own, "
                      "else its project's); see docs/governance.md.")
    async def approval_policies(self, info: Info) -> list[Annotated[ApprovalPolicy, strawberry.lazy(".governance")]]:
        from .governance import policies_of

        return await policies_of(info, self._rec)

    @strawberry.field(description="Promotion requests waiting for review on this registered model, oldest first.")
    async def pending_promotions(self, info: Info
                                 ) -> list[Annotated[PromotionRequest, strawberry.lazy(".governance")]]:
        from .governance import pending_of

        return await pending_of(info, self._rec)

    @strawberry.field(description="Every change to this registered model, newest first.")
    async def history(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[Event, strawberry.lazy(".events")]]:
        from .events import Event

        return await connection(info, ListName.MODEL_HISTORY, self._rec.id, Event.of, first=first, after=after)


@strawberry.type(description="An artifact version linked into a registered model.")
class ModelLink(Node):
    id: strawberry.ID
    index: int = strawberry.field(description="0-based index within the registered model.")
    ref: str
    linked_at: datetime
    linked_by: str | None
    _rec: strawberry.Private[LinkRec]

    @classmethod
    def of(cls, rec: LinkRec) -> ModelLink:
        return cls(id=strawberry.ID(ids.encode("ModelLink", rec.id)), index=rec.index, ref=rec.ref,
                   linked_at=rec.linked_at, linked_by=rec.linked_by, _rec=rec)

    @strawberry.field
    async def registered_model(self, info: Info) -> RegisteredModel:
        return RegisteredModel.of(await info.context.loaders.collection.load(self._rec.model_id))

    @strawberry.field
    async def version(self, info: Info) -> ArtifactVersion:
        return ArtifactVersion.of(await info.context.loaders.version.load(self._rec.version_id))

    @strawberry.field(description="Aliases this link holds in its registered model.")
    async def aliases(self, info: Info) -> list[str]:
        return await info.context.loaders.alias_names.load((self._rec.model_id, self._rec.version_id))
