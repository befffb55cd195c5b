"""Core table handles and the joined selects every read path shares."""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa

from .tables import auth, events, lineage, registry, runs, webhooks
from .db import Conn

project: sa.Table = registry.Project.__table__  # type: ignore[assignment]
collection: sa.Table = registry.Collection.__table__  # type: ignore[assignment]
version: sa.Table = registry.ArtifactVersion.__table__  # type: ignore[assignment]
version_file: sa.Table = registry.VersionFile.__table__  # type: ignore[assignment]
blob: sa.Table = registry.Blob.__table__  # type: ignore[assignment]
upload_session: sa.Table = registry.UploadSession.__table__  # type: ignore[assignment]
link: sa.Table = registry.ModelLink.__table__  # type: ignore[assignment]
alias: sa.Table = registry.Alias.__table__  # type: ignore[assignment]
run: sa.Table = runs.Run.__table__  # type: ignore[assignment]
metric: sa.Table = runs.Metric.__table__  # type: ignore[assignment]
dataset: sa.Table = runs.Dataset.__table__  # type: ignore[assignment]
dataset_alias: sa.Table = runs.DatasetAlias.__table__  # type: ignore[assignment]
edge: sa.Table = lineage.Edge.__table__  # type: ignore[assignment]
event: sa.Table = events.Event.__table__  # type: ignore[assignment]
api_token: sa.Table = auth.ApiToken.__table__  # type: ignore[assignment]
member: sa.Table = auth.Member.__table__  # type: ignore[assignment]
protected_aliases: sa.Table = auth.ProtectedAliases.__table__  # type: ignore[assignment]
access_epoch: sa.Table = auth.AccessEpoch.__table__  # type: ignore[assignment]
webhook: sa.Table = webhooks.Webhook.__table__  # type: ignore[assignment]
delivery: sa.Table = webhooks.WebhookDelivery.__table__  # type: ignore[assignment]


def select_collections() -> sa.Select[Any]:
    return sa.select(collection, project.c.name.label("project")).join(
        project, project.c.id == collection.c.project_id
    )


def select_versions() -> sa.Select[Any]:
    return (
        sa.select(
            version,
            collection.c.name.label("artifact"),
            project.c.name.label("project"),
            project.c.id.label("project_id"),
        )
        .join(collection, collection.c.id == version.c.artifact_id)
        .join(project, project.c.id == collection.c.project_id)
    )


def select_links() -> sa.Select[Any]:
    return (
        sa.select(link, collection.c.name.label("model"), project.c.name.label("project"),
                  project.c.id.label("project_id"))
        .join(collection, collection.c.id == link.c.model_id)
        .join(project, project.c.id == collection.c.project_id)
    )


@cache
def _insert_returning(table: sa.Table, returning_all: bool) -> Any:
    return sa.insert(table).returning(*(table.c if returning_all else [table.c.id]))


async def insert_returning_id(conn: Conn, table: sa.Table, values: dict[str, Any]) -> int:
    result = await conn.execute(_insert_returning(table, False), values)
    return int(result.scalar_one())


async def insert_returning_row(conn: Conn, table: sa.Table, values: dict[str, Any]) -> Any:
    return (await conn.execute(_insert_returning(table, True), values)).one()
