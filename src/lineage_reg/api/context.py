"""The per-request context every resolver receives as ``info.context``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from strawberry.types import Info as _Info

from ..services.actors import Actor
from ..services.runtime import Runtime
from .loaders import Loaders
from .ratelimit import RateLimiter


@dataclass
class Context:
    rt: Runtime
    actor: Actor | None  # None: a token was sent but is not valid
    loaders: Loaders
    base_url: str
    # graphql-transport-ws `connection_init` payload; strawberry fills it in.
    connection_params: dict[str, object] | None = None
    # The WebSocket a subscription runs on (None over HTTP): a subscriber that falls behind is closed.
    websocket: Any = None
    # Mutations per token (LINEAGE_REG_MUTATION_RATE); None: unlimited. One per process, shared by all requests.
    mutation_limiter: RateLimiter | None = None
    # A WebSocket's actor again, from the token it connected with (through the token cache): a long-lived
    # subscription asks before each event, so revocation, expiry and role changes reach it. None over HTTP.
    reauthenticate: Callable[[], Awaitable[Actor | None]] | None = None
    # What was wrong with the Authorization header, when it is not even shaped like one (no `Bearer `).
    auth_problem: str | None = None


def build_context(*, rt: Runtime, actor: Actor | None, base_url: str,
                  mutation_limiter: RateLimiter | None = None) -> Context:
    return Context(rt=rt, actor=actor, loaders=Loaders(rt), base_url=base_url.rstrip("/"),
                   mutation_limiter=mutation_limiter)


Info = _Info[Context, None]
