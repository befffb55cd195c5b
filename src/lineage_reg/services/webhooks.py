"""Webhooks: creating, changing, deleting and pinging them (every change an event of the project's log).

Sending is ``webhook_delivery`` (the dispatcher, signatures, sealed secrets);
which deliveries a commit queues is ``outbox``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from .. import ids, refs
from ..clock import utcnow
from ..errors import BadInput, NotFound
from ..event_kinds import PROJECT_KINDS, REGISTRY_KINDS
from ..records import DeliveryRec, WebhookRec
from ..store import webhooks as webhook_store
from . import find
from .runtime import Runtime, Tx, write
from .webhook_delivery import allow_list, seal
from .webhook_targets import check_url
from ..store.db import Conn

ALIAS_PATTERN_RE = re.compile(r"[a-z0-9._*?\[\]-]{1,128}")


# --- validation --------------------------------------------------------------

def check_kinds(kinds: list[str]) -> list[str]:
    registry = [k for k in kinds if k in REGISTRY_KINDS]
    if registry:
        raise BadInput(f"webhook kinds: {', '.join(map(repr, registry))} are registry events, which belong to no "
                       "project, and a webhook is a project's; read them with the `events` query as a global admin")
    unknown = [k for k in kinds if k not in PROJECT_KINDS]
    if not kinds or unknown:
        raise BadInput(f"webhook kinds must be a non-empty list of event kinds ({', '.join(PROJECT_KINDS)})"
                       + (f"; unknown: {', '.join(map(repr, unknown))}" if unknown else ""))
    return sorted(set(kinds))


def check_secret(secret: str) -> str:
    if not 16 <= len(secret) <= 256:
        raise BadInput("webhook secret must be 16-256 characters; generate one with `openssl rand -hex 32`")
    return secret


def check_alias_pattern(pattern: str | None) -> str | None:
    if pattern is not None and not ALIAS_PATTERN_RE.fullmatch(pattern):
        raise BadInput(f"alias pattern {pattern!r}: use alias characters and the wildcards *, ? and [...]")
    return pattern


# --- management --------------------------------------------------------------

async def _collection_id(conn: Conn, project: str, collection: str | None) -> int | None:
    if collection is None:
        return None
    ref = refs.parse_collection(collection)
    if ref.project != project:
        raise BadInput(f"collection {collection!r} is not in project {project!r}")
    return (await find.collection(conn, ref)).id


def _described(hook: WebhookRec) -> dict[str, Any]:
    """What a webhook event says about the webhook: never its secret, nor the URL's path or query (receivers
    such as chat services put their credentials there), only where it points."""
    parts = urlsplit(hook.url)
    return dict(webhook=ids.encode("Webhook", hook.id), target=f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}",
                kinds=list(hook.kinds), aliasPattern=hook.alias_pattern, active=hook.active)


async def _event(tx: Tx, kind: str, hook: WebhookRec, **payload: Any) -> None:
    """The webhook's collection filter, if it has one, is the event's collection."""
    coll = None
    if hook.collection is not None:
        coll = await find.collection(tx.conn, refs.CollectionRef(hook.project, hook.collection))
    await tx.event(kind, project_id=hook.project_id, project=hook.project, collection=coll, **payload,
                   **_described(hook))


async def create_webhook(rt: Runtime, *, actor: str | None, project: str, url: str, kinds: list[str], secret: str,
                         collection: str | None = None, alias_pattern: str | None = None) -> WebhookRec:
    values = dict(url=check_url(url, allow_list(rt)), kinds=check_kinds(kinds),
                  secret_sealed=seal(rt, secret=check_secret(secret)), alias_pattern=check_alias_pattern(alias_pattern),
                  active=True, created_by=actor)

    async def work(tx: Tx) -> WebhookRec:
        proj = await find.project(tx.conn, project)
        hook_id = await webhook_store.insert_webhook(tx.conn, dict(
            values, created_at=tx.at, project_id=proj.id,
            collection_id=await _collection_id(tx.conn, project, collection)))
        hook = await _get(tx.conn, hook_id)
        await _event(tx, "webhook.created", hook)
        return hook

    return await write(rt, actor=actor, work=work)


async def update_webhook(rt: Runtime, *, actor: str | None, webhook_id: int, url: str | None = None,
                         kinds: list[str] | None = None, secret: str | None = None, collection: str | None = None,
                         clear_collection: bool = False, alias_pattern: str | None = None,
                         clear_alias_pattern: bool = False, active: bool | None = None) -> WebhookRec:
    values: dict[str, Any] = {}
    if url is not None:
        values["url"] = check_url(url, allow_list(rt))
    if kinds is not None:
        values["kinds"] = check_kinds(kinds)
    if secret is not None:
        values["secret_sealed"] = seal(rt, secret=check_secret(secret))
    if alias_pattern is not None or clear_alias_pattern:
        values["alias_pattern"] = check_alias_pattern(alias_pattern)
    if active is not None:
        values["active"] = active

    async def work(tx: Tx) -> WebhookRec:
        hook = await _get(tx.conn, webhook_id)
        changes = dict(values)
        if collection is not None or clear_collection:
            changes["collection_id"] = await _collection_id(tx.conn, hook.project, collection)
        if not changes:
            return hook
        await webhook_store.update_webhook(tx.conn, webhook_id, changes)
        after = await _get(tx.conn, webhook_id)
        before, now = _described(hook), _described(after)
        changed = [k for k in now if now[k] != before[k]]
        if after.collection != hook.collection:
            changed.append("collection")
        if url is not None and after.url != hook.url and "target" not in changed:
            changed.append("url")  # same host, another path: said, not shown
        if secret is not None:
            changed.append("secret")  # that it changed, never what it is
        await _event(tx, "webhook.updated", after, changed=sorted(changed))
        return after

    return await write(rt, actor=actor, work=work)


async def delete_webhook(rt: Runtime, *, actor: str | None, webhook_id: int) -> None:
    """Deletes the webhook and its delivery history; nothing more is sent to it."""

    async def work(tx: Tx) -> None:
        hook = await _get(tx.conn, webhook_id)
        await webhook_store.delete_webhook(tx.conn, webhook_id)
        await _event(tx, "webhook.deleted", hook)

    await write(rt, actor=actor, work=work)


async def ping(rt: Runtime, *, webhook_id: int) -> DeliveryRec:
    """Queue a `ping` delivery, to check a receiver and its signature handling."""

    async def work(conn: Conn) -> DeliveryRec:
        hook = await _get(conn, webhook_id)
        now = utcnow()
        payload = {"kind": "ping", "at": now.isoformat(), "project": hook.project, "url": hook.url}
        [delivery_id] = await webhook_store.insert_deliveries(conn, [dict(
            webhook_id=hook.id, event_id=None, kind="ping", payload=payload, status=webhook_store.PENDING,
            attempts=0, created_at=now, next_attempt_at=now)])
        rec = await webhook_store.delivery_by_id(conn, delivery_id)
        assert rec is not None
        return rec

    rec = await rt.db.transaction(work)
    rt.deliveries_queued()
    return rec


async def _get(conn: Conn, webhook_id: int) -> WebhookRec:
    hook = await webhook_store.webhook_by_id(conn, webhook_id)
    if hook is None:
        raise NotFound("webhook not found; list them with `webhooks(project:)`")
    return hook


async def get_webhook(rt: Runtime, *, webhook_id: int) -> WebhookRec:
    async with rt.db.reader() as r:
        return await _get(r, webhook_id)


async def webhooks_of(rt: Runtime, *, project: str) -> list[WebhookRec]:
    async with rt.db.reader() as r:
        return await webhook_store.webhooks_of(r, (await find.project(r, project)).id)


