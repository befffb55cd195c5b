"""Events cross between server processes: a subscriber on one server sees writes made through another, every
one, in the log's order.

PostgreSQL carries them by LISTEN/NOTIFY, SQLite by polling its data_version.
The other server is a real `lineage-reg serve` process on the same database.
The bus's ordering (gaps, late commits, holes, a full buffer) is also tested on its own, against a log the
test controls.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import websockets

from conftest import Api
from lineage_reg.config import Settings
from lineage_reg.events import catchup
from lineage_reg.events.bus import Subscription
from lineage_reg.events.catchup import GAP_WAIT_SECONDS, CatchUpBus
from lineage_reg.store.db import Database
from lineage_reg.records import EventRec
from lineage_reg.clock import utcnow
from support.versions import log_version
from support.processes import server_process

pytestmark = pytest.mark.network  # WebSockets and server processes: the real server

SUBSCRIBE = 'subscription { aliasChanged(collection: "churn/prod", alias: "staging") { alias version { ref } } }'
SET = ('mutation($v: String!) { setAlias(input: {collection: "churn/prod", alias: "staging", version: $v}) '
       "{ name } }")


async def seed(api: Api) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    for i in range(3):
        await log_version(api, {"m": f"w{i}".encode()})
        await api('mutation($v: String!) { linkVersion(input: {version: $v, registeredModel: "churn/prod"}) { id } }',
                  v=f"churn/classifier:v{i}")


async def subscribed(api: Api) -> Any:
    ws = await websockets.connect(api.url.replace("http://", "ws://") + "/graphql",
                                  subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {api.token}"}}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    await asyncio.sleep(0.3)  # let the subscription register before the write
    return ws


async def next_ref(ws: Any) -> str:
    message = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert message["type"] == "next", message
    return message["payload"]["data"]["aliasChanged"]["version"]["ref"]  # type: ignore[no-any-return]


async def test_subscriber_sees_another_processs_writes(api: Api, settings: Settings, dialect: str) -> None:
    await seed(api)
    ws = await subscribed(api)
    try:
        with server_process(settings) as other_url:
            async with httpx.AsyncClient() as http:
                other = Api(api.server, http, api.token)
                other.url = other_url
                await other(SET, v="churn/classifier:v0")
                assert await next_ref(ws) == "churn/classifier:v0"
                await other(SET, v="churn/classifier:v1")
                assert await next_ref(ws) == "churn/classifier:v1"
    finally:
        await ws.close()


@pytest.mark.dialects("postgresql")  # only PostgreSQL has a listener connection to drop; SQLite polls its file
async def test_a_dropped_listener_reconnects_and_catches_up(api: Api, settings: Settings, dialect: str) -> None:
    """Kill the server's LISTEN connection; moves made meanwhile by another process still arrive."""
    await seed(api)
    ws = await subscribed(api)
    db = Database(settings.effective_database_url)
    try:
        with server_process(settings) as other_url:
            async with httpx.AsyncClient() as http:
                other = Api(api.server, http, api.token)
                other.url = other_url
                killed = await db.transaction(lambda c: _terminate_listeners(c))
                assert killed >= 1
                await other(SET, v="churn/classifier:v2")  # likely while our listener is down
                assert await next_ref(ws) == "churn/classifier:v2"
                await other(SET, v="churn/classifier:v0")  # and after it is back
                assert await next_ref(ws) == "churn/classifier:v0"
    finally:
        await ws.close()
        await db.dispose()


async def _terminate_listeners(conn: Any) -> int:
    stmt = sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                   "WHERE datname = current_database() AND query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()")
    return int((await conn.execute(stmt)).scalar_one())


# --------------------------------------------------------------------------------------------------------------
# Every event, in the log's order, whichever process wrote it.

MOVE = ('mutation($a: String!, $v: String!) { setAlias(input: {collection: "churn/prod", alias: $a, version: $v}) '
        "{ name } }")
ALIAS_SETS = 'subscription($after: Float) { events(project: "churn", kinds: ["alias.set"], after: $after) { sequence } }'


async def events_socket(url: str, token: str, after: int | None = None) -> Any:
    ws = await websockets.connect(url.replace("http://", "ws://") + "/graphql",
                                  subprotocols=["graphql-transport-ws"])  # type: ignore[list-item]
    await ws.send(json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}))
    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe",
                              "payload": {"query": ALIAS_SETS, "variables": {"after": after}}}))
    return ws


async def sequences(ws: Any, count: int, quiet: float = 10) -> list[int]:
    """The sequences of the next ``count`` events, or of those that came before the stream went quiet."""
    got: list[int] = []
    for _ in range(count):
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), quiet))
        except TimeoutError:
            return got
        assert message["type"] == "next" and not message["payload"].get("errors"), message
        got.append(int(message["payload"]["data"]["events"]["sequence"]))
    return got


async def logged_alias_sets(api: Api, after: int) -> list[int]:
    data = await api('query($a: Float) { events(project: "churn", after: $a, first: 500) '
                     "{ edges { node { sequence kind } } } }", a=after)
    return [int(e["node"]["sequence"]) for e in data["events"]["edges"] if e["node"]["kind"] == "alias.set"]


async def test_subscribers_on_each_process_get_every_event_in_the_logs_order(
    api: Api, settings: Settings, dialect: str
) -> None:
    """Two server processes on one database take interleaved, concurrent alias moves; a live subscriber on each
    gets all of them in strictly increasing sequence, the log's order; one that joins halfway with `after`
    gets exactly the log's rest, with nothing doubled or skipped at the seam between replay and live."""
    await seed(api)
    start = (await logged_alias_sets(api, 0))[-1]
    writers, moves = 2, 10  # per process
    total = 2 * writers * moves
    with server_process(settings) as other_url:
        async with httpx.AsyncClient(timeout=30) as http:
            other = Api(api.server, http, api.token)
            other.url = other_url
            here_ws = await events_socket(api.url, api.token)
            there_ws = await events_socket(other_url, api.token)
            await asyncio.sleep(0.5)  # both subscriptions listen before the first move

            async def mover(client: Api, alias: str) -> None:
                for i in range(moves):
                    await client(MOVE, a=alias, v=f"churn/classifier:v{i % 3}")

            tasks = [asyncio.create_task(mover(client, f"{name}{w}"))
                     for w in range(writers) for client, name in ((api, "here"), (other, "there"))]
            try:
                here = await sequences(here_ws, total // 2)
                joined_after = here[-1]
                late_ws = await events_socket(api.url, api.token, after=joined_after)
                here += await sequences(here_ws, total - total // 2)
                there = await sequences(there_ws, total)
                await asyncio.wait_for(asyncio.gather(*tasks), 60)
                logged = await logged_alias_sets(api, start)
                late = await sequences(late_ws, len([s for s in logged if s > joined_after]))
            finally:
                for task in tasks:
                    task.cancel()
                for ws in (here_ws, there_ws):
                    await ws.close()
    assert len(logged) == total
    assert here == logged, "the subscriber on this process missed or reordered events"
    assert there == logged, "the subscriber on the other process missed or reordered events"
    assert late == [s for s in logged if s > joined_after]


# --------------------------------------------------------------------------------------------------------------
# The bus's ordering itself, with arrivals in every order. The log is a dict of what has committed; ``settle``
# returns when the test says the transactions open at that moment have ended.

class Log:
    def __init__(self) -> None:
        self.committed: dict[int, EventRec] = {}
        self.open_transactions = asyncio.Event()
        self.open_transactions.set()  # none open
        self.settled = 0

    def commit(self, *ids: int) -> list[EventRec]:
        events = [EventRec(id=i, kind="alias.set", actor=None, at=utcnow(), project_id=1, project="p",
                           collection_id=None, collection=None, alias=None, from_version_id=None,
                           to_version_id=None, payload={}) for i in ids]
        self.committed.update((e.id, e) for e in events)
        return events

    async def fetch_after(self, after: int, limit: int) -> list[EventRec]:
        return [self.committed[i] for i in sorted(self.committed) if i > after][:limit]

    async def latest(self) -> int:
        return max(self.committed, default=0)

    async def settle(self) -> None:
        await self.open_transactions.wait()
        self.settled += 1


@asynccontextmanager
async def ordered_bus(log: Log) -> AsyncIterator[CatchUpBus]:
    bus = CatchUpBus(fetch_after=log.fetch_after, latest_id=log.latest, settle=log.settle)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.stop()


async def delivered(sub: Subscription, count: int) -> list[int]:
    return [(await asyncio.wait_for(sub.get(), 5)).id for _ in range(count)]


def nothing_yet(sub: Subscription) -> bool:
    return sub.queue.empty()


async def test_own_events_wait_for_the_earlier_sequences_of_others() -> None:
    log = Log()
    log.commit(1, 2)
    async with ordered_bus(log) as bus:
        sub = bus.subscribe()
        assert sub.start == 3
        bus.publish(log.commit(5))  # ours; 3 and 4 are another process's, committed but not read yet
        log.commit(3, 4)
        assert await delivered(sub, 3) == [3, 4, 5]
        bus.publish(log.commit(7))
        bus.publish(log.commit(6))  # ours, committed after the later one
        assert await delivered(sub, 2) == [6, 7]
        assert nothing_yet(sub)


async def test_a_gap_is_waited_for_while_a_transaction_that_may_fill_it_is_open() -> None:
    """PostgreSQL: number 2 was drawn by a transaction still open when 3 committed; it commits late. It must
    arrive, and before 3, however long the gap wait is overrun."""
    log = Log()
    async with ordered_bus(log) as bus:
        sub = bus.subscribe()
        settled = log.settled
        log.open_transactions.clear()  # the transaction holding number 1 is open
        bus.publish(log.commit(2))
        await asyncio.sleep(GAP_WAIT_SECONDS * 6)
        assert nothing_yet(sub) and log.settled == settled
        log.commit(1)
        log.open_transactions.set()  # it commits: only now may the bus decide anything about number 1
        assert await delivered(sub, 2) == [1, 2]


async def test_a_number_that_never_commits_is_passed_once_nothing_can_fill_it() -> None:
    log = Log()
    async with ordered_bus(log) as bus:
        sub = bus.subscribe()
        log.open_transactions.clear()
        bus.publish(log.commit(3))  # 1 and 2 were drawn by transactions that will roll back
        log.commit(4)
        bus.wake()  # another process's NOTIFY
        await asyncio.sleep(GAP_WAIT_SECONDS * 4)
        assert nothing_yet(sub)
        log.open_transactions.set()  # they rolled back
        assert await delivered(sub, 2) == [3, 4]
        bus.publish(log.commit(5))
        assert await delivered(sub, 1) == [5]  # and the bus goes on at once
        assert nothing_yet(sub)


async def test_a_full_buffer_leaves_later_events_to_the_log(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catchup, "BUFFER_LIMIT", 5)
    monkeypatch.setattr(catchup, "FETCH_BATCH", 4)
    log = Log()
    async with ordered_bus(log) as bus:
        sub = bus.subscribe()
        for i in range(2, 40):
            bus.publish(log.commit(i))  # ours, while number 1 is still missing
        log.commit(1)
        bus.wake()
        assert await delivered(sub, 39) == list(range(1, 40))
        assert nothing_yet(sub) and len(bus._buffer) == 0


@pytest.mark.dialects("postgresql")  # SQLite serialises writers: a lower sequence never commits after a higher one
async def test_a_slow_transactions_lower_sequence_arrives_before_the_later_ones(
    api: Api, settings: Settings, dialect: str
) -> None:
    """A transaction draws a sequence number, then takes long to commit while a later event commits: the later
    event waits (well past the gap wait) and both arrive in sequence order."""
    from lineage_reg.store import events as event_store

    await seed(api)
    ws = await events_socket(api.url, api.token)
    await asyncio.sleep(0.3)
    db = Database(settings.effective_database_url)
    try:
        [project_id] = [row[0] for row in await db.fetch_all(sa.text("SELECT id FROM project WHERE name = 'churn'"))]
        async with db.engine.begin() as slow:
            early = await event_store.insert_event(slow, dict(
                kind="alias.set", actor="slow", at=utcnow(), project_id=project_id, project="churn",
                collection_id=None, collection=None, alias=None, from_version_id=None, to_version_id=None,
                payload={}))
            await api(MOVE, a="later", v="churn/classifier:v0")
            assert await sequences(ws, 1, quiet=20 * GAP_WAIT_SECONDS) == [], "an event was delivered while a lower sequence was in flight"
        got = await sequences(ws, 2)
    finally:
        await ws.close()
        await db.dispose()
    assert got[0] == early.id and got[1] > early.id
