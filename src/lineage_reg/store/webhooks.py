"""SQL for webhooks and the delivery outbox."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from . import schema as s
from ..records import DeliveryRec, WebhookRec
from .db import Conn

PENDING, DELIVERED, FAILED = "PENDING", "DELIVERED", "FAILED"

_SELECT_WEBHOOKS = (
    sa.select(s.webhook, s.project.c.name.label("project"), s.collection.c.name.label("collection"))
    .join(s.project, s.project.c.id == s.webhook.c.project_id)
    .outerjoin(s.collection, s.collection.c.id == s.webhook.c.collection_id)
)


async def insert_webhook(conn: Conn, values: dict[str, Any]) -> int:
    return await s.insert_returning_id(conn, s.webhook, values)


async def update_webhook(conn: Conn, webhook_id: int, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(s.webhook).where(s.webhook.c.id == webhook_id).values(**values))


async def delete_webhook(conn: Conn, webhook_id: int) -> bool:
    await conn.execute(sa.delete(s.delivery).where(s.delivery.c.webhook_id == webhook_id))
    return bool((await conn.execute(sa.delete(s.webhook).where(s.webhook.c.id == webhook_id))).rowcount)


async def webhook_by_id(conn: Conn, webhook_id: int) -> WebhookRec | None:
    row = (await conn.execute(_SELECT_WEBHOOKS.where(s.webhook.c.id == webhook_id))).first()
    return WebhookRec.from_row(row) if row else None


async def webhooks_of(conn: Conn, project_id: int) -> list[WebhookRec]:
    stmt = _SELECT_WEBHOOKS.where(s.webhook.c.project_id == project_id).order_by(s.webhook.c.id)
    return [WebhookRec.from_row(r) for r in (await conn.execute(stmt)).all()]


async def active_webhooks_of(conn: Conn, project_ids: Sequence[int]) -> list[WebhookRec]:
    stmt = _SELECT_WEBHOOKS.where(s.webhook.c.project_id.in_(list(project_ids)), s.webhook.c.active.is_(True))
    return [WebhookRec.from_row(r) for r in (await conn.execute(stmt)).all()]


async def insert_deliveries(conn: Conn, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    result = await conn.execute(sa.insert(s.delivery).returning(s.delivery.c.id), rows)
    return [int(i) for i in result.scalars().all()]


async def delivery_by_id(conn: Conn, delivery_id: int) -> DeliveryRec | None:
    row = (await conn.execute(sa.select(s.delivery).where(s.delivery.c.id == delivery_id))).first()
    return DeliveryRec.from_row(row) if row else None


def _due(now: datetime) -> sa.ColumnElement[bool]:
    d = s.delivery.c
    return sa.and_(d.status == PENDING, d.next_attempt_at <= now, sa.or_(d.lease_until.is_(None), d.lease_until < now))


async def claim_due(conn: Conn, *, now: datetime, lease_until: datetime, limit: int,
                    postgres: bool) -> list[tuple[DeliveryRec, str, str]]:
    """Lease up to ``limit`` due deliveries; returns each with its webhook's URL and sealed secret.

    The lease condition is repeated in the UPDATE so two dispatchers racing for
    one row cannot both win (PostgreSQL re-checks it on the locked row)."""
    d = s.delivery.c
    pick = sa.select(d.id).where(_due(now)).order_by(d.next_attempt_at, d.id).limit(limit)
    if postgres:
        pick = pick.with_for_update(skip_locked=True)
    ids = [int(i) for i in (await conn.execute(pick)).scalars().all()]
    if not ids:
        return []
    claimed = await conn.execute(
        sa.update(s.delivery).where(d.id.in_(ids), _due(now)).values(lease_until=lease_until).returning(d.id)
    )
    won = [int(i) for i in claimed.scalars().all()]
    if not won:
        return []
    stmt = (sa.select(s.delivery, s.webhook.c.url, s.webhook.c.secret_sealed)
            .join(s.webhook, s.webhook.c.id == d.webhook_id).where(d.id.in_(won)).order_by(d.id))
    return [(DeliveryRec.from_row(r), r.url, r.secret_sealed) for r in (await conn.execute(stmt)).all()]


async def record_attempt(conn: Conn, delivery_id: int, values: dict[str, Any]) -> None:
    d = s.delivery.c
    stmt = sa.update(s.delivery).where(d.id == delivery_id).values(attempts=d.attempts + 1, lease_until=None, **values)
    await conn.execute(stmt)


async def release(conn: Conn, delivery_ids: Sequence[int]) -> None:
    if delivery_ids:
        await conn.execute(sa.update(s.delivery).where(s.delivery.c.id.in_(list(delivery_ids))).values(lease_until=None))


async def next_due_at(conn: Conn) -> datetime | None:
    d = s.delivery.c
    return (await conn.execute(sa.select(sa.func.min(d.next_attempt_at)).where(d.status == PENDING))).scalar_one()
