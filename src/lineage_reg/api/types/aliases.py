"""Alias and ProtectedAliases types."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from ...records import AliasRec, CollectionRec
from ..context import Info

if TYPE_CHECKING:
    from .artifacts import ArtifactVersion


async def aliases_of(info: Info, coll: CollectionRec) -> list[Alias]:
    """The aliases of an artifact or registered model, each marked protected or not."""
    found: list[AliasRec] = await info.context.loaders.aliases_of_collection.load(coll.id)
    protected = await info.context.loaders.protected_aliases.load((coll.project_id, coll.id)) if found else ()
    return [Alias(name=a.name, protected=a.name in protected, _version_id=a.version_id) for a in found]


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
    async def version(self, info: Info) -> Annotated[ArtifactVersion, strawberry.lazy(".artifacts")]:
        from .artifacts import ArtifactVersion

        return ArtifactVersion.of(await info.context.loaders.version.load(self._version_id))


@strawberry.type(description="The aliases only a project's admins may move, for a project or one collection.")
class ProtectedAliases:
    scope: str = strawberry.field(description="The project, or project/name of the collection.")
    names: list[str]
