"""A bus that delivers every event of the log, whichever process wrote it, in sequence order with no gaps.

The bus keeps the next sequence number it expects (``next_sequence``) and
delivers events strictly in that order. This process's events (``publish``,
at commit) and other processes' (read back from the log when a subclass says
there is news: a PostgreSQL NOTIFY, a change of SQLite's data_version) go into
a buffer first; the buffer is emptied up to the first missing number.

A missing number below a known event is either committed but not read yet,
still in flight in a transaction that has not committed, or a hole that will
never be filled (a rolled-back or retried transaction used it). The bus reads
the log to fill it; when it is still missing after ``GAP_WAIT_SECONDS``, it asks
the database to ``settle``: to return once no transaction that could still
commit that number is open (SQLite: at once, its writers are serialised;
PostgreSQL: once every transaction that held the event table's insert lock at
that moment has ended). Then the log is read once more and whatever is still
missing below the known event is a hole for good: the bus moves past it. So
no event is ever skipped, and none is ever delivered after a later one.

The buffer only saves reads: everything in it is also in the log. When it
holds ``BUFFER_LIMIT`` events, later ones are left to be read back from there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from ..records import EventRec
from .bus import InProcessBus

FETCH_BATCH = 1_000
BUFFER_LIMIT = 10_000
GAP_WAIT_SECONDS = 0.05  # a gap usually fills within milliseconds, as the transaction that holds it commits
RETRY_SECONDS = 1.0

log = logging.getLogger("lineage_reg.events")


class CatchUpBus(InProcessBus):
    def __init__(
        self, *, fetch_after: Callable[[int, int], Awaitable[list[EventRec]]], latest_id: Callable[[], Awaitable[int]],
        settle: Callable[[], Awaitable[None]],
    ) -> None:
        """``fetch_after(after, limit)``: up to ``limit`` committed events after ``after``, in order;
        ``settle()``: returns once every transaction that was open when it was called, and could still commit
        an event, has ended."""
        super().__init__()
        self._fetch_after = fetch_after
        self._latest_id = latest_id
        self._settle = settle
        self._buffer: dict[int, EventRec] = {}
        self._refused = False  # an event was left to the log because the buffer was full
        self._gap_at = 0  # the missing sequence the gap timer runs for
        self._gap_since = 0.0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._connect()
        latest = await self._latest_id()
        await self._settle()  # an event below ``latest`` still in flight commits before we start: replays serve it
        self.next_sequence = latest + 1  # events up to here predate this process: replays serve them
        self._task = asyncio.create_task(self._run(), name="lineage-reg-bus")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._disconnect()

    async def _connect(self) -> None:
        """Open whatever tells us of new events."""

    async def _disconnect(self) -> None:
        pass

    async def _ensure_connected(self) -> None:
        pass

    def wake(self) -> None:
        self._wake.set()

    def seen(self, event_id: int) -> bool:
        """Delivered, waiting in the buffer, or older than this process."""
        return event_id < self.next_sequence or event_id in self._buffer

    def publish(self, events: list[EventRec]) -> None:
        """This process's committed events: delivered at once unless events before them are still missing."""
        for event in events:
            self._keep(event)
        self._flush()
        if self._refused or any(event.id >= self.next_sequence for event in events):
            self.wake()  # a gap before our own events: look for the missing ones in the log

    def _keep(self, event: EventRec) -> None:
        if event.id < self.next_sequence or event.id in self._buffer:
            return
        if len(self._buffer) >= BUFFER_LIMIT and event.id > max(self._buffer):
            self._refused = True  # it stays in the log, to be read once the gap before it has closed
            return
        self._buffer[event.id] = event

    def _flush(self) -> None:
        while (event := self._buffer.pop(self.next_sequence, None)) is not None:
            self.dispatch(event)

    def _gap_age(self) -> float | None:
        """Seconds the first missing sequence has been missing; None when nothing is."""
        if not self._buffer:
            return None
        now = time.monotonic()
        if self._gap_at != self.next_sequence:
            self._gap_at, self._gap_since = self.next_sequence, now
        return now - self._gap_since

    async def _read_log(self) -> int | None:
        """Buffer and deliver what the log holds after the last delivered event. Returns the sequence up to
        which the log was read completely when a gap stopped the reading, None when it was read to its end."""
        self._refused = False
        while True:
            batch = await self._fetch_after(self.next_sequence - 1, FETCH_BATCH)
            for event in batch:
                self._keep(event)
            self._flush()
            if len(batch) < FETCH_BATCH:
                return None
            if batch[-1].id >= self.next_sequence:
                return batch[-1].id  # stuck at a gap: reading on would return the same batch

    async def _close_gap(self) -> None:
        """The gap outlasted its wait: once nothing can fill it any more, read the log a last time and move past
        the numbers still missing."""
        known = max(self._buffer)  # committed, so each event below it that will ever commit has its number
        await self._settle()  # ... and now every transaction that could still commit one has ended
        read_to = await self._read_log()
        through = known if read_to is None else min(known, read_to)
        # That read returned every committed event up to ``through``, and kept each one (only an event above the
        # buffer's highest is refused, and the buffer still holds ``known`` unless it was delivered, which ends
        # the loop): a number up to there that is not in the buffer never committed.
        while self.next_sequence <= through:
            if self.next_sequence not in self._buffer:
                log.debug("event sequence %d was never committed; going on", self.next_sequence)
                self.next_sequence += 1
            self._flush()

    async def _run(self) -> None:
        while True:
            age = self._gap_age()
            try:
                await asyncio.wait_for(self._wake.wait(), None if age is None else max(0.0, GAP_WAIT_SECONDS - age))
            except TimeoutError:
                pass
            self._wake.clear()
            try:
                await self._ensure_connected()
                await self._read_log()
                age = self._gap_age()
                if age is not None and age >= GAP_WAIT_SECONDS:
                    await self._close_gap()
                    self._wake.set()  # what the gap held back may be more than one read brought
            except Exception as exc:  # a lost database must not end delivery for good
                log.warning("event catch-up failed: %s; retrying in %.0fs", exc, RETRY_SECONDS)
                await self._disconnect()
                await asyncio.sleep(RETRY_SECONDS)
                self._wake.set()
