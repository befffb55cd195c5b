"""Webhooks and their outbox of deliveries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .types import json_column, time_column


class Webhook(SQLModel, table=True):
    __tablename__ = "webhook"
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    collection_id: int | None = Field(default=None, foreign_key="collection.id")
    url: str = Field(max_length=2048)
    kinds: list[str] = Field(default_factory=list, sa_column=json_column())
    alias_pattern: str | None = Field(default=None, max_length=128)
    # The HMAC key must be usable, so it is sealed (encrypted with a key derived
    # from the server's signing key), not hashed; the API never returns it.
    secret_sealed: str = Field(max_length=1024)
    active: bool = True
    created_at: datetime = Field(sa_column=time_column())
    created_by: str | None = Field(default=None, max_length=128)


class WebhookDelivery(SQLModel, table=True):
    """One event (or ping) to one webhook: written in the event's own transaction, sent at least once."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.Index("ix_webhook_delivery_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index("ix_webhook_delivery_webhook_id_id", "webhook_id", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    webhook_id: int = Field(foreign_key="webhook.id")
    event_id: int | None = Field(default=None, foreign_key="event.id")
    kind: str = Field(max_length=64)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    status: str = Field(max_length=16)  # PENDING | DELIVERED | FAILED
    attempts: int = 0
    created_at: datetime = Field(sa_column=time_column())
    next_attempt_at: datetime = Field(sa_column=time_column())
    # A dispatcher holds a delivery until then; another may take it over after.
    lease_until: datetime | None = Field(default=None, sa_column=time_column(nullable=True))
    delivered_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))
    last_status_code: int | None = None
    last_latency_ms: float | None = None
    last_error: str | None = Field(default=None, max_length=512)
