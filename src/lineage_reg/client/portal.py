"""How the synchronous SDK runs the async one: an event loop on a thread of its own.

Each ``Registry`` owns a ``Portal``: a daemon thread running an event loop, where its ``AsyncRegistry``
lives. A blocking call hands a coroutine to that loop and waits for it. Because the loop is never the
caller's, the blocking SDK works the same in a script, a thread pool, or a notebook whose own loop is
already running (where ``asyncio.run`` would refuse).

An interrupt (Ctrl-C) while waiting cancels the coroutine and waits for its cleanup (temporary files
removed, connections released) before it propagates.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

T = TypeVar("T")
P = ParamSpec("P")
CLEANUP_SECONDS = 10.0  # how long an interrupted call may take to tidy up


class Portal:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="lineage-reg-sdk", daemon=True)
        self._thread.start()

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the portal's loop and return its result (or raise its exception) here."""
        if self.loop.is_closed():
            coro.close()
            raise RuntimeError("this Registry is closed; make a new one")
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("a blocking Registry call from its own event loop would wait forever; "
                               "in async code use lineage_reg.client.AsyncRegistry")
        finished = threading.Event()

        async def run() -> T:
            try:
                return await coro
            finally:
                finished.set()

        future = asyncio.run_coroutine_threadsafe(run(), self.loop)
        try:
            return future.result()
        except BaseException:
            if future.cancel():  # interrupted while it ran: stop it and let its cleanup finish
                finished.wait(CLEANUP_SECONDS)
            raise

    def iterate(self, agen: AsyncIterator[T]) -> Iterator[T]:
        """An async iterator as a blocking one; closing (or abandoning) it closes ``agen`` on the loop."""
        try:
            while True:
                try:
                    yield self.call(agen.__anext__())  # type: ignore[arg-type]
                except StopAsyncIteration:
                    return
        finally:
            aclose = getattr(agen, "aclose", None)
            if aclose is not None and not self.loop.is_closed():
                if threading.current_thread() is self._thread:  # abandoned, and collected on the loop's thread
                    self.loop.create_task(aclose())
                else:
                    self.call(aclose())

    def close(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class Facade(Protocol):
    """A blocking object in front of an async one: ``_aio`` runs on ``_portal``'s loop."""

    _portal: Portal
    _aio: Any


def blocking(method: Callable[Concatenate[Any, P], Coroutine[Any, Any, T]]) -> Callable[Concatenate[Facade, P], T]:
    """A facade's method that runs the async object's ``method`` and waits: same name, signature and docs."""

    @functools.wraps(method)
    def call(self: Facade, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self._portal.call(method(self._aio, *args, **kwargs))

    return call
