"""What the SDK hands back for an artifact version, and the GraphQL selection it is built from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
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
    # The registry this version came from (``Registry`` or ``AsyncRegistry``): what log_metrics/metrics call.
    owner: Any = field(default=None, repr=False, compare=False)

    @classmethod
    def of(cls, data: dict[str, Any], owner: Any = None) -> Version:
        return cls(id=data["id"], ref=data["ref"], index=data["index"], digest=data["digest"], state=data["state"],
                   size=int(data["size"]), metadata=data["metadata"], aliases=data["aliases"],
                   files=[File.of(e["node"]) for e in data["files"]["edges"]],
                   description=data.get("description"), tags=list(data.get("tags") or []), owner=owner)

    def log_metrics(self, metrics: dict[str, float], *, source: str = "evaluation", at: datetime | None = None,
                    step: int | None = None) -> Any:
        """Record metric values on this version (``{"auc": 0.93}``), from ``source`` ("evaluation",
        "production", or a name of your own); returns the number of points stored. From an ``AsyncRegistry``,
        await it. See docs/metrics.md."""
        return self._registry().log_version_metrics(self, metrics, source=source, at=at, step=step)

    def metrics(self, *, source: str | None = None, names: Sequence[str] | None = None) -> Any:
        """This version's metric series (``[{name, source, latest, count, min, max, mean}]``), every source or
        one; ``training`` is the producing run's. From an ``AsyncRegistry``, await it."""
        return self._registry().version_metrics(self, source=source, names=names)

    def _registry(self) -> Any:
        if self.owner is None:
            raise TypeError("this Version was made by hand: call Registry.log_version_metrics(version, ...) "
                            "or get it from a Registry (resolve, search_versions, log_artifact)")
        return self.owner
