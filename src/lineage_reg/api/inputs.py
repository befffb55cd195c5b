"""Mutation input types, named as in the API contract."""

from __future__ import annotations

from datetime import datetime

import strawberry

from .types.common import JSON


@strawberry.input
class FileInput:
    path: str
    size: float
    sha256: str


@strawberry.input
class CreateArtifactVersionInput:
    project: str
    artifact: str
    type: str
    files: list[FileInput]
    metadata: JSON | None = None
    description: str | None = None
    aliases: list[str] | None = strawberry.field(default=None, description="Aliases to set on commit, besides latest.")
    run: strawberry.ID | None = strawberry.field(default=None, description="Global id of the run that produced it.")


@strawberry.input
class StartRunInput:
    project: str
    name: str | None = None
    config: JSON | None = None
    git_commit: str | None = None


@strawberry.input
class LinkVersionInput:
    version: str = strawberry.field(description="Reference or global id of the artifact version.")
    registered_model: str = strawberry.field(description="project/registered-model; created if missing.")
    aliases: list[str] | None = None


@strawberry.input
class SetAliasInput:
    collection: str = strawberry.field(description="project/registered-model or project/artifact")
    alias: str
    version: str = strawberry.field(description="Reference or global id of the version to point at.")


@strawberry.input
class CompletedPartInput:
    number: int
    etag: str


@strawberry.input
class DatasetInput:
    namespace: str
    name: str


@strawberry.input
class CreateWebhookInput:
    project: str
    url: str = strawberry.field(description="http(s) URL that receives a POST per matching event.")
    kinds: list[str] = strawberry.field(description="Event kinds to send, e.g. [\"alias.set\", \"alias.removed\"].")
    secret: str = strawberry.field(description="16-256 characters; the HMAC-SHA256 key for X-LineageReg-Signature. "
                                   "Never returned by the API.")
    collection: str | None = strawberry.field(default=None, description="project/name: only this collection's events.")
    alias_pattern: str | None = strawberry.field(default=None, description="Glob on the alias, e.g. `production`.")


@strawberry.input
class UpdateWebhookInput:
    id: strawberry.ID
    url: str | None = None
    kinds: list[str] | None = None
    secret: str | None = None
    collection: str | None = strawberry.field(default=None, description="\"\" removes the collection filter.")
    alias_pattern: str | None = strawberry.field(default=None, description="\"\" removes the alias filter.")
    active: bool | None = None


@strawberry.input(description="Metric values for one version from one source (logVersionMetricsBatch).")
class VersionMetricsInput:
    version: str = strawberry.field(description="Reference or global id of a committed artifact version.")
    metrics: JSON = strawberry.field(description="name → number")
    source: str = "evaluation"
    at: datetime | None = strawberry.field(default=None, description="When the values were measured; default now.")
    step: int | None = None
