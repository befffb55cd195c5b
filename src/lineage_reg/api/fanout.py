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
import inspect
import json
from collections import OrderedDict
from collections.abc import Coroutine
from types import CoroutineType
from typing import Any

from graphql.execution import Executor
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

KEEP = 256  # recent (event, subscription) answers; subscribers reach an event within moments of each other


class SettlingExecutor(StrawberryGraphQLCoreExecutionContext):
    """Closes the coroutines an execution abandoned, once its work has settled.

    graphql-core creates a field's coroutine as soon as it reaches the field (its resolver's, its list items',
    its sub-selection's) and gathers siblings with cancellation: when one fails - a refused non-null field, which
    nulls its parent - the others' tasks are cancelled, some before their first step, and the coroutines those
    held were never started. Left alone, the cyclic GC finalises them at some later, random moment ("coroutine
    ... was never awaited", or KeyError '__import__' when that moment falls inside a namedtuple's ``__new__``).
    Every coroutine the executor hands on passes through ``is_awaitable`` (or is a list item's wrapper); once
    the answer is built and the background settling is over, those never started are closed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        made: list[Coroutine[Any, Any, Any]] = []
        plain = self.is_awaitable

        def is_awaitable(value: Any) -> bool:
            if type(value) is CoroutineType:
                made.append(value)
                return True
            return plain(value)

        self._made = made
        self.is_awaitable = is_awaitable  # type: ignore[method-assign, assignment]

    def complete_list_item_value(self, item: Any, complete_results: list[Any], *args: Any) -> bool:
        if super().complete_list_item_value(item, complete_results, *args):
            self._made.append(complete_results[-1])  # its own wrapper, not seen by is_awaitable
            return True
        return False

    def complete_awaitable_list_item_value(self, *args: Any) -> Any:
        coroutine = super().complete_awaitable_list_item_value(*args)
        self._made.append(coroutine)
        return coroutine

    def execute_operation(self, serially: bool | None = None) -> Any:
        result = super().execute_operation(serially)
        if not inspect.isawaitable(result):
            self._close_abandoned()
            return result
        return self._settled(result)

    async def _settled(self, result: Any) -> Any:
        answer = await result
        while self.background_futures:  # siblings of a failed field, settled in the background
            await asyncio.wait(list(self.background_futures))
        self._close_abandoned()
        return answer

    def _close_abandoned(self) -> None:
        made, self._made[:] = list(self._made), []
        for coroutine in made:
            if inspect.getcoroutinestate(coroutine) == inspect.CORO_CREATED:
                coroutine.close()


class FanoutExecutor(SettlingExecutor):
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
