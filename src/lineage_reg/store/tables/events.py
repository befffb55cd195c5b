"""The append-only event log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .types import json_column, time_column




class Event(SQLModel, table=True):
    """Never updated or deleted; ``id`` is the event's sequence number."""

    __tablename__ = "event"
    __table_args__ = (
        sa.Index("ix_event_project_id_id", "project_id", "id"),
        sa.Index("ix_event_collection_id_id", "collection_id", "id"),
        # An alias's moves, newest first: aliasAt and aliasHistory (docs/governance.md).
        sa.Index("ix_event_collection_id_alias_id", "collection_id", "alias", "id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=64)
    actor: str | None = None
    at: datetime = Field(sa_column=time_column())
    project_id: int | None = Field(default=None, foreign_key="project.id")  # None: a registry event
    project: str = Field(max_length=128)  # "" for a registry event
    collection_id: int | None = Field(default=None, foreign_key="collection.id")
    collection: str | None = Field(default=None, max_length=128)
    alias: str | None = Field(default=None, max_length=64)
    from_version_id: int | None = Field(default=None, foreign_key="artifact_version.id")
    to_version_id: int | None = Field(default=None, foreign_key="artifact_version.id")
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
