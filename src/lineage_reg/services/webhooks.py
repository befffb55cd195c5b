"""Webhooks: managing them, and the dispatcher that sends the outbox.

Every server process runs a dispatcher. It leases due deliveries (so two
processes never send one at the same time), POSTs each with an HMAC
signature, and records the outcome: delivered, retried after exponential
backoff, or failed after the last attempt. A delivery leased by a process that
died is taken over when its lease runs out, so every delivery is sent at least
once; receivers deduplicate by the delivery id.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import random
import re
import time
from datetime import timedelta
from typing import Any

import httpx
from cryptography.fernet import Fernet, InvalidToken

from urllib.parse import urlsplit

from .. import ids, refs
from ..errors import BadInput, NotFound
from ..store import webhooks as webhook_store
from ..records import DeliveryRec, WebhookRec
from ..event_kinds import EVENT_KINDS
from ..clock import utcnow
from . import lookup
from .runtime import Runtime, Tx, write
from .webhook_targets import AllowList, Pinned, check_url, coarse, pin

log = logging.getLogger("lineage_reg.webhooks")

ALIAS_PATTERN_RE = re.compile(r"[a-z0-9._*?\[\]-]{1,128}")
SIGNATURE_HEADER = "X-LineageReg-Signature"
BATCH = 32
POLL_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 3600.0
USER_AGENT = "lineage-reg-webhooks/1"


# --- secrets -----------------------------------------------------------------

def _fernet(rt: Runtime) -> Fernet:
    key = hmac.new(rt.settings.signing_key(), b"lineage-reg webhook secrets", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(rt: Runtime, secret: str) -> str:
    return _fernet(rt).encrypt(secret.encode()).decode()


def unseal(rt: Runtime, sealed: str) -> str | None:
    try:
        return _fernet(rt).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """What receivers recompute: HMAC-SHA256 over "<timestamp>.<body>", hex, prefixed "sha256="."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


# --- validation --------------------------------------------------------------

def allow_list(rt: Runtime) -> AllowList:
    return AllowList.of(rt.settings.webhook_allow)


def check_kinds(kinds: list[str]) -> list[str]:
    unknown = [k for k in kinds if k not in EVENT_KINDS]
    if not kinds or unknown:
        raise BadInput(f"webhook kinds must be a non-empty list of event kinds ({', '.join(EVENT_KINDS)})"
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

async def _collection_id(conn: Any, project: str, collection: str | None) -> int | None:
    if collection is None:
        return None
    ref = refs.parse_collection(collection)
    if ref.project != project:
        raise BadInput(f"collection {collection!r} is not in project {project!r}")
    return (await lookup.collection(conn, ref)).id


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
        coll = await lookup.collection(tx.conn, refs.CollectionRef(hook.project, hook.collection))
    await tx.event(kind, project_id=hook.project_id, project=hook.project, collection=coll, **payload,
                   **_described(hook))


async def create_webhook(rt: Runtime, *, actor: str | None, project: str, url: str, kinds: list[str], secret: str,
                         collection: str | None = None, alias_pattern: str | None = None) -> WebhookRec:
    values = dict(url=check_url(url, allow_list(rt)), kinds=check_kinds(kinds), secret_sealed=seal(rt, check_secret(secret)),
                  alias_pattern=check_alias_pattern(alias_pattern), active=True, created_by=actor)

    async def work(tx: Tx) -> WebhookRec:
        proj = await lookup.project(tx.conn, project)
        hook_id = await webhook_store.insert_webhook(tx.conn, dict(
            values, created_at=tx.at, project_id=proj.id,
            collection_id=await _collection_id(tx.conn, project, collection)))
        hook = await _get(tx.conn, hook_id)
        await _event(tx, "webhook.created", hook)
        return hook

    return await write(rt, actor, work)


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
        values["secret_sealed"] = seal(rt, check_secret(secret))
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

    return await write(rt, actor, work)


async def delete_webhook(rt: Runtime, *, actor: str | None, webhook_id: int) -> None:
    """Deletes the webhook and its delivery history; nothing more is sent to it."""

    async def work(tx: Tx) -> None:
        hook = await _get(tx.conn, webhook_id)
        await webhook_store.delete_webhook(tx.conn, webhook_id)
        await _event(tx, "webhook.deleted", hook)

    await write(rt, actor, work)


async def ping(rt: Runtime, webhook_id: int) -> DeliveryRec:
    """Queue a `ping` delivery, to check a receiver and its signature handling."""

    async def work(conn: Any) -> DeliveryRec:
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


async def _get(conn: Any, webhook_id: int) -> WebhookRec:
    hook = await webhook_store.webhook_by_id(conn, webhook_id)
    if hook is None:
        raise NotFound("webhook not found; list them with `webhooks(project:)`")
    return hook


async def get_webhook(rt: Runtime, webhook_id: int) -> WebhookRec:
    async with rt.db.reader() as r:
        return await _get(r, webhook_id)


async def webhooks_of(rt: Runtime, project: str) -> list[WebhookRec]:
    async with rt.db.reader() as r:
        return await webhook_store.webhooks_of(r, (await lookup.project(r, project)).id)


# --- delivery ----------------------------------------------------------------

def backoff_seconds(base: float, attempts: int) -> float:
    """Delay before attempt ``attempts + 1``: base, 2x base, 4x base ... capped, with 10 % jitter."""
    return min(MAX_BACKOFF_SECONDS, base * 2 ** (attempts - 1)) * random.uniform(0.9, 1.1)


class Dispatcher:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.allow = allow_list(rt)  # a malformed LINEAGE_REG_WEBHOOK_ALLOW stops the server at start
        self._wake = asyncio.Event()
        self._held: set[int] = set()
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None

    def wake(self) -> None:
        self._wake.set()

    async def start(self) -> None:
        timeout = self.rt.settings.webhook_timeout_seconds
        # Requests go to checked addresses, so the pool is keyed by address: a kept-alive TLS connection verified
        # for one name could carry the next delivery for another name at that address, unverified. None kept.
        self._client = httpx.AsyncClient(timeout=timeout, follow_redirects=False,
                                         limits=httpx.Limits(max_keepalive_connections=0),
                                         headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"})
        self._task = asyncio.create_task(self._run(), name="lineage-reg-webhooks")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._held:  # interrupted mid-send: let the next dispatcher (or restart) take them at once
            held = list(self._held)
            await self.rt.db.transaction(lambda conn: webhook_store.release(conn, held))
            self._held.clear()
        if self._client is not None:
            await self._client.aclose()

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.deliver_due()
            except Exception:
                log.exception("webhook dispatch failed; will try again")
                sent = 0
            if sent == BATCH:
                continue
            try:
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
            except TimeoutError:
                pass
            self._wake.clear()

    async def deliver_due(self) -> int:
        now = utcnow()
        lease = now + timedelta(seconds=self.rt.settings.webhook_timeout_seconds + 30)
        postgres = not self.rt.db.is_sqlite
        claimed = await self.rt.db.transaction(
            lambda conn: webhook_store.claim_due(conn, now=now, lease_until=lease, limit=BATCH, postgres=postgres))
        self._held.update(d.id for d, _, _ in claimed)
        await asyncio.gather(*(self._send(d, url, sealed) for d, url, sealed in claimed))
        return len(claimed)

    async def _send(self, delivery: DeliveryRec, url: str, sealed: str) -> None:
        settings = self.rt.settings
        attempt = delivery.attempts + 1
        body = json.dumps({"delivery": delivery.id, **delivery.payload}, separators=(",", ":")).encode()
        secret = unseal(self.rt, sealed)
        status_code: int | None = None
        latency_ms: float | None = None
        if secret is None:
            error: str | None = "the webhook's secret can't be decrypted (signing key changed?); set it with updateWebhook"
        else:
            target = await pin(url, self.allow, timeout=settings.webhook_timeout_seconds)
            if isinstance(target, Pinned):
                status_code, latency_ms, error = await self._post(target, body, self._headers(secret, body, delivery,
                                                                                              attempt))
            else:
                error = target  # never sent: nothing about that address (not even a latency) goes into the record
        now = utcnow()
        values: dict[str, Any] = dict(last_status_code=status_code, last_latency_ms=latency_ms, last_error=error)
        if error is None:
            values.update(status=webhook_store.DELIVERED, delivered_at=now)
        elif attempt >= settings.webhook_max_attempts:
            values.update(status=webhook_store.FAILED)
            log.warning("webhook delivery %d to %s failed for good after %d attempts: %s", delivery.id, url, attempt, error)
        else:
            values.update(next_attempt_at=now + timedelta(seconds=backoff_seconds(settings.webhook_backoff_seconds, attempt)))
        await self.rt.db.transaction(lambda conn: webhook_store.record_attempt(conn, delivery.id, values))
        self._held.discard(delivery.id)

    @staticmethod
    def _headers(secret: str, body: bytes, delivery: DeliveryRec, attempt: int) -> dict[str, str]:
        timestamp = str(int(time.time()))
        return {
            SIGNATURE_HEADER: signature(secret, timestamp, body),
            "X-LineageReg-Timestamp": timestamp,
            "X-LineageReg-Delivery": str(delivery.id),
            "X-LineageReg-Event": delivery.kind,
            "X-LineageReg-Attempt": str(attempt),
        }

    async def _post(self, target: Pinned, body: bytes, headers: dict[str, str]
                    ) -> tuple[int | None, float | None, str | None]:
        """(status code, latency, error): to the checked address, under the URL's own name (Host, SNI)."""
        assert self._client is not None
        extensions = {"sni_hostname": target.sni_hostname} if target.sni_hostname else {}
        started = time.perf_counter()
        try:
            response = await self._client.post(target.url, content=body, headers={**headers, "Host": target.host_header},
                                               extensions=extensions)
        except httpx.HTTPError as exc:
            return None, (time.perf_counter() - started) * 1000, coarse(exc)
        latency_ms = (time.perf_counter() - started) * 1000
        code = response.status_code
        return code, latency_ms, None if 200 <= code < 300 else f"receiver answered HTTP {code}"
