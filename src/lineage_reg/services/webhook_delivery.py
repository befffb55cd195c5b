"""Sending webhooks: the dispatcher that sends the outbox, and what signs and seals.

Every server process runs a dispatcher. It leases due deliveries (so two
processes never send one at the same time), POSTs each with an HMAC
signature, and records the outcome: delivered, retried after exponential
backoff, or failed after the last attempt. A delivery leased by a process that
died is taken over when its lease runs out, so every delivery is sent at least
once; receivers deduplicate by the delivery id.

A webhook's secret is stored sealed (Fernet, keyed from the server's signing
key) and unsealed only to sign a delivery.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import random
import time
from datetime import timedelta
from typing import Any

import httpx
from cryptography.fernet import Fernet, InvalidToken

from ..clock import utcnow
from ..records import DeliveryRec
from ..store import webhooks as webhook_store
from .runtime import Runtime
from .webhook_targets import AllowList, Pinned, coarse, pin

log = logging.getLogger("lineage_reg.webhooks")

SIGNATURE_HEADER = "X-LineageReg-Signature"
BATCH = 32
POLL_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 3600.0
USER_AGENT = "lineage-reg-webhooks/1"


# --- secrets -----------------------------------------------------------------

def _fernet(rt: Runtime) -> Fernet:
    key = hmac.new(rt.settings.signing_key(), b"lineage-reg webhook secrets", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(rt: Runtime, *, secret: str) -> str:
    return _fernet(rt).encrypt(secret.encode()).decode()


def unseal(rt: Runtime, *, sealed: str) -> str | None:
    try:
        return _fernet(rt).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """What receivers recompute: HMAC-SHA256 over "<timestamp>.<body>", hex, prefixed "sha256="."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


# --- where deliveries may go ------------------------------------------------------

def allow_list(rt: Runtime) -> AllowList:
    return AllowList.of(rt.settings.webhook_allow)


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
        secret = unseal(self.rt, sealed=sealed)
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
