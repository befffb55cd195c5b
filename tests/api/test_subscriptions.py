"""Subscriptions over a real WebSocket (graphql-transport-ws), on SQLite and PostgreSQL.

What a deploy bot relies on: it must authenticate in `connection_init`; it sees
every move of the alias it watches, live, with the version it moved to and
from; when it reconnects with the sequence of the last event it saw it gets
exactly what it missed, in order, then live events, with nothing twice and
nothing lost. Every wait has a timeout: a broken server fails a test, never
hangs it.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets

from conftest import Api, LiveServer
from lineage_reg.config import Settings
from lineage_reg.services import actors
from lineage_reg.store import tokens as token_store
from lineage_reg.store.db import Database
from lineage_reg.clock import utcnow
from support.versions import log_version
from support.ws import connected, raw_socket, subscribe

pytestmark = pytest.mark.network  # WebSockets and server processes: the real server

SET = ('mutation($c: String!, $a: String!, $v: String!) { setAlias(input: {collection: $c, alias: $a, version: $v}) '
       "{ name } }")
REMOVE = "mutation($c: String!, $a: String!) { removeAlias(collection: $c, alias: $a) }"
ALIAS_CHANGED = """subscription($after: Float) {
  aliasChanged(collection: "churn/churn-model", alias: "staging", after: $after) {
    alias collection event { sequence kind actor } version { ref } previous { ref }
  }
}"""
MODEL = "churn/churn-model"


async def setup(api: Api, versions: int) -> None:
    """Project churn; classifier v0..v{n-1}, each linked into churn/churn-model and into churn/other-model."""
    await api('mutation { createProject(name: "churn") { id } }')
    for i in range(versions):
        await log_version(api, {"m.bin": f"weights-{i}".encode()})
        for model in (MODEL, "churn/other-model"):
            await api('mutation($v: String!, $m: String!) { linkVersion(input: {version: $v, registeredModel: $m}) '
                      "{ id } }", v=f"churn/classifier:v{i}", m=model)


async def staging_sequences(api: Api, after: int = 0) -> list[int]:
    """Every staging move on churn/churn-model after ``after``, from the event log itself."""
    data = await api("query($after: Float) { events(project: \"churn\", after: $after, first: 500) { edges { node { "
                     "sequence kind collection alias } } } }", after=after)
    return [int(e["node"]["sequence"]) for e in data["events"]["edges"]
            if e["node"]["kind"] in ("alias.set", "alias.removed") and e["node"]["collection"] == MODEL
            and e["node"]["alias"] == "staging"]


def ref(n: int) -> str:
    return f"churn/classifier:v{n}"


# --------------------------------------------------------------------------------------------------------------
# (a) Authentication in connection_init.

async def revoked_token(api: Api, settings: Settings) -> str:
    secret = await api.token_for("admin", "revoked")
    db = Database(settings.effective_database_url)
    try:
        [token_id] = [row.id for row in await db.transaction(token_store.list_tokens) if row.name == "revoked"]
        assert await db.transaction(lambda c: token_store.revoke_token(c, token_id, utcnow()))
    finally:
        await db.dispose()
    return secret


@pytest.mark.parametrize("payload", [
    None,  # connection_init without a payload
    {},  # ... or without a token
    {"Authorization": "Bearer garbage"},
    {"Authorization": "Bearer lrt_" + "x" * 43},
    {"Authorization": "Basic YWRtaW46YWRtaW4="},
    {"Authorization": 12345},
    {"Authorization": ["Bearer", "x"]},
    "revoked",
])
async def test_connection_init_without_a_valid_token_is_rejected(
    api: Api, settings: Settings, dialect: str, payload: Any
) -> None:
    if payload == "revoked":
        payload = {"Authorization": f"Bearer {await revoked_token(api, settings)}"}
    async with raw_socket(api) as sock:
        init: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            init["payload"] = payload
        await sock.send(init)
        assert await sock.closed_with() == 4403


async def test_subscribe_before_connection_init_is_rejected(api: Api, dialect: str) -> None:
    async with raw_socket(api) as sock:
        await sock.send({"id": "1", "type": "subscribe", "payload": {"query": ALIAS_CHANGED}})
        assert await sock.closed_with() == 4401  # Unauthorized: the protocol's own answer


async def test_any_valid_role_may_subscribe_and_the_bare_header_works(api: Api, dialect: str) -> None:
    await setup(api, 1)
    viewer = await api.token_for("viewer", "deploy-bot")
    async with raw_socket(api) as sock:
        await sock.send({"type": "connection_init", "payload": {"authorization": f"Bearer {viewer}"}})
        assert (await sock.receive())["type"] == "connection_ack"
        await subscribe(sock, api.server, ALIAS_CHANGED)
        await api(SET, c=MODEL, a="staging", v=ref(0))
        change = await sock.next("aliasChanged")
    assert change["version"] == {"ref": ref(0)} and change["event"]["actor"] == "bootstrap-admin"


async def test_a_revoked_token_is_cut_off_before_its_next_event(
    api: Api, settings: Settings, dialect: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(actors, "CACHE_SECONDS", 0.2)  # the server runs in this process
    await setup(api, 2)
    bot = await api.token_for("viewer", "leaving-bot")
    async with connected(api, bot) as sock:
        await subscribe(sock, api.server, ALIAS_CHANGED)
        await api(SET, c=MODEL, a="staging", v=ref(0))
        assert (await sock.next("aliasChanged"))["version"] == {"ref": ref(0)}
        db = Database(settings.effective_database_url)
        try:
            [token_id] = [row.id for row in await db.transaction(token_store.list_tokens) if row.name == "leaving-bot"]
            assert await db.transaction(lambda c: token_store.revoke_token(c, token_id, utcnow()))
        finally:
            await db.dispose()
        await asyncio.sleep(0.5)  # the token cache's lifetime
        await api(SET, c=MODEL, a="staging", v=ref(1))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            message = await sock.receive()  # the move must not arrive: the socket closes instead
            raise AssertionError(f"unexpected message {message}")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    assert "revoked" in closed.value.rcvd.reason


async def test_a_role_removed_in_this_process_applies_to_the_very_next_event(api: Api, dialect: str) -> None:
    """A member removed from a project stops seeing its events, with no cache lifetime to wait out: the removal
    itself expires what the token cache knew."""
    await setup(api, 2)
    await api('mutation { addMember(project: "churn", user: "carol", role: "viewer") { user } }')
    carol = await api.token_for("user", "carol")
    async with connected(api, carol) as sock:
        await subscribe(sock, api.server, 'subscription { events(project: "churn") { sequence kind } }')
        await api(SET, c=MODEL, a="staging", v=ref(0))
        assert (await sock.next("events"))["kind"] == "alias.set"
        await api('mutation { removeMember(project: "churn", user: "carol") { user } }')
        await api(SET, c=MODEL, a="staging", v=ref(1))
        await sock.quiet()


def revoke_in_a_process_of_its_own(settings: Settings, name: str) -> None:
    """`lineage-reg token revoke`, as an operator runs it."""
    import subprocess
    import sys

    common = ["--data-dir", str(settings.data_dir), "--database-url", settings.effective_database_url]
    listed = subprocess.run([sys.executable, "-m", "lineage_reg.cli", "token", "list", *common],
                            capture_output=True, text=True, check=True, timeout=60).stdout
    [token_id] = [line.split("\t")[0] for line in listed.splitlines() if line.split("\t")[1] == name]
    subprocess.run([sys.executable, "-m", "lineage_reg.cli", "token", "revoke", token_id, *common],
                   check=True, timeout=60)


async def test_access_taken_away_in_other_processes_applies_to_the_next_event(
    api: Api, settings: Settings, dialect: str
) -> None:
    """A role removed through another server process, a token revoked with the CLI: the subscriber on this
    process gets nothing committed after that, with no cache lifetime to wait out (docs/events.md: well within
    1 s; PostgreSQL carries it by NOTIFY, SQLite by data_version)."""
    import httpx

    from support.processes import server_process

    await setup(api, 2)
    await api('mutation { addMember(project: "churn", user: "carol", role: "viewer") { user } }')
    carol = await api.token_for("user", "carol")
    bot = await api.token_for("viewer", "leaving-bot")
    query = 'subscription { events(project: "churn") { sequence kind } }'
    with server_process(settings) as other_url:
        async with httpx.AsyncClient(timeout=30) as http:
            other = Api(api.server, http, api.token)
            other.url = other_url
            async with connected(api, carol) as member, connected(api, bot) as revoked:
                await subscribe(member, api.server, query)
                await subscribe(revoked, api.server, query)
                await other(SET, c=MODEL, a="staging", v=ref(0))
                assert (await member.next("events"))["kind"] == "alias.set"
                assert (await revoked.next("events"))["kind"] == "alias.set"  # both cached their actor now

                await other('mutation { removeMember(project: "churn", user: "carol") { user } }')
                await asyncio.to_thread(revoke_in_a_process_of_its_own, settings, "leaving-bot")
                await other(SET, c=MODEL, a="staging", v=ref(1))
                await member.quiet()
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    message = await revoked.receive()  # the move must not arrive: the socket closes instead
                    if message["payload"]["data"]["events"]["kind"] == "member.removed":
                        message = await revoked.receive()  # committed before the revocation: the bot may see it
                    raise AssertionError(f"unexpected message {message}")
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


# --------------------------------------------------------------------------------------------------------------
# (b) Live alias moves.

async def test_live_alias_moves(api: Api, dialect: str) -> None:
    await setup(api, 3)
    mover = api.as_token(await api.token_for("member", "ci-bot"))
    bot = await api.token_for("viewer", "deploy-bot")
    async with connected(api, bot) as sock:
        await subscribe(sock, api.server, ALIAS_CHANGED)
        await mover(SET, c=MODEL, a="staging", v=ref(0))
        first = await sock.next("aliasChanged")
        # Moves the filters keep out: another alias, the same alias in another collection.
        await api(SET, c=MODEL, a="production", v=ref(0))
        await mover(SET, c="churn/other-model", a="staging", v=ref(2))
        await mover(SET, c="churn/classifier", a="staging", v=ref(2))
        await mover(SET, c=MODEL, a="staging", v=ref(1))
        second = await sock.next("aliasChanged")
        await mover(REMOVE, c=MODEL, a="staging")
        removed = await sock.next("aliasChanged")
        await sock.quiet()

    assert first == {"alias": "staging", "collection": MODEL, "version": {"ref": ref(0)}, "previous": None,
                     "event": {"sequence": first["event"]["sequence"], "kind": "alias.set", "actor": "ci-bot"}}
    assert second["version"] == {"ref": ref(1)} and second["previous"] == {"ref": ref(0)}
    assert second["event"]["kind"] == "alias.set" and second["event"]["actor"] == "ci-bot"
    assert removed["version"] is None and removed["previous"] == {"ref": ref(1)}
    assert removed["event"]["kind"] == "alias.removed"
    sequences = [int(c["event"]["sequence"]) for c in (first, second, removed)]
    assert sequences == await staging_sequences(api)


async def test_two_subscriptions_on_one_connection_each_get_their_own(api: Api, dialect: str) -> None:
    await setup(api, 2)
    production = ALIAS_CHANGED.replace('alias: "staging"', 'alias: "production"')
    async with connected(api, api.token) as sock:
        await subscribe(sock, api.server, ALIAS_CHANGED, sub_id="staging")
        await subscribe(sock, api.server, production, sub_id="production")
        await api(SET, c=MODEL, a="production", v=ref(1))
        await api(SET, c=MODEL, a="staging", v=ref(0))
        got = {}
        for _ in range(2):
            message = await sock.receive()
            assert message["type"] == "next", message
            got[message["id"]] = message["payload"]["data"]["aliasChanged"]
        await sock.send({"id": "staging", "type": "complete"})
        await api(SET, c=MODEL, a="staging", v=ref(1))  # no longer watched
        await api(SET, c=MODEL, a="production", v=ref(0))
        assert (await sock.next("aliasChanged", "production"))["version"] == {"ref": ref(0)}
        await sock.quiet()
    assert got["staging"]["alias"] == "staging" and got["staging"]["version"] == {"ref": ref(0)}
    assert got["production"]["alias"] == "production" and got["production"]["version"] == {"ref": ref(1)}


# --------------------------------------------------------------------------------------------------------------
# (c) Reconnect with `after`: replay, then live; nothing twice, nothing lost.

async def test_reconnect_replays_missed_moves_then_goes_live(api: Api, dialect: str) -> None:
    await setup(api, 5)
    async with connected(api, api.token) as sock:
        await subscribe(sock, api.server, ALIAS_CHANGED)
        await api(SET, c=MODEL, a="staging", v=ref(0))
        seen = int((await sock.next("aliasChanged"))["event"]["sequence"])

    # The bot is away: two staging moves it must get, noise it must not.
    await api(SET, c=MODEL, a="staging", v=ref(1))
    await api(SET, c=MODEL, a="production", v=ref(1))
    await api(SET, c="churn/other-model", a="staging", v=ref(1))
    await api(SET, c=MODEL, a="staging", v=ref(2))

    async with connected(api, api.token) as sock:
        await subscribe(sock, api.server, ALIAS_CHANGED, after=seen)
        replayed = [await sock.next("aliasChanged") for _ in range(2)]
        await api(SET, c=MODEL, a="staging", v=ref(3))
        live = await sock.next("aliasChanged")
        await api(SET, c=MODEL, a="staging", v=ref(4))
        live2 = await sock.next("aliasChanged")
        await sock.quiet()  # nothing twice

    assert [(r["previous"], r["version"]) for r in replayed] == [
        ({"ref": ref(0)}, {"ref": ref(1)}), ({"ref": ref(1)}, {"ref": ref(2)})]
    assert live["previous"] == {"ref": ref(2)} and live["version"] == {"ref": ref(3)}
    assert live2["previous"] == {"ref": ref(3)} and live2["version"] == {"ref": ref(4)}
    got = [int(c["event"]["sequence"]) for c in (*replayed, live, live2)]
    assert got == await staging_sequences(api, after=seen)  # in order, no gap, no duplicate

    # `after: 0` is the whole history.
    async with connected(api, api.token) as sock:
        await subscribe(sock, api.server, ALIAS_CHANGED, after=0)
        everything = [await sock.next("aliasChanged") for _ in range(5)]
        await sock.quiet()
    assert [r["version"]["ref"] for r in everything] == [ref(i) for i in range(5)]
    assert [int(c["event"]["sequence"]) for c in everything] == await staging_sequences(api)


async def test_moves_during_the_replay_are_neither_lost_nor_doubled(api: Api, dialect: str) -> None:
    """Moves keep coming while a bot reconnects: whatever the timing, it gets each one exactly once, in order."""
    await setup(api, 4)
    await api(SET, c=MODEL, a="staging", v=ref(0))
    seen = (await staging_sequences(api))[-1]
    for i in range(12):  # a backlog to replay
        await api(SET, c=MODEL, a="staging", v=ref(1 + i % 3))

    async def keep_moving() -> None:
        for i in range(12):
            await api(SET, c=MODEL, a="staging", v=ref(i % 4))

    async with connected(api, api.token) as sock:
        await sock.send({"id": "1", "type": "subscribe", "payload": {"query": ALIAS_CHANGED,
                                                                    "variables": {"after": seen}}})
        mover = asyncio.create_task(keep_moving())
        try:
            got = [await sock.next("aliasChanged") for _ in range(24)]
        finally:
            await asyncio.wait_for(mover, 30)
        await sock.quiet()
    sequences = [int(c["event"]["sequence"]) for c in got]
    assert sequences == await staging_sequences(api, after=seen)
    for before, after in zip(got, got[1:]):  # each move starts where the previous one ended
        assert after["previous"] == before["version"]


async def test_bad_after_is_an_error_not_a_silent_stream(api: Api, dialect: str) -> None:
    await setup(api, 1)
    async with connected(api, api.token) as sock:
        await sock.send({"id": "1", "type": "subscribe", "payload": {"query": ALIAS_CHANGED,
                                                                    "variables": {"after": -1}}})
        message = await sock.receive()
    assert message["type"] in ("error", "next"), message
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_INPUT", errors


# --------------------------------------------------------------------------------------------------------------
# (d) events(project:, kinds:).

async def test_events_filtered_by_project_and_kind(api: Api, dialect: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    await api('mutation { createProject(name: "vision") { id } }')
    query = ('subscription { events(project: "churn", kinds: ["version.committed", "run.started"]) '
             "{ sequence kind project actor payload } }")
    async with connected(api, api.token) as sock:
        await subscribe(sock, api.server, query)
        # version.created, version.committed and alias.set (latest) each time; only the commit is wanted.
        await log_version(api, {"a": b"a"})
        await log_version(api, {"v": b"v"}, project="vision")  # another project
        await api('mutation { startRun(input: {project: "churn", name: "r"}) { id } }')
        await api('mutation { startRun(input: {project: "vision", name: "r"}) { id } }')
        await log_version(api, {"b": b"b"})
        got = [await sock.next("events") for _ in range(3)]
        await sock.quiet()
    assert [e["kind"] for e in got] == ["version.committed", "run.started", "version.committed"]
    assert {e["project"] for e in got} == {"churn"}
    assert [got[0]["payload"]["ref"], got[2]["payload"]["ref"]] == [ref(0), ref(1)]
    assert got[0]["sequence"] < got[1]["sequence"] < got[2]["sequence"]
    # The same filter on a replay: the log agrees.
    async with connected(api, api.token) as sock:
        await subscribe(sock, api.server, query.replace('kinds: [', 'after: 0, kinds: ['))
        replayed = [await sock.next("events") for _ in range(3)]
        await sock.quiet()
    assert replayed == got


async def test_events_without_filters_see_every_kind(api: Api, dialect: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    log = "{ events(first: 500) { edges { node { sequence kind collection alias } } } }"
    before = len((await api(log))["events"]["edges"])
    async with connected(api, api.token) as sock:
        await subscribe(sock, api.server, "subscription { events { sequence kind collection alias } }")
        await log_version(api, {"a": b"a"})
        await api('mutation { startRun(input: {project: "churn", name: "r"}) { id } }')
        expected = [e["node"] for e in (await api(log))["events"]["edges"]][before:]
        got = [await sock.next("events") for _ in expected]
        await sock.quiet()
    assert got == expected
    assert {"version.created", "version.committed", "alias.set", "run.started"} <= {e["kind"] for e in got}
    # A collection is named project/name here as everywhere else; a run's event concerns none.
    assert {"kind": "alias.set", "collection": "churn/classifier", "alias": "latest"} in [
        {k: e[k] for k in ("kind", "collection", "alias")} for e in got]
    assert {e["collection"] for e in got if e["kind"] == "run.started"} == {None}
    assert {e["collection"] for e in got if e["kind"] != "run.started"} == {"churn/classifier"}


async def test_anonymous_subscribers_only_where_anonymous_reads_are_allowed(settings: Settings, dialect: str) -> None:
    import dataclasses

    import httpx

    with LiveServer(dataclasses.replace(settings, anonymous="read")) as live:
        async with httpx.AsyncClient(timeout=30) as http:
            api = Api(live, http, live.admin_token())
            await setup(api, 1)
            async with raw_socket(api) as sock:
                await sock.send({"type": "connection_init", "payload": {}})
                assert (await sock.receive())["type"] == "connection_ack"
                await subscribe(sock, live, ALIAS_CHANGED)
                await api(SET, c=MODEL, a="staging", v=ref(0))
                assert (await sock.next("aliasChanged"))["version"] == {"ref": ref(0)}
            async with raw_socket(api) as sock:  # a bad token is still refused: it is not anonymity
                await sock.send({"type": "connection_init", "payload": {"Authorization": "Bearer garbage"}})
                assert await sock.closed_with() == 4403


# --------------------------------------------------------------------------------------------------------------
# (e) Bad input: unknown targets are errors on a socket that stays usable; protocol violations close it.

@pytest.mark.parametrize("query, code", [
    ('subscription { aliasChanged(collection: "churn/nope") { alias } }', "NOT_FOUND"),
    ('subscription { aliasChanged(collection: "elsewhere/churn-model") { alias } }', "NOT_FOUND"),
    ('subscription { aliasChanged(collection: "churn/churn-model", alias: "Not An Alias") { alias } }', "BAD_INPUT"),
    ('subscription { events(project: "nope") { kind } }', "NOT_FOUND"),
    ('subscription { events(kinds: ["alias.exploded"]) { kind } }', "BAD_INPUT"),
])
async def test_unknown_targets_are_errors_and_the_socket_stays_usable(
    api: Api, dialect: str, query: str, code: str
) -> None:
    await setup(api, 1)
    async with connected(api, api.token) as sock:
        await sock.send({"id": "bad", "type": "subscribe", "payload": {"query": query}})
        message = await sock.receive()
        assert message["type"] in ("error", "next") and message["id"] == "bad", message
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == code, errors
        assert "Traceback" not in json.dumps(message)
        if message["type"] == "next":  # an error raised while starting the stream: then the stream completes
            assert await sock.receive() == {"id": "bad", "type": "complete"}

        await subscribe(sock, api.server, ALIAS_CHANGED, sub_id="good")
        await api(SET, c=MODEL, a="staging", v=ref(0))
        assert (await sock.next("aliasChanged", "good"))["version"] == {"ref": ref(0)}


@pytest.mark.parametrize("messages, code", [
    (["not json"], 4400),
    ([{"type": "no-such-type"}], 4400),
    ([{"id": "1", "type": "subscribe", "payload": {"query": "subscription { events { kind } }"}}] * 2, 4409),
    ([{"type": "connection_init"}], 4429),
])
async def test_protocol_violations_close_with_the_protocols_codes(
    api: Api, dialect: str, messages: list[Any], code: int
) -> None:
    async with connected(api, api.token) as sock:
        for message in messages:
            await sock.ws.send(message if isinstance(message, str) else json.dumps(message))
        assert await sock.closed_with() == code


async def test_a_subscriber_that_falls_behind_is_disconnected_and_resumes_with_after(
    settings: Settings, dialect: str
) -> None:
    import dataclasses

    import httpx

    with LiveServer(dataclasses.replace(settings, subscriber_queue=3)) as server:
        async with httpx.AsyncClient(timeout=30) as http:
            api = Api(server, http, server.admin_token())
            await setup(api, 1)
            first = await staging_sequences(api)
            query = 'subscription($after: Float) { events(project: "churn", after: $after) { sequence kind alias } }'
            async with connected(api, api.token) as sock:
                await subscribe(sock, server, query)
                # One commit that writes more events than the queue holds, all published at once.
                await log_version(api, {"m.bin": b"more weights"}, aliases=["a", "b", "c", "d", "e"])
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    while True:
                        await sock.receive()
                assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
                reason = closed.value.rcvd.reason
                assert reason.startswith("subscriber fell behind; resubscribe with after: "), reason
                resume = int(reason.rsplit(" ", 1)[1])
            log = await api("query($a: Float) { events(project: \"churn\", after: $a, first: 100) { edges { node { "
                            "sequence kind } } } }", a=resume)
            missed = [int(e["node"]["sequence"]) for e in log["events"]["edges"]]
            kinds = [e["node"]["kind"] for e in log["events"]["edges"]]
            assert missed and set(kinds) == {"alias.set"} and first == []
            async with connected(api, api.token) as sock:
                await sock.send({"id": "1", "type": "subscribe", "payload": {"query": query,
                                                                            "variables": {"after": resume}}})
                replayed = [int((await sock.next("events"))["sequence"]) for _ in missed]
                assert replayed == missed


async def test_subscribers_share_an_events_answer_only_when_their_requests_are_the_same(
    api: Api, dialect: str
) -> None:
    """Answers are computed once per event and distinct subscription: different variables, different answers."""
    await setup(api, 0)
    query = ('subscription($n: Int) { events(project: "churn", kinds: ["version.committed"]) '
             "{ kind toVersion { files(first: $n) { edges { node { path } } } } } }")
    viewer = await api.token_for("viewer")
    async with connected(api, api.token) as one, connected(api, api.token) as two, \
            connected(api, viewer) as three:
        await subscribe(one, api.server, query, n=1)
        await subscribe(two, api.server, query, n=3)
        await subscribe(three, api.server, query, n=1)
        await log_version(api, {"a.bin": b"a", "b.bin": b"b", "c.bin": b"c"})

        def paths(answer: dict[str, Any]) -> list[str]:
            return [e["node"]["path"] for e in answer["toVersion"]["files"]["edges"]]

        assert paths(await one.next("events")) == ["a.bin"]
        assert paths(await two.next("events")) == ["a.bin", "b.bin", "c.bin"]
        assert paths(await three.next("events")) == ["a.bin"]


async def _fail_alias_inserts_named(settings: Settings, dialect: str, name: str) -> None:
    """A real trigger in the database: any INSERT of alias ``name`` fails, after the statements before it ran."""
    import sqlalchemy as sa

    db = Database(settings.effective_database_url)
    if dialect == "sqlite":
        ddl = [f"CREATE TRIGGER fail_{name} BEFORE INSERT ON alias WHEN NEW.name = '{name}' "
               "BEGIN SELECT RAISE(ABORT, 'injected failure'); END"]
    else:
        ddl = [f"CREATE FUNCTION fail_{name}() RETURNS trigger AS $$ BEGIN IF NEW.name = '{name}' THEN "
               "RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql",
               f"CREATE TRIGGER fail_{name} BEFORE INSERT ON alias FOR EACH ROW EXECUTE FUNCTION fail_{name}()"]

    async def run(conn: Any) -> None:
        for statement in ddl:
            await conn.execute(sa.text(statement))

    try:
        await db.transaction(run)
    finally:
        await db.dispose()


async def test_a_rolled_back_mutation_emits_nothing(api: Api, settings: Settings, dialect: str) -> None:
    """linkVersion writes model.created, version.linked and alias.set (latest) before its last alias insert fails:
    none of them may reach a subscriber, the event log or a webhook."""
    from conftest import snapshot

    await setup(api, 1)
    await _fail_alias_inserts_named(settings, dialect, "doomed")
    await api('mutation { createWebhook(input: {project: "churn", url: "https://hooks.example.com/x", '
              'kinds: ["model.created", "version.linked", "alias.set"], secret: "0123456789abcdef"}) { id } }')
    query = 'subscription { events(project: "churn") { sequence kind } }'
    async with connected(api, api.token) as sock:
        await subscribe(sock, api.server, query)
        before = await snapshot(api.server)
        body = await api.raw('mutation { linkVersion(input: {version: "churn/classifier:v0", '
                             'registeredModel: "churn/fresh-model", aliases: ["doomed"]}) { id } }')
        assert body["errors"][0]["message"].startswith("internal error"), body  # masked: no SQL to the client
        assert await snapshot(api.server) == before  # no event, no delivery, no model, no link
        await api(SET, c="churn/churn-model", a="staging", v=ref(0))  # the next committed change
        assert (await sock.next("events"))["kind"] == "alias.set"  # ... is the first thing the subscriber sees
        await sock.quiet()
