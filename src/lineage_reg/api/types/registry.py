"""Project, Artifact, ArtifactVersion, File, RegisteredModel, ModelLink and Alias types."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from ... import ids, refs
from ...errors import NotFound
from ...services import reads
from ...records import AliasRec, CollectionRec, FileRec, LinkRec, ProjectRec, VersionRec
from ..context import Info
from ..relay import Connection, connection
from .common import JSON, Node, VersionState
from .lineage import LineageField
from .runs import Run

if TYPE_CHECKING:
    from .events import Event


@strawberry.type
class Project(Node):
    id: strawberry.ID
    name: str
    description: str | None
    created_at: datetime
    _rec: strawberry.Private[ProjectRec]

    @classmethod
    def of(cls, rec: ProjectRec) -> Project:
        return cls(id=strawberry.ID(ids.encode("Project", rec.id)), name=rec.name, description=rec.description,
                   created_at=rec.created_at, _rec=rec)

    @strawberry.field(description="Runs, newest first.")
    async def runs(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[Run]:
        return await connection(info, "project.runs", self._rec.id, Run.of, first=first, after=after)

    @strawberry.field
    async def artifacts(
        self, info: Info, type: str | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[Artifact]:
        return await connection(info, "project.artifacts", self._rec.id, Artifact.of, first=first, after=after, arg=type)

    @strawberry.field
    async def registered_models(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[RegisteredModel]:
        return await connection(info, "project.models", self._rec.id, RegisteredModel.of, first=first, after=after)


async def _aliases(info: Info, coll: CollectionRec) -> list[Alias]:
    found: list[AliasRec] = await info.context.loaders.aliases_of_collection.load(coll.id)
    protected = await info.context.loaders.protected_aliases.load((coll.project_id, coll.id)) if found else ()
    return [Alias(name=a.name, protected=a.name in protected, _version_id=a.version_id) for a in found]


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
        return await connection(info, "artifact.versions", self._rec.id, ArtifactVersion.of, first=first, after=after)

    @strawberry.field(description="A version by `v3`, an alias such as `latest`, or a digest prefix.")
    async def version(self, info: Info, ref: str) -> ArtifactVersion | None:
        return await _version_in(info, self._rec, ref)

    @strawberry.field
    async def aliases(self, info: Info) -> list[Alias]:
        return await _aliases(info, self._rec)


async def _version_in(info: Info, coll: CollectionRec, selector: str) -> ArtifactVersion | None:
    text = f"{coll.ref}{selector}" if selector.startswith("@") else f"{coll.ref}:{selector}"
    refs.parse_selector(refs.CollectionRef(coll.project, coll.name), selector)
    try:
        return ArtifactVersion.of(await reads.resolve(info.context.rt, text))
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

        return await connection(info, "version.files", self._rec.id, convert, first=first, after=after)

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
        return await connection(info, "version.usedBy", self._rec.id, Run.of, first=first, after=after)

    @strawberry.field(description="Registered models this version is linked into.")
    async def links(self, info: Info) -> list[ModelLink]:
        return [ModelLink.of(link) for link in await info.context.loaders.links_of_version.load(self._rec.id)]


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
        return await connection(info, "model.versions", self._rec.id, ModelLink.of, first=first, after=after)

    @strawberry.field(description="The link that holds this alias, or null.")
    async def alias(self, info: Info, name: str) -> ModelLink | None:
        refs.check_alias(name)
        version = await _version_in(info, self._rec, name)
        if version is None:
            return None
        for link in await info.context.loaders.links_of_version.load(version._rec.id):
            if link.model_id == self._rec.id:
                return ModelLink.of(link)
        return None

    @strawberry.field
    async def aliases(self, info: Info) -> list[Alias]:
        return await _aliases(info, self._rec)

    @strawberry.field(description="Every change to this registered model, newest first.")
    async def history(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[Event, strawberry.lazy(".events")]]:
        from .events import Event

        return await connection(info, "model.history", self._rec.id, Event.of, first=first, after=after)


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


@strawberry.type
class Alias:
    name: str
    protected: bool = strawberry.field(description="Only admins may move a protected alias.")
    _version_id: strawberry.Private[int]
    created: bool | None = strawberry.field(default=None, description=(
        "setAlias only (null elsewhere): true when the collection had no alias of this name before, so a new one "
        "was created rather than an existing one moved (a typo'd name does that: see `note`)."))
    note: str | None = strawberry.field(default=None, description=(
        "setAlias only: a sentence for people when `created`, naming the collection's other aliases."))

    @strawberry.field(description="The artifact version the alias points at.")
    async def version(self, info: Info) -> ArtifactVersion:
        return ArtifactVersion.of(await info.context.loaders.version.load(self._version_id))


@strawberry.enum
class FileChange(Enum):
    ADDED = "ADDED"
    REMOVED = "REMOVED"
    CHANGED = "CHANGED"
    UNCHANGED = "UNCHANGED"


@strawberry.type(description="One key across the compared versions; `values[i]` belongs to `versions[i]` "
                 "(null where absent).")
class ComparedValue:
    key: str
    values: list[JSON | None]
    differs: bool


@strawberry.type(description="One path across the compared versions, against the first version.")
class ComparedFile:
    path: str
    change: FileChange
    sha256: list[str | None]
    size: list[float | None]


@strawberry.type(description="Versions side by side: the producing runs' config and metrics, metadata, files.")
class VersionComparison:
    versions: list[ArtifactVersion]
    config: list[ComparedValue]
    metrics: list[ComparedValue] = strawberry.field(
        description="The producing run's summary, else the last logged value of each metric.")
    metadata: list[ComparedValue]
    files: list[ComparedFile]


@strawberry.type(description="A user's role in a project.")
class Member:
    user: str
    role: str
    created_at: datetime
    created_by: str | None

    @classmethod
    def of(cls, row: object) -> Member:
        return cls(user=row.user, role=row.role, created_at=row.created_at,  # type: ignore[attr-defined]
                   created_by=row.created_by)  # type: ignore[attr-defined]


@strawberry.type(description="The aliases only a project's admins may move, for a project or one collection.")
class ProtectedAliases:
    scope: str = strawberry.field(description="The project, or project/name of the collection.")
    names: list[str]
