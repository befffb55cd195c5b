"""Comments on versions, registered models and promotion requests (docs/governance.md)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .types import time_column


class Comment(SQLModel, table=True):
    """``target`` names what it is on: "v:<version id>", "m:<collection id>", "r:<promotion request id>"; the list
    of one target's comments, oldest first, is one range of the (target, id) index."""

    __tablename__ = "comment"
    __table_args__ = (
        sa.Index("ix_comment_target_id", "target", "id"),
        {"sqlite_autoincrement": True},  # a deleted comment's id is never another's: events name comments by id
    )
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id", index=True)
    target: str = Field(max_length=32)
    author: str = Field(max_length=128)
    text: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    at: datetime = Field(sa_column=time_column())
    edited_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))
