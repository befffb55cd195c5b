"""Subscription fan-out: an event's answer is computed once per distinct subscription, not once per subscriber.

A thousand deploy bots subscribed to the same alias with the same query and the
same access get byte-for-byte the same answer for each event. graphql-core
executes the selection set once per subscriber and event (most of a delivery's
CPU); this executor shares that work: the first subscriber to reach an event
starts the execution, the others await its result. The key holds everything an
answer depends on: the event, the operation (the parser cache hands every
subscriber with the same query text the same document), the variables, and
what the actor may see (``Actor.access_key``).
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from typing import Any

from graphql.execution import Executor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

KEEP = 256  # recent (event, subscription) answers; subscribers reach an event within moments of each other


class FanoutExecutor(StrawberryGraphQLCoreExecutionContext):
    _fanout_key: tuple[Any, ...] | None = None

    def build_per_event_executor(self, payload: Any) -> Executor:
        executor = super().build_per_event_executor(payload)
        rec = getattr(payload, "_rec", None)
        context = self.context_value
        actor = getattr(context, "actor", None)
        if rec is not None and actor is not None:
            variables = json.dumps(getattr(self.variable_values, "coerced", self.variable_values), sort_keys=True,
                                   default=str)
            executor._fanout_key = (type(payload).__name__, rec.id, id(self.operation), variables, actor.access_key)
        return executor

    def execute_operation(self, serially: bool | None = None) -> Any:
        key = self._fanout_key
        if key is None:
            return super().execute_operation(serially)
        shared: OrderedDict[tuple[Any, ...], tuple[Any, asyncio.Future[Any]]] = (
            self.context_value.rt.caches.setdefault("fanout", OrderedDict()))
        hit = shared.get(key)
        if hit is None or hit[0] is not self.operation:  # the operation is kept so its id can't be reused meanwhile
            result = super().execute_operation(serially)
            if not self.is_awaitable(result):
                return result
            future = asyncio.ensure_future(result)  # a task of its own: one subscriber leaving doesn't cancel it
            shared[key] = (self.operation, future)
            if len(shared) > KEEP:
                shared.popitem(last=False)
            hit = shared[key]
        return asyncio.shield(hit[1])
