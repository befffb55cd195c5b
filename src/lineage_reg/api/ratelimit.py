"""Mutations per token: a token bucket per actor name, per process (``LINEAGE_REG_MUTATION_RATE``).

A rate ``"100/10s"`` lets a token send 100 mutations at once and then one more
every 0.1 s. The check runs after validation and before execution, so a
refused mutation changes nothing, and an invalid or over-limit document costs
no token. Queries and subscriptions are never limited here. Each process
counts on its own: N processes behind a load balancer allow up to N times the
rate in total.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from ..config import parse_rate

ANONYMOUS = "(anonymous)"


class RateLimiter:
    def __init__(self, count: int, per_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.count = count
        self.per_seconds = per_seconds
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens left, when counted)

    @classmethod
    def from_spec(cls, spec: str | None) -> RateLimiter | None:
        return cls(*parse_rate(spec)) if spec else None

    def take(self, key: str) -> float:
        """Spend one token of ``key``'s bucket: 0 if there was one, else the seconds until there is."""
        now = self.clock()
        tokens, then = self.buckets.get(key, (float(self.count), now))
        tokens = min(float(self.count), tokens + (now - then) * self.count / self.per_seconds)
        if tokens >= 1:
            self.buckets[key] = (tokens - 1, now)
            return 0.0
        self.buckets[key] = (tokens, now)
        return (1 - tokens) * self.per_seconds / self.count


class MutationRateLimit(SchemaExtension):
    """Must come after QueryLimits: only a document that would run spends a token."""

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        limiter: RateLimiter | None = getattr(ctx.context, "mutation_limiter", None)
        if limiter is not None and not ctx.pre_execution_errors and ctx.operation_type == OperationType.MUTATION:
            actor = getattr(ctx.context, "actor", None)
            name = (actor.name if actor is not None else None) or ANONYMOUS
            if wait := limiter.take(name):
                ctx.pre_execution_errors = [GraphQLError(
                    f"too many mutations for token '{name}': at most {limiter.count} per "
                    f"{limiter.per_seconds:g} s (LINEAGE_REG_MUTATION_RATE); nothing was changed, "
                    f"retry in {wait:.2f} s",
                    extensions={"code": "LIMIT_EXCEEDED", "retryAfterSeconds": round(wait, 3)},
                )]
        yield
