"""Projects, collections (artifacts and registered models), versions, files, blobs, links, aliases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from .types import JSONType, json_column, time_column


class Project(SQLModel, table=True):
    __tablename__ = "project"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128, unique=True)
    description: str | None = None
    created_at: datetime = Field(sa_column=time_column())
    created_by: str | None = None


class Collection(SQLModel, table=True):
    """An artifact (kind 'artifact') or a registered model (kind 'model').

    One table so that both share one namespace per project, enforced by the
    unique constraint rather than by application code.
    """

    __tablename__ = "collection"
    __table_args__ = (
        sa.UniqueConstraint("project_id", "name"),
        # search (docs/search.md, "Indexes"): type:, and tag: on registered models (PostgreSQL)
        sa.Index("ix_collection_type", "type"),
        sa.Index("ix_collection_tags_gin", "tags", postgresql_using="gin", postgresql_ops={"tags": "jsonb_path_ops"}
                 ).ddl_if(dialect="postgresql"),
    )
    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(foreign_key="project.id")
    name: str = Field(max_length=128)
    kind: str = Field(max_length=16)
    type: str | None = Field(default=None, max_length=64)
    description: str | None = None
    tags: list[str] = Field(default_factory=list, sa_column=json_column())
    created_at: datetime = Field(sa_column=time_column())
    created_by: str | None = None


class ArtifactVersion(SQLModel, table=True):
    __tablename__ = "artifact_version"
    __table_args__ = (
        sa.UniqueConstraint("artifact_id", "index"),
        sa.Index("ix_artifact_version_artifact_id_digest", "artifact_id", "digest"),
        # search (docs/search.md, "Indexes"): newest first within a state, and by created_at alone
        sa.Index("ix_artifact_version_state_created_at_id", "state", "created_at", "id"),
        sa.Index("ix_artifact_version_created_at_id", "created_at", "id"),
        sa.Index("ix_artifact_version_metadata_gin", "metadata", postgresql_using="gin",
                 postgresql_ops={"metadata": "jsonb_path_ops"}).ddl_if(dialect="postgresql"),
        sa.Index("ix_artifact_version_tags_gin", "tags", postgresql_using="gin",
                 postgresql_ops={"tags": "jsonb_path_ops"}).ddl_if(dialect="postgresql"),
    )
    id: int | None = Field(default=None, primary_key=True)
    artifact_id: int = Field(foreign_key="collection.id")
    index: int
    digest: str = Field(max_length=64)
    state: str = Field(max_length=16)
    size: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    file_count: int
    metadata_: dict[str, Any] = Field(default_factory=dict, sa_column=sa.Column("metadata", JSONType, nullable=False))
    description: str | None = None
    tags: list[str] = Field(default_factory=list, sa_column=json_column())
    # Aliases to apply on commit, as asked for at creation.
    pending_aliases: list[str] = Field(default_factory=list, sa_column=json_column())
    run_id: int | None = Field(default=None, foreign_key="run.id", index=True)
    created_by: str | None = None
    created_at: datetime = Field(sa_column=time_column())
    committed_at: datetime | None = Field(default=None, sa_column=time_column(nullable=True))


class VersionFile(SQLModel, table=True):
    __tablename__ = "version_file"
    version_id: int = Field(foreign_key="artifact_version.id", primary_key=True)
    path: str = Field(max_length=1024, primary_key=True)
    size: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    sha256: str = Field(max_length=64, index=True)


class Blob(SQLModel, table=True):
    """A blob the store holds, verified; written after its bytes are in place."""

    __tablename__ = "blob"
    sha256: str = Field(max_length=64, primary_key=True)
    size: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    created_at: datetime = Field(sa_column=time_column())


class UploadSession(SQLModel, table=True):
    """A multipart upload handed out for a blob of a PENDING version: reused when the client asks again,
    counted against the per-version and per-token bounds, and what keeps its staged bytes from GC."""

    __tablename__ = "upload_session"
    upload_id: str = Field(max_length=1024, primary_key=True)
    version_id: int = Field(foreign_key="artifact_version.id", index=True)
    sha256: str = Field(max_length=64)
    created_by: str | None = Field(default=None, max_length=128, index=True)
    created_at: datetime = Field(sa_column=time_column())


class ModelLink(SQLModel, table=True):
    __tablename__ = "model_link"
    __table_args__ = (
        sa.UniqueConstraint("model_id", "index"),
        sa.UniqueConstraint("model_id", "version_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    model_id: int = Field(foreign_key="collection.id")
    version_id: int = Field(foreign_key="artifact_version.id", index=True)
    index: int
    linked_at: datetime = Field(sa_column=time_column())
    linked_by: str | None = None


class Alias(SQLModel, table=True):
    """An alias names exactly one version within its collection (primary key)."""

    __tablename__ = "alias"
    collection_id: int = Field(foreign_key="collection.id", primary_key=True)
    name: str = Field(max_length=64, primary_key=True)
    version_id: int = Field(foreign_key="artifact_version.id", index=True)
    updated_at: datetime = Field(sa_column=time_column())
