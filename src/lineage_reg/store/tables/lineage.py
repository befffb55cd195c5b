"""Lineage edges between runs (r), artifact versions (v) and datasets (d)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from ...lineage_kinds import EDGE_KIND, KIND_CODE
from .types import time_column

__all__ = ["EDGE_KIND", "KIND_CODE", "Edge"]  # the kinds: shared vocabulary (lineage_kinds), re-exported here


class Edge(SQLModel, table=True):
    __tablename__ = "lineage_edge"
    # Indexed both ways: the primary key serves downstream walks, the second index upstream ones.
    __table_args__ = (sa.Index("ix_lineage_edge_dst", "dst_kind", "dst_id", "src_kind", "src_id"),)
    src_kind: str = Field(max_length=1, primary_key=True)
    src_id: int = Field(primary_key=True)
    dst_kind: str = Field(max_length=1, primary_key=True)
    dst_id: int = Field(primary_key=True)
    kind: str = Field(max_length=16)
    created_at: datetime = Field(sa_column=time_column())
