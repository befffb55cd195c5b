"""Webhook and WebhookDelivery types: for the admins of the webhook's project (a global admin is one)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from functools import partial

import strawberry

from ...list_names import ListName
from ... import ids
from ...records import DeliveryRec, WebhookRec
from ..context import Info
from ..permissions import actor_of, in_project
from ..relay import Connection, connection
from .events import Event


@strawberry.enum
class DeliveryStatus(Enum):
    PENDING = "PENDING"
    DELIVERED = "DELIVERED"
    FAILED = "FAILED"


@strawberry.type(description="One event (or ping) sent to one webhook, at least once, retried with backoff.")
class WebhookDelivery:
    id: strawberry.ID
    kind: str = strawberry.field(description="The event kind, or `ping`.")
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None = strawberry.field(description="When the next attempt is due (PENDING only).")
    delivered_at: datetime | None
    last_status_code: int | None = strawberry.field(description="HTTP status of the last attempt; null if none came back.")
    last_latency_ms: float | None
    last_error: str | None
    _rec: strawberry.Private[DeliveryRec]
    _project_id: strawberry.Private[int]  # the webhook's project: its admins may read what was delivered

    @classmethod
    def of(cls, rec: DeliveryRec, *, project_id: int) -> WebhookDelivery:
        return cls(
            id=strawberry.ID(ids.encode("WebhookDelivery", rec.id)), kind=rec.kind, status=DeliveryStatus(rec.status),
            attempts=rec.attempts, created_at=rec.created_at,
            next_attempt_at=rec.next_attempt_at if rec.status == "PENDING" else None, delivered_at=rec.delivered_at,
            last_status_code=rec.last_status_code, last_latency_ms=rec.last_latency_ms, last_error=rec.last_error,
            _rec=rec, _project_id=project_id,
        )

    @strawberry.field(description="The event delivered; null for a ping.")
    async def event(self, info: Info) -> Event | None:
        in_project(actor_of(info), self._project_id, "admin")
        if self._rec.event_id is None:
            return None
        rec = await info.context.loaders.event.load(self._rec.event_id)
        return Event.of(rec) if rec else None


@strawberry.type(description="POSTs matching events, signed with HMAC-SHA256, to a URL. See docs/events.md.")
class Webhook:
    id: strawberry.ID
    project: str
    url: str
    kinds: list[str]
    collection: str | None = strawberry.field(description="project/name: only events of this collection.")
    alias_pattern: str | None = strawberry.field(description="Glob on the alias (e.g. `prod*`): only alias events.")
    active: bool
    created_at: datetime
    created_by: str | None
    _rec: strawberry.Private[WebhookRec]

    @classmethod
    def of(cls, rec: WebhookRec) -> Webhook:
        return cls(
            id=strawberry.ID(ids.encode("Webhook", rec.id)), project=rec.project, url=rec.url, kinds=rec.kinds,
            collection=f"{rec.project}/{rec.collection}" if rec.collection else None,
            alias_pattern=rec.alias_pattern, active=rec.active, created_at=rec.created_at,
            created_by=rec.created_by, _rec=rec,
        )

    @strawberry.field(description="Deliveries, newest first.")
    async def deliveries(self, info: Info, first: int | None = None,
                         after: str | None = None) -> Connection[WebhookDelivery]:
        in_project(actor_of(info), self._rec.project_id, "admin")
        convert = partial(WebhookDelivery.of, project_id=self._rec.project_id)
        return await connection(info, ListName.WEBHOOK_DELIVERIES, self._rec.id, convert, first=first, after=after)
