"""API tokens; only a hash of each secret is stored."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from .types import time_column


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
