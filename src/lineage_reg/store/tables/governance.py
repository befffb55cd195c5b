"""Approval policies on aliases, promotion requests and their reviews (docs/governance.md)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .types import time_column


class ApprovalPolicy(SQLModel, table=True):
    """Moves of ``alias`` need ``required_approvals`` reviews, for a project or one collection (nearest wins)."""

    __tablename__ = "approval_policy"
    __table_args__ = (sa.UniqueConstraint("scope", "alias"),)
    id: int | None = Field(default=None, primary_key=True)
    scope: str = Field(max_length=32)  # "p:<project id>" or "c:<collection id>", as protected_aliases
    project_id: int = Field(foreign_key="project.id", index=True)
    collection_id: int | None = Field(default=None, foreign_key="collection.id")
    alias: str = Field(max_length=64)
    required_approvals: int
    approver_role: str = Field(max_length=16)
    allow_self_approval: bool = False
    expires_after_hours: int | None = None
    updated_at: datetime = Field(sa_column=time_column())
    updated_by: str | None = Field(default=None, max_length=128)


class PromotionRequest(SQLModel, table=True):
    """"Move ``alias`` of a collection to this version", with the policy it was made under copied in, so a
    policy changed later neither approves nor blocks a request already made.

    ``pending_key`` is set while the request is PENDING and cleared when it leaves that state: its unique index
    is what makes one PENDING request per (collection, alias, version) hold under concurrent requests.
    ``state`` stays PENDING past ``expires_at`` until the sweep (or the next request for the same version)
    records the expiry; every reader computes EXPIRED from ``expires_at`` meanwhile."""

    __tablename__ = "promotion_request"
    __table_args__ = (
        sa.Index("ix_promotion_request_collection_id_id", "collection_id", "id"),
        sa.Index("ix_promotion_request_project_id_id", "project_id", "id"),
        sa.Index("ix_promotion_request_state_expires_at", "state", "expires_at"),
        {"sqlite_autoincrement": True},  # ids are named in events and by bots: never reused
    )
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    collection_id: int = Field(foreign_key="collection.id")
    alias: str = Field(max_length=64)
    version_id: int = Field(foreign_key="artifact_version.id", index=True)
    previous_version_id: int | None = Field(default=None, foreign_key="artifact_version.id")
    state: str = Field(max_length=16)
    pending_key: str | None = Field(default=None, max_length=128, unique=True)
    reason: str | None = None
    requested_by: str = Field(max_length=128)
    requested_at: datetime = Field(sa_column=time_column())
    required_approvals: int
    approver_role: str = Field(max_length=16)
    allow_self_approval: bool = False
    decided_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))
    decided_by: str | None = Field(default=None, max_length=128)
    expires_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))


class PromotionReview(SQLModel, table=True):
    """One reviewer's current decision on a request; a second review replaces the first (both are events)."""

    __tablename__ = "promotion_review"
    request_id: int = Field(foreign_key="promotion_request.id", primary_key=True)
    reviewer: str = Field(max_length=128, primary_key=True)
    decision: str = Field(max_length=8)
    comment: str | None = None
    at: datetime = Field(sa_column=time_column())
