"""Metrics on versions (evaluation, production, any named source) and the rules that watch them.

Points are append-only. ``version_metric_summary`` is their running summary per
(version, source, name), updated in the transaction that adds points: it answers
``MetricSeries.latest/count/min/max/mean`` without reading the points, and is
what search filters and orders by (index on source, name, latest). The
``training`` source is never stored here: it is the producing run's summary.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .types import time_column


class VersionMetric(SQLModel, table=True):
    __tablename__ = "version_metric"
    __table_args__ = (
        sa.Index("ix_version_metric_series", "version_id", "source", "name", "at", "id"),
    )
    id: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                                               primary_key=True, autoincrement=True))
    version_id: int = Field(foreign_key="artifact_version.id")
    source: str = Field(max_length=64)
    name: str = Field(max_length=128)
    value: float
    at: datetime = Field(sa_column=time_column())
    step: int | None = None


class VersionMetricSummary(SQLModel, table=True):
    """One row per (version, source, name): the newest point (by ``at``, then id) and the running aggregates."""

    __tablename__ = "version_metric_summary"
    __table_args__ = (
        sa.Index("ix_version_metric_summary_by_value", "source", "name", "latest", "version_id"),
    )
    version_id: int = Field(foreign_key="artifact_version.id", primary_key=True)
    source: str = Field(max_length=64, primary_key=True)
    name: str = Field(max_length=128, primary_key=True)
    latest: float
    latest_at: datetime = Field(sa_column=time_column())
    latest_id: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))  # the newest point's id (tie-break)
    count: int
    min: float
    max: float
    sum: float


class MetricRule(SQLModel, table=True):
    """Watches the version holding ``alias`` in a collection: a breach is a ``metric.breached`` event.

    ``breached`` is the rule's state: set when the condition starts to hold (the event is written then), cleared
    when it stops, so a rule fires once per excursion, not once per point. ``breached_version_id`` is the version
    it held for then: when the alias moves to another version that breaches too, that is a new breach.
    """

    __tablename__ = "metric_rule"
    # A deleted rule's id is never given to a new one (SQLite would reuse the highest rowid): breach events and
    # bots name rules by id.
    __table_args__ = {"sqlite_autoincrement": True}
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    collection_id: int = Field(foreign_key="collection.id", index=True)
    alias: str = Field(max_length=64)
    metric: str = Field(max_length=128)
    source: str = Field(max_length=64)
    op: str = Field(max_length=8)
    threshold: float
    window: int
    breached: bool = False
    breached_version_id: int | None = None  # the version the breach was seen on (a new holder may breach anew)
    last_triggered_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))
    created_at: datetime = Field(sa_column=time_column())
    created_by: str | None = Field(default=None, max_length=128)
