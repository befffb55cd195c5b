"""What the SDK hands back for an artifact version, and the GraphQL selection it is built from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

FILE_FIELDS = "edges { node { path size sha256 downloadUrl } } pageInfo { hasNextPage endCursor }"
FILES_PAGE = 500  # the server's default bound on a page
VERSION_FIELDS = f"id ref index digest state size metadata description tags aliases files(first: {FILES_PAGE}) {{ {FILE_FIELDS} }}"
MORE_FILES = (f"query($id: ID!, $after: String) {{ node(id: $id) {{ ... on ArtifactVersion {{ "
              f"files(first: {FILES_PAGE}, after: $after) {{ {FILE_FIELDS} }} }} }} }}")


@dataclass(frozen=True)
class File:
    """One file of a version. ``download_url`` is signed and expires: resolve again for a fresh one."""

    path: str
    size: int
    sha256: str
    download_url: str

    @classmethod
    def of(cls, node: dict[str, Any]) -> File:
        return cls(node["path"], int(node["size"]), node["sha256"], node["downloadUrl"])


@dataclass(frozen=True)
class Version:
    """An artifact version: ``ref`` is canonical (``project/artifact:v3``), ``files`` is complete. ``aliases``
    are the artifact's own (``latest``, ...). Resolved through a registered model (``project/model:production``),
    ``registered_model`` names it, ``model_aliases`` are the model's aliases that point at this version
    (``production``, ``staging``) and ``model_description`` is the model's description; else they are
    None, [] and None."""

    id: str
    ref: str
    index: int
    digest: str
    state: str
    size: int
    metadata: dict[str, Any]
    aliases: list[str]
    files: list[File] = field(default_factory=list)
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    registered_model: str | None = None
    model_aliases: list[str] = field(default_factory=list)
    model_description: str | None = None

    @classmethod
    def of(cls, data: dict[str, Any]) -> Version:
        return cls(id=data["id"], ref=data["ref"], index=data["index"], digest=data["digest"], state=data["state"],
                   size=int(data["size"]), metadata=data["metadata"], aliases=data["aliases"],
                   files=[File.of(e["node"]) for e in data["files"]["edges"]],
                   description=data.get("description"), tags=list(data.get("tags") or []))
