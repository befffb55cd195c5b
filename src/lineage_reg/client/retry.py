"""When the SDK tries again: transient failures only, a bounded number of times, with jittered backoff.

    idempotent work (queries, blob PUT/GET)   connection errors, timeouts, HTTP 429/502/503/504
    other mutations                           only errors raised before the request left this machine
    anything                                  never a certificate that failed verification

Blobs are addressed by their sha256, so sending one twice stores it once; a query changes nothing. A
mutation whose request may have reached the server is never sent twice: the caller sees the error.
"""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx

from ..errors import RegistryError

T = TypeVar("T")
TRANSIENT_STATUS = frozenset({429, 502, 503, 504})
# Raised before a byte of the request was sent: safe to repeat any request.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class Transient(Exception):
    """Raised by a piece of work to ask for another try; ``error`` is what the caller sees if none is left."""

    def __init__(self, error: RegistryError, response: httpx.Response | None = None) -> None:
        super().__init__(error.message)
        self.error = error
        self.response = response


@dataclass(frozen=True)
class Retry:
    """``attempts`` tries in all; the n-th wait is uniform in [0, min(cap, base * 2**n)] ("full jitter"),
    or what the server's ``Retry-After`` asks for, up to ``cap`` seconds."""

    attempts: int = 5
    base: float = 0.25
    cap: float = 8.0

    def delay(self, attempt: int, resp: httpx.Response | None = None) -> float:
        asked = resp.headers.get("retry-after") if resp is not None else None
        if asked is not None:
            try:
                return min(self.cap, max(0.0, float(asked)))
            except ValueError:
                pass  # an HTTP date: our own backoff instead
        return random.uniform(0, min(self.cap, self.base * 2**attempt))


async def repeat(retry: Retry, work: Callable[[], Awaitable[T]], *, idempotent: bool) -> T:
    """``await work()`` until it succeeds, raises something not worth repeating, or the attempts run out."""
    for attempt in range(retry.attempts):
        last = attempt == retry.attempts - 1
        try:
            return await work()
        except Transient as exc:
            if last or not idempotent:
                raise exc.error from None
            await asyncio.sleep(retry.delay(attempt, exc.response))
        except httpx.TransportError as exc:
            if last or not (idempotent or isinstance(exc, NOT_SENT)) or _untrusted(exc):
                raise
            await asyncio.sleep(retry.delay(attempt))
    raise AssertionError("unreachable")  # pragma: no cover - the last attempt returns or raises


def _untrusted(exc: BaseException) -> bool:
    """A certificate that failed verification: trying again cannot change that."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
