"""Plain records the store hands to services and services hand to the API.

Shared vocabulary: every layer may import this module; it imports none of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Generic, Self, TypeVar

R = TypeVar("R")


class _Record:
    @classmethod
    def from_row(cls, row: Any) -> Self:
        m = row._mapping
        return cls(**{f.name: m[f.name] for f in fields(cls)})  # type: ignore[arg-type]


@dataclass(slots=True)
class ProjectRec(_Record):
    id: int
    name: str
    description: str | None
    created_at: datetime


@dataclass(slots=True)
class RunRec(_Record):
    id: int
    project_id: int
    name: str
    status: str
    config: dict[str, Any]
    summary: dict[str, Any]
    git_commit: str | None
    created_by: str | None
    created_at: datetime
    finished_at: datetime | None
    external_id: str | None = None
    parent_id: int | None = None
    facets: dict[str, Any] | None = None


@dataclass(slots=True)
class DatasetRec(_Record):
    id: int
    namespace: str
    name: str
    facets: dict[str, Any] | None = None


@dataclass(slots=True)
class CollectionRec(_Record):
    id: int
    project_id: int
    project: str
    name: str
    kind: str  # "artifact" | "model"
    type: str | None
    description: str | None
    tags: list[str]
    created_at: datetime

    @property
    def ref(self) -> str:
        return f"{self.project}/{self.name}"


@dataclass(slots=True)
class VersionRec(_Record):
    id: int
    artifact_id: int
    project: str
    artifact: str
    index: int
    digest: str
    state: str
    size: int
    file_count: int
    metadata: dict[str, Any]
    description: str | None
    tags: list[str]
    run_id: int | None
    created_by: str | None
    created_at: datetime
    committed_at: datetime | None
    project_id: int

    @property
    def ref(self) -> str:
        return f"{self.project}/{self.artifact}:v{self.index}"


@dataclass(slots=True)
class FileRec(_Record):
    path: str
    size: int
    sha256: str


@dataclass(slots=True)
class LinkRec(_Record):
    id: int
    model_id: int
    project: str
    model: str
    version_id: int
    index: int
    linked_at: datetime
    linked_by: str | None
    project_id: int

    @property
    def ref(self) -> str:
        return f"{self.project}/{self.model}:v{self.index}"


@dataclass(slots=True)
class AliasRec(_Record):
    collection_id: int
    name: str
    version_id: int


@dataclass(slots=True)
class EventRec(_Record):
    id: int
    kind: str
    actor: str | None
    at: datetime
    project_id: int | None  # None: a registry event (``event_kinds.REGISTRY_KINDS``), whose ``project`` is ""
    project: str
    collection_id: int | None
    collection: str | None
    alias: str | None
    from_version_id: int | None
    to_version_id: int | None
    payload: dict[str, Any]


@dataclass(slots=True)
class WebhookRec(_Record):
    id: int
    project_id: int
    project: str
    collection_id: int | None
    collection: str | None
    url: str
    kinds: list[str]
    alias_pattern: str | None
    secret_sealed: str
    active: bool
    created_at: datetime
    created_by: str | None


@dataclass(slots=True)
class DeliveryRec(_Record):
    id: int
    webhook_id: int
    event_id: int | None
    kind: str
    payload: dict[str, Any]
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_status_code: int | None
    last_latency_ms: float | None
    last_error: str | None


@dataclass(slots=True)
class MetricSummaryRec(_Record):
    """One series of a version (``version_metric_summary``): the newest point and the running aggregates."""

    version_id: int
    source: str
    name: str
    latest: float | None
    latest_at: datetime | None
    count: int
    min: float | None
    max: float | None
    sum: float | None

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count and self.sum is not None else None


@dataclass(slots=True)
class MetricPointRec(_Record):
    id: int  # the point's id (version metrics) or its step (training: the run's history)
    value: float
    at: datetime
    step: int | None


@dataclass(slots=True)
class MetricRuleRec(_Record):
    id: int
    project_id: int
    project: str
    collection_id: int
    collection: str
    kind: str  # the collection's kind: "artifact" | "model"
    alias: str
    metric: str
    source: str
    op: str
    threshold: float
    window: int
    breached: bool
    breached_version_id: int | None
    last_triggered_at: datetime | None
    created_at: datetime
    created_by: str | None

    @property
    def collection_ref(self) -> str:
        return f"{self.project}/{self.collection}"


@dataclass(slots=True)
class Page(Generic[R]):
    """One page of a keyset-paginated list: the rows, their keys (the cursors), and whether more lie either side."""

    items: list[R]
    keys: list[Any]
    has_next: bool
    has_previous: bool


# Where a client sends a blob's bytes: a blob store makes them, services hand them out, the API shows them.
@dataclass(frozen=True)
class UploadPart:
    number: int  # 1-based
    url: str
    offset: int
    size: int


@dataclass(frozen=True)
class UploadTarget:
    """Where a client sends one blob: one request, or (``parts``) one per slice then ``completeUpload``."""

    sha256: str
    url: str
    method: str = "PUT"
    headers: dict[str, str] = field(default_factory=dict)
    upload_id: str | None = None
    parts: tuple[UploadPart, ...] = ()


@dataclass(slots=True)
class ApprovalPolicyRec(_Record):
    id: int
    project_id: int
    project: str
    collection_id: int | None
    collection: str | None  # None: the project's policy
    alias: str
    required_approvals: int
    approver_role: str
    allow_self_approval: bool
    expires_after_hours: int | None
    updated_at: datetime
    updated_by: str | None

    @property
    def scope_ref(self) -> str:
        """The project, or project/name of the collection: how an argument names where the policy is set."""
        return f"{self.project}/{self.collection}" if self.collection else self.project


PROMOTION_STATES = ("PENDING", "APPLIED", "REJECTED", "CANCELLED", "EXPIRED")


@dataclass(slots=True)
class PromotionRequestRec(_Record):
    id: int
    project_id: int
    project: str
    collection_id: int
    collection: str
    kind: str  # the collection's kind: "artifact" | "model"
    alias: str
    version_id: int
    previous_version_id: int | None
    state: str  # as stored: a PENDING request past expires_at is EXPIRED to every reader (``state_at``)
    reason: str | None
    requested_by: str
    requested_at: datetime
    required_approvals: int
    approver_role: str
    allow_self_approval: bool
    decided_at: datetime | None
    decided_by: str | None
    expires_at: datetime | None

    @property
    def collection_ref(self) -> str:
        return f"{self.project}/{self.collection}"

    def state_at(self, now: datetime) -> str:
        if self.state == "PENDING" and self.expires_at is not None and self.expires_at <= now:
            return "EXPIRED"
        return self.state


@dataclass(slots=True)
class ReviewRec(_Record):
    request_id: int
    reviewer: str
    decision: str  # "APPROVE" | "REJECT"
    comment: str | None
    at: datetime


@dataclass(slots=True)
class CommentRec(_Record):
    id: int
    project_id: int
    target: str  # "v:<version id>", "m:<collection id>", "r:<promotion request id>"
    author: str
    text: str
    at: datetime
    edited_at: datetime | None


@dataclass(slots=True)
class ModelCardRec(_Record):
    target: str  # "m:<collection id>" or "v:<version id>"
    project_id: int
    markdown: str
    fields: dict[str, Any]
    updated_at: datetime | None
    updated_by: str | None
