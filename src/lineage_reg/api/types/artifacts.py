"""Artifact, ArtifactVersion and File types."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from ...list_names import ListName
from ... import ids, refs
from ...errors import NotFound
from ...records import CollectionRec, FileRec, VersionRec
from ...services import find
from ..context import Info
from ..relay import Connection, connection
from .aliases import Alias, aliases_of
from .common import JSON, Node, VersionState
from .lineage import LineageField
from .metrics import MetricRule, MetricSeries, rules_of, version_metric, version_metrics
from .projects import Project
from .runs import Run

if TYPE_CHECKING:
    from .cards import ModelCard
    from .comments import Comment
    from .governance import ApprovalPolicy, PromotionRequest
    from .models import ModelLink


@strawberry.type
class Artifact(Node):
    id: strawberry.ID
    name: str
    type: str
    description: str | None
    tags: list[str]
    created_at: datetime
    _rec: strawberry.Private[CollectionRec]

    @classmethod
    def of(cls, rec: CollectionRec) -> Artifact:
        return cls(id=strawberry.ID(ids.encode("Artifact", rec.id)), name=rec.name, type=rec.type or "",
                   description=rec.description, tags=rec.tags, created_at=rec.created_at, _rec=rec)

    @strawberry.field
    async def project(self, info: Info) -> Project:
        return Project.of(await info.context.loaders.project.load(self._rec.project_id))

    @strawberry.field(description="Versions, newest first; deleted versions are left out.")
    async def versions(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[ArtifactVersion]:
        return await connection(info, ListName.ARTIFACT_VERSIONS, self._rec.id, ArtifactVersion.of, first=first, after=after)

    @strawberry.field(description="A version by `v3`, an alias such as `latest`, or a digest prefix.")
    async def version(self, info: Info, ref: str) -> ArtifactVersion | None:
        return await version_in(info, self._rec, ref)

    @strawberry.field
    async def aliases(self, info: Info) -> list[Alias]:
        return await aliases_of(info, self._rec)

    @strawberry.field(description="Metric rules watching this artifact's aliases (docs/metrics.md).")
    async def metric_rules(self, info: Info) -> list[MetricRule]:
        return await rules_of(info, self._rec.id)

    @strawberry.field(description="The approval policies in force on this artifact's aliases, one per alias (its own, "
                      "else its project's); see docs/governance.md.")
    async def approval_policies(self, info: Info) -> list[Annotated[ApprovalPolicy, strawberry.lazy(".governance")]]:
        from .governance import policies_of

        return await policies_of(info, self._rec)

    @strawberry.field(description="Promotion requests waiting for review on this artifact, oldest first.")
    async def pending_promotions(self, info: Info
                                 ) -> list[Annotated[PromotionRequest, strawberry.lazy(".governance")]]:
        from .governance import pending_of

        return await pending_of(info, self._rec)


async def version_in(info: Info, coll: CollectionRec, selector: str) -> ArtifactVersion | None:
    """The version of an artifact or registered model that ``selector`` (v3, an alias, @digest) names, or None."""
    text = f"{coll.ref}{selector}" if selector.startswith("@") else f"{coll.ref}:{selector}"
    refs.parse_selector(refs.CollectionRef(coll.project, coll.name), selector)
    try:
        return ArtifactVersion.of(await find.resolve(info.context.rt, ref=text))
    except NotFound:
        return None


@strawberry.type
class File:
    path: str
    size: float
    sha256: str

    @strawberry.field(description="A URL the caller may GET the content from (expires; fetch a fresh one when it does).")
    async def download_url(self, info: Info) -> str:
        return await info.context.rt.blobs.download_url(self.sha256, info.context.base_url)


@strawberry.type
class ArtifactVersion(LineageField, Node):
    id: strawberry.ID
    index: int = strawberry.field(description="0-based index within the artifact; shown as v<index>.")
    ref: str = strawberry.field(description="Canonical reference, e.g. churn/classifier:v3")
    digest: str
    state: VersionState
    size: float
    file_count: int
    metadata: JSON
    description: str | None
    tags: list[str]
    created_at: datetime
    committed_at: datetime | None
    _rec: strawberry.Private[VersionRec]

    @classmethod
    def of(cls, rec: VersionRec) -> ArtifactVersion:
        return cls(
            id=strawberry.ID(ids.encode("ArtifactVersion", rec.id)), index=rec.index, ref=rec.ref, digest=rec.digest,
            state=VersionState(rec.state), size=rec.size, file_count=rec.file_count, metadata=rec.metadata,
            description=rec.description, tags=rec.tags, created_at=rec.created_at, committed_at=rec.committed_at,
            _rec=rec,
        )

    @strawberry.field
    async def artifact(self, info: Info) -> Artifact:
        return Artifact.of(await info.context.loaders.collection.load(self._rec.artifact_id))

    @strawberry.field
    async def files(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[File]:

        def convert(f: FileRec) -> File:
            return File(path=f.path, size=f.size, sha256=f.sha256)

        return await connection(info, ListName.VERSION_FILES, self._rec.id, convert, first=first, after=after)

    @strawberry.field(description="Aliases held in the artifact's own sequence (latest, …).")
    async def aliases(self, info: Info) -> list[str]:
        return await info.context.loaders.alias_names.load((self._rec.artifact_id, self._rec.id))

    @strawberry.field(description="The run that produced this version, if one was named.")
    async def created_by(self, info: Info) -> Run | None:
        if self._rec.run_id is None:
            return None
        rec = await info.context.loaders.run.load(self._rec.run_id)
        return Run.of(rec) if rec else None

    @strawberry.field(description="Runs that used this version, newest first.")
    async def used_by(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[Run]:
        return await connection(info, ListName.VERSION_USED_BY, self._rec.id, Run.of, first=first, after=after)

    @strawberry.field(description="Registered models this version is linked into.")
    async def links(self, info: Info) -> list[Annotated[ModelLink, strawberry.lazy(".models")]]:
        from .models import ModelLink

        return [ModelLink.of(link) for link in await info.context.loaders.links_of_version.load(self._rec.id)]

    @strawberry.field(description="The version's metric series: from `source` only (null: every source, training "
                      "last), and of `names` only (null: all). See docs/metrics.md.")
    async def metrics(self, info: Info, source: str | None = None,
                      names: list[str] | None = None) -> list[MetricSeries]:
        return await version_metrics(info, self._rec, source=source, names=names)

    @strawberry.field(description="The latest value of one metric; source null = evaluation, then production, "
                      "then training.")
    async def metric(self, info: Info, name: str, source: str | None = None) -> float | None:
        return await version_metric(info, self._rec, name=name, source=source)

    @strawberry.field(description="The version's own model card (docs/governance.md).")
    async def card(self, info: Info) -> Annotated[ModelCard, strawberry.lazy(".cards")]:
        from .cards import card_of

        return await card_of(info, "ArtifactVersion", self._rec.id, self._rec.project_id)

    @strawberry.field(description="Comments on this version, oldest first.")
    async def comments(self, info: Info, first: int | None = None, after: str | None = None
                       ) -> Connection[Annotated[Comment, strawberry.lazy(".comments")]]:
        from .comments import comments_of

        return await comments_of(info, "ArtifactVersion", self._rec.id, first=first, after=after)
