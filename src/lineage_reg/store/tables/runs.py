"""Runs, their metric history, and datasets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .types import json_column, time_column


class Run(SQLModel, table=True):
    __tablename__ = "run"
    __table_args__ = (sa.Index("ix_run_project_id_id", "project_id", "id"),)
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    name: str = Field(max_length=128)
    status: str = Field(max_length=16)
    config: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=json_column())
    git_commit: str | None = Field(default=None, max_length=64)
    created_by: str | None = None
    created_at: datetime = Field(sa_column=time_column())
    finished_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))


class Metric(SQLModel, table=True):
    __tablename__ = "metric"
    run_id: int = Field(foreign_key="run.id", primary_key=True)
    key: str = Field(max_length=256, primary_key=True)
    step: int = Field(primary_key=True)
    value: float
    logged_at: datetime = Field(sa_column=time_column())


class Dataset(SQLModel, table=True):
    __tablename__ = "dataset"
    __table_args__ = (sa.UniqueConstraint("namespace", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    namespace: str = Field(max_length=512)
    name: str = Field(max_length=512)
    created_at: datetime = Field(sa_column=time_column())
