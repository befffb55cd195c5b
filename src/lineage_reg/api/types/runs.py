"""Run and Dataset types."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from ...list_names import ListName
from ... import ids
from ...services import runs as run_service
from ...records import DatasetRec, RunRec
from ..context import Info
from ..relay import Connection, connection
from .common import JSON, Node, RunStatus
from .lineage import LineageField

if TYPE_CHECKING:
    from .artifacts import ArtifactVersion
    from .projects import Project

MAX_METRIC_POINTS = 10_000


@strawberry.type
class MetricPoint:
    key: str
    step: int
    value: float


@strawberry.type
class Run(LineageField, Node):
    id: strawberry.ID
    name: str
    status: RunStatus
    config: JSON
    summary: JSON
    git_commit: str | None
    created_at: datetime
    finished_at: datetime | None
    created_by: str | None
    external_id: str | None = strawberry.field(description="The OpenLineage runId, for runs reported by OpenLineage.")
    facets: JSON = strawberry.field(description="Selected OpenLineage run facets (parent, nominalTime, errorMessage, "
                                    "processing_engine, jobType).")
    _rec: strawberry.Private[RunRec]

    @classmethod
    def of(cls, rec: RunRec) -> Run:
        return cls(
            id=strawberry.ID(ids.encode("Run", rec.id)), name=rec.name, status=RunStatus(rec.status),
            config=rec.config, summary=rec.summary, git_commit=rec.git_commit, created_at=rec.created_at,
            finished_at=rec.finished_at, created_by=rec.created_by, external_id=rec.external_id,
            facets=rec.facets or {}, _rec=rec,
        )

    @strawberry.field(description="The run that started this one (OpenLineage ParentRunFacet).")
    async def parent(self, info: Info) -> Run | None:
        if self._rec.parent_id is None:
            return None
        rec = await info.context.loaders.run.load(self._rec.parent_id)
        return Run.of(rec) if rec else None

    @strawberry.field
    async def project(self, info: Info) -> Annotated[Project, strawberry.lazy(".projects")]:
        from .projects import Project

        return Project.of(await info.context.loaders.project.load(self._rec.project_id))

    async def _versions(self, info: Info, downstream: bool, via: str) -> list[ArtifactVersion]:
        from .artifacts import ArtifactVersion

        loaders = info.context.loaders
        edges = await loaders.neighbours("r", self._rec.id, downstream=downstream, via=via)
        found = await loaders.version.load_many([i for k, i, _ in edges if k == "v"])
        return [ArtifactVersion.of(v) for v in found if v is not None]

    async def _datasets(self, info: Info, downstream: bool, via: str) -> list[Dataset]:
        loaders = info.context.loaders
        edges = await loaders.neighbours("r", self._rec.id, downstream=downstream, via=via)
        found = await loaders.dataset.load_many([i for k, i, _ in edges if k == "d"])
        return [Dataset.of(d) for d in found if d is not None]

    @strawberry.field(description="Artifact versions this run used.")
    async def inputs(self, info: Info) -> list[Annotated[ArtifactVersion, strawberry.lazy(".artifacts")]]:
        return await self._versions(info, False, "used")

    @strawberry.field(description="Artifact versions this run produced.")
    async def outputs(self, info: Info) -> list[Annotated[ArtifactVersion, strawberry.lazy(".artifacts")]]:
        return await self._versions(info, True, "produced")

    @strawberry.field
    async def datasets_read(self, info: Info) -> list[Dataset]:
        return await self._datasets(info, False, "read")

    @strawberry.field
    async def datasets_written(self, info: Info) -> list[Dataset]:
        return await self._datasets(info, True, "wrote")

    @strawberry.field(description="Metric history logged with logMetrics, ordered by key then step.")
    async def metrics(self, info: Info, key: str | None = None, limit: int = 1000) -> list[MetricPoint]:
        limit = max(1, min(limit, MAX_METRIC_POINTS))
        points = await run_service.metric_history(info.context.rt, run_id=self._rec.id, key=key, limit=limit)
        return [MetricPoint(key=k, step=s, value=v) for k, s, v in points]


@strawberry.type
class Dataset(LineageField, Node):
    id: strawberry.ID
    namespace: str
    name: str
    facets: JSON = strawberry.field(description="Selected OpenLineage dataset facets (schema, dataSource, "
                                    "columnLineage, version, symlinks, ...), each from the newest event.")
    _rec: strawberry.Private[DatasetRec]

    @classmethod
    def of(cls, rec: DatasetRec) -> Dataset:
        return cls(id=strawberry.ID(ids.encode("Dataset", rec.id)), namespace=rec.namespace, name=rec.name,
                   facets=rec.facets or {}, _rec=rec)

    @strawberry.field
    async def read_by(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[Run]:
        return await connection(info, ListName.DATASET_READ_BY, self._rec.id, Run.of, first=first, after=after)

    @strawberry.field
    async def written_by(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[Run]:
        return await connection(info, ListName.DATASET_WRITTEN_BY, self._rec.id, Run.of, first=first, after=after)
