"""Project and Member types."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from ...list_names import ListName
from ... import ids
from ...records import ProjectRec
from ..context import Info
from ..relay import Connection, connection
from .common import Node
from .runs import Run

if TYPE_CHECKING:
    from .artifacts import Artifact
    from .models import RegisteredModel


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
        return await connection(info, ListName.PROJECT_RUNS, self._rec.id, Run.of, first=first, after=after)

    @strawberry.field
    async def artifacts(
        self, info: Info, type: str | None = None, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[Artifact, strawberry.lazy(".artifacts")]]:
        from .artifacts import Artifact

        return await connection(info, ListName.PROJECT_ARTIFACTS, self._rec.id, Artifact.of, first=first, after=after, arg=type)

    @strawberry.field
    async def registered_models(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[RegisteredModel, strawberry.lazy(".models")]]:
        from .models import RegisteredModel

        return await connection(info, ListName.PROJECT_MODELS, self._rec.id, RegisteredModel.of, first=first, after=after)


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
