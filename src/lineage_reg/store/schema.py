"""Core table handles and the joined selects every read path shares."""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from .tables import auth, cards, comments, events, governance, lineage, metrics, registry, runs, webhooks
from .db import Conn


def _table(model: type[SQLModel]) -> sa.Table:
    """The Table SQLModel made for a `table=True` model (SQLModel's stubs do not declare `__table__`)."""
    table = sa.inspect(model).local_table
    assert isinstance(table, sa.Table), model
    return table


project = _table(registry.Project)
collection = _table(registry.Collection)
version = _table(registry.ArtifactVersion)
version_file = _table(registry.VersionFile)
blob = _table(registry.Blob)
upload_session = _table(registry.UploadSession)
link = _table(registry.ModelLink)
alias = _table(registry.Alias)
run = _table(runs.Run)
metric = _table(runs.Metric)
dataset = _table(runs.Dataset)
dataset_alias = _table(runs.DatasetAlias)
edge = _table(lineage.Edge)
event = _table(events.Event)
api_token = _table(auth.ApiToken)
member = _table(auth.Member)
protected_aliases = _table(auth.ProtectedAliases)
access_epoch = _table(auth.AccessEpoch)
webhook = _table(webhooks.Webhook)
delivery = _table(webhooks.WebhookDelivery)
version_metric = _table(metrics.VersionMetric)
version_metric_summary = _table(metrics.VersionMetricSummary)
metric_rule = _table(metrics.MetricRule)
approval_policy = _table(governance.ApprovalPolicy)
promotion_request = _table(governance.PromotionRequest)
promotion_review = _table(governance.PromotionReview)
comment = _table(comments.Comment)
model_card = _table(cards.ModelCard)


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
