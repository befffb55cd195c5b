"""Runs, their metric history, and datasets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .types import json_column, time_column


class Run(SQLModel, table=True):
    __tablename__ = "run"
    __table_args__ = (
        sa.Index("ix_run_project_id_id", "project_id", "id"),
        sa.Index("ix_run_external_id", "external_id", unique=True),
        sa.Index("ix_run_created_at_id", "created_at", "id"),  # searchRuns, newest first
        sa.Index("ix_run_config_gin", "config", postgresql_using="gin",
                 postgresql_ops={"config": "jsonb_path_ops"}).ddl_if(dialect="postgresql"),
    )
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
    # Runs reported by OpenLineage: their runId, the run that started them, and selected run
    # facets, each with the eventTime it came from (the newest wins, whatever the arrival order).
    external_id: str | None = Field(default=None, max_length=64)
    parent_id: int | None = Field(default=None, foreign_key="run.id")
    facets: dict[str, Any] = Field(default_factory=dict, sa_column=json_column(default=dict))
    facet_times: dict[str, str] = Field(default_factory=dict, sa_column=json_column(default=dict))


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
    facets: dict[str, Any] = Field(default_factory=dict, sa_column=json_column(default=dict))
    facet_times: dict[str, str] = Field(default_factory=dict, sa_column=json_column(default=dict))


class DatasetAlias(SQLModel, table=True):
    """Another name of a dataset (OpenLineage `symlinks`): looking up the alias finds the dataset."""

    __tablename__ = "dataset_alias"
    __table_args__ = (sa.UniqueConstraint("namespace", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    namespace: str = Field(max_length=512)
    name: str = Field(max_length=512)
    dataset_id: int = Field(foreign_key="dataset.id", index=True)
