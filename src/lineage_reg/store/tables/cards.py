"""Model cards: markdown plus structured fields, on a registered model or a version (docs/governance.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .types import json_column, time_column


class ModelCard(SQLModel, table=True):
    """``target``: "m:<collection id>" or "v:<version id>" (as comments). No row: the empty card."""

    __tablename__ = "model_card"
    target: str = Field(max_length=32, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    markdown: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False))
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    updated_at: datetime = Field(sa_column=time_column())
    updated_by: str | None = Field(default=None, max_length=128)
