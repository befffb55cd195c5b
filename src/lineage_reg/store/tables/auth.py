"""API tokens; only a hash of each secret is stored."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from .types import json_column, time_column


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128)
    # sha256 of the secret: tokens are high-entropy, so a slow hash buys nothing.
    secret_hash: str = Field(max_length=64, unique=True)
    role: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=time_column())
    revoked_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))
    expires_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))


class Member(SQLModel, table=True):
    """A user's role in one project (viewer, member or admin); tokens act as their user (the token's name)."""

    __tablename__ = "member"
    project_id: int = Field(foreign_key="project.id", primary_key=True)
    user: str = Field(max_length=128, primary_key=True, index=True)
    role: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=time_column())
    created_by: str | None = Field(default=None, max_length=128)


class ProtectedAliases(SQLModel, table=True):
    """Which aliases only admins move, for a project or one of its collections (the nearest setting wins)."""

    __tablename__ = "protected_aliases"
    scope: str = Field(max_length=32, primary_key=True)  # "p:<project id>" or "c:<collection id>"
    project_id: int = Field(foreign_key="project.id", index=True)
    collection_id: int | None = Field(default=None, foreign_key="collection.id")
    names: list[str] = Field(default_factory=list, sa_column=json_column())
    updated_at: datetime = Field(sa_column=time_column())
    updated_by: str | None = Field(default=None, max_length=128)


class AccessEpoch(SQLModel, table=True):
    """One row whose number goes up with every change that may take access away (a token revoked, a role
    changed or removed): other processes on the same SQLite file read it when its data_version moves, so
    their token caches survive the writes that change nothing about access."""

    __tablename__ = "access_epoch"
    id: int = Field(default=1, primary_key=True)
    n: int = Field(default=0)
