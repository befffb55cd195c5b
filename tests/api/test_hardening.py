"""Hardening of /graphql over real HTTP and WebSocket: limits, GraphQL over HTTP, CSRF, origins, rate limits, fuzz.

Every refusal here is checked to change nothing (row counts and blob files,
``snapshot``) and to carry ``extensions.code``. Tests that only read run on
SQLite; tests that send writes run on both databases.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import websockets

from conftest import Api, LiveServer, snapshot
from lineage_reg.api.limits import MAX_ALIASES, MAX_TOKENS, token_count
from lineage_reg.config import Settings
from support.seed import refused, seed
from support.versions import log_version
from support.ws import PROTOCOL, TIMEOUT, Socket, connected, raw_socket, ws_url

GRAPHQL_RESPONSE = "application/graphql-response+json"
CREATE = 'mutation { createProject(name: "sneaky") { id } }'


@asynccontextmanager
async def server_with(settings: Settings, **changes: Any) -> AsyncIterator[Api]:
    """A second server on the same database and data dir, with some settings changed."""
    with LiveServer(dataclasses.replace(settings, **changes)) as server:
        async with httpx.AsyncClient(timeout=30) as http:
            yield Api(server, http, server.admin_token())


def auth(api: Api, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.token}", **headers}


async def nothing_named_sneaky(api: Api) -> None:
    assert (await api('{ project(name: "sneaky") { id } }'))["project"] is None


def codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body["errors"]]


# --------------------------------------------------------------------------------------------------------------
# Document limits: tokens, aliases (depth: test_bad_input.py), all before anything runs.

async def test_documents_over_the_token_limit_are_refused_before_they_run(api: Api, dialect: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    big = 'mutation { createProject(name: "sneaky") { id ' + "__typename " * (MAX_TOKENS - 11) + "} }"
    assert token_count(big) == MAX_TOKENS + 1
    body = await refused(api, "LIMIT_EXCEEDED", big)
    assert f"more than {MAX_TOKENS} tokens" in body["errors"][0]["message"] and "data" not in body or not body["data"]
    # Comments are not tokens; at the limit itself a document runs.
    await log_version(api, {"m.bin": b"weights"})
    version = (await api('{ resolve(ref: "churn/classifier:v0") { id } }'))["resolve"]["id"]
    at_limit = ("query($v: ID!) { lineage(node: $v, kinds: [" + "ARTIFACT_VERSION, " * (MAX_TOKENS - 27)
                + "]) { nodes { id } } } # " + "x" * 5000)
    assert token_count(at_limit) == MAX_TOKENS
    assert (await api(at_limit, v=version))["lineage"]["nodes"] == [{"id": version}]
    await nothing_named_sneaky(api)


async def test_documents_over_the_alias_limit_are_refused_before_they_run(api: Api, dialect: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    aliased = "mutation { " + " ".join(f'p{i}: createProject(name: "sneaky{i}") {{ id }}'
                                        for i in range(MAX_ALIASES + 1)) + " }"
    body = await refused(api, "LIMIT_EXCEEDED", aliased)
    assert f"at most {MAX_ALIASES}" in body["errors"][0]["message"]
    assert (await api('{ projects { totalCount } }'))["projects"]["totalCount"] == 1


# --------------------------------------------------------------------------------------------------------------
# Introspection and "Did you mean" only in development.

INTROSPECTIONS = [
    "{ __schema { queryType { name } } }",
    '{ __type(name: "Project") { fields { name } } }',
    "query { ...Everything } fragment Everything on Query { __schema { types { name } } }",
    "query { ... on Query { __schema { mutationType { name } } } }",
]
TYPO = "{ projectz { totalCount } }"
ENUM_TYPO = "mutation($r: ID!, $s: RunStatus!) { finishRun(run: $r, status: $s) { status } }"


@pytest.mark.dialects("sqlite")
async def test_introspection_and_suggestions_only_in_dev(api: Api, settings: Settings, dialect: str) -> None:
    ids = await seed(api)
    for query in INTROSPECTIONS:
        body = await api.raw(query)
        assert codes(body) == ["BAD_INPUT"], body
        assert "introspection is off" in body["errors"][0]["message"] and not body.get("data"), body
    assert await api("{ __typename }") == {"__typename": "Query"}  # not introspection: a client's own bookkeeping
    typo = (await api.raw(TYPO))["errors"][0]["message"]
    assert "projectz" in typo and "Did you mean" not in typo and "'projects'" not in typo, typo
    before = await snapshot(api.server)
    enum = (await api.raw(ENUM_TYPO, {"r": ids["run"], "s": "FAILD"}))["errors"][0]["message"]
    assert "FAILD" in enum and "Did you mean" not in enum and "FAILED" not in enum, enum
    assert await snapshot(api.server) == before

    async with server_with(settings, dev=True) as dev:
        for query in INTROSPECTIONS:
            body = await dev.raw(query)
            assert not body.get("errors") and body["data"], body
        typo = (await dev.raw(TYPO))["errors"][0]["message"]
        assert "Did you mean" in typo and "'projects'?" in typo, typo
        enum = (await dev.raw(ENUM_TYPO, {"r": ids["run"], "s": "FAILD"}))["errors"][0]["message"]
        assert "Did you mean the enum value 'FAILED'?" in enum, enum
        page = await dev.http.get(f"{dev.url}/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200 and "graphiql" in page.text.lower()
    page = await api.http.get(f"{api.url}/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "--dev" in page.json()["errors"][0]["message"]


# --------------------------------------------------------------------------------------------------------------
# GraphQL over HTTP: one operation per request, media types, content types, body size.

async def test_batches_and_bodies_that_are_not_one_object_are_bad_requests(api: Api, dialect: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    before = await snapshot(api.server)
    for body, says in (
        ([{"query": CREATE}, {"query": "{ projects { totalCount } }"}], "batching is off"),
        ([{"query": CREATE}], "batching is off"),
        ("mutation { createProject }", "one JSON object"),
        (42, "one JSON object"),
        (None, "one JSON object"),
    ):
        resp = await api.http.post(f"{api.url}/graphql", content=json.dumps(body),
                                   headers=auth(api, **{"Content-Type": "application/json"}))
        assert resp.status_code == 400, resp.text
        assert resp.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT" and says in resp.text, resp.text
    broken = await api.http.post(f"{api.url}/graphql", content=b'{"query": ', headers=auth(api, **{
        "Content-Type": "application/json"}))
    assert broken.status_code == 400 and broken.json()["errors"][0]["extensions"]["code"] == "BAD_INPUT"
    assert await snapshot(api.server) == before
    await nothing_named_sneaky(api)


async def test_graphql_response_json_is_served_when_asked_for(api: Api, dialect: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    both = f"{GRAPHQL_RESPONSE}, application/json;q=0.9"

    async def post(accept: str | None, query: str, token: str | None = None) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or api.token}"}
        if accept is not None:
            headers["Accept"] = accept
        return await api.http.post(f"{api.url}/graphql", json={"query": query}, headers=headers)

    for _ in range(2):  # the second round is answered by the response cache: its media type must still match
        for accept in (GRAPHQL_RESPONSE, both):
            ok = await post(accept, "{ projects { totalCount } }")
            assert ok.status_code == 200 and ok.headers["content-type"].startswith(GRAPHQL_RESPONSE), ok.headers
            assert ok.json() == {"data": {"projects": {"totalCount": 1}}}
        for accept in (None, "application/json", "*/*"):
            ok = await post(accept, "{ projects { totalCount } }")
            assert ok.status_code == 200 and ok.headers["content-type"].startswith("application/json"), ok.headers

    deep = "{ projects { edges { node { runs { edges { node { project { runs { edges { node { project { runs { " \
           "edges { node { project { name } } } } } } } } } } } } } } } }"
    big = "mutation { createProject(name: \"sneaky\") { id " + "__typename " * MAX_TOKENS + "} }"
    viewer = await api.token_for("viewer")
    before = await snapshot(api.server)
    for query, code in (("{ projects { totalCount ", "GRAPHQL_PARSE_FAILED"), (TYPO, "GRAPHQL_VALIDATION_FAILED"),
                        (deep, "LIMIT_EXCEEDED"), (big, "LIMIT_EXCEEDED"),
                        ('mutation { createProject(nme: "sneaky") { id } }', "GRAPHQL_VALIDATION_FAILED")):
        # A request that fails before execution: 4xx and no data entry with the new media type ...
        resp = await post(GRAPHQL_RESPONSE, query)
        assert resp.status_code == 400, (query, resp.status_code, resp.text)
        assert resp.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        body = resp.json()
        assert "data" not in body and body["errors"] and codes(body)[0] == code, body
        # ... and the legacy 200 with application/json.
        legacy = await post("application/json", query)
        assert legacy.status_code == 200 and legacy.json()["errors"], legacy.text
    # An error while executing is still a 200: the request was well-formed, data is there (null).
    refused_write = await post(GRAPHQL_RESPONSE, CREATE, token=viewer)
    assert refused_write.status_code == 200, refused_write.text
    assert "data" in refused_write.json() and codes(refused_write.json()) == ["FORBIDDEN"]
    # HTTP-level refusals speak the asked-for media type too.
    get_mutation = await api.http.get(f"{api.url}/graphql", params={"query": CREATE},
                                      headers=auth(api, Accept=GRAPHQL_RESPONSE))
    assert get_mutation.status_code == 405 and get_mutation.headers["allow"] == "POST"
    assert get_mutation.headers["content-type"].startswith(GRAPHQL_RESPONSE)
    assert codes(get_mutation.json()) == ["BAD_INPUT"] and "POST" in get_mutation.json()["errors"][0]["message"]
    assert await snapshot(api.server) == before


async def test_posts_that_are_not_json_are_refused_unrun(api: Api, dialect: str) -> None:
    """Forms and plain text are what a hostile page can make a browser post anywhere (CSRF): refused, unrun."""
    await api('mutation { createProject(name: "churn") { id } }')
    before = await snapshot(api.server)
    as_json = json.dumps({"query": CREATE})
    for content_type, content in (
        ("application/x-www-form-urlencoded", urlencode({"query": CREATE})),
        ("multipart/form-data; boundary=xyz", f'--xyz\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
                                              f"{as_json}\r\n--xyz--\r\n"),
        ("text/plain", as_json),
        ("text/plain;charset=UTF-8", as_json),
        ("application/graphql", CREATE),
        (None, as_json),
    ):
        headers = auth(api)
        if content_type is not None:
            headers["Content-Type"] = content_type
        resp = await api.http.post(f"{api.url}/graphql", content=content.encode(), headers=headers)
        assert resp.status_code == 415, (content_type, resp.status_code, resp.text)
        assert codes(resp.json()) == ["BAD_INPUT"] and "application/json" in resp.json()["errors"][0]["message"]
        assert resp.headers["accept-post"] == "application/json"
    assert await snapshot(api.server) == before
    await nothing_named_sneaky(api)
    # JSON with parameters is JSON.
    resp = await api.http.post(f"{api.url}/graphql", content=json.dumps({"query": "{ projects { totalCount } }"}),
                               headers=auth(api, **{"Content-Type": "application/json; charset=utf-8"}))
    assert resp.status_code == 200 and resp.json()["data"]["projects"]["totalCount"] == 1


async def raw_http(api: Api, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """Send a request head (and maybe part of a body) on a plain socket; read the status line and the body."""
    port = int(api.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head.encode() + b"\r\n" + body)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), TIMEOUT)  # answered with the body unsent or unended
        rest = await asyncio.wait_for(reader.read(65536), TIMEOUT)
        return int(status_line.split()[1]), rest
    finally:
        writer.close()


async def test_bodies_over_the_size_limit_are_refused_unread(settings: Settings, dialect: str) -> None:
    limit = 8192
    async with server_with(settings, max_body_bytes=limit) as api:
        await api('mutation { createProject(name: "churn") { id } }')
        before = await snapshot(api.server)
        padded = {"query": CREATE, "variables": {"pad": "x" * limit}}
        resp = await api.http.post(f"{api.url}/graphql", json=padded, headers=auth(api))
        assert resp.status_code == 413, resp.text
        assert codes(resp.json()) == ["LIMIT_EXCEEDED"] and "LINEAGE_REG_MAX_BODY_BYTES" in resp.text

        async def chunks() -> AsyncIterator[bytes]:
            text = json.dumps(padded).encode()
            for i in range(0, len(text), 1000):
                yield text[i:i + 1000]

        chunked = await api.http.post(f"{api.url}/graphql", content=chunks(),
                                      headers=auth(api, **{"Content-Type": "application/json"}))
        assert chunked.status_code == 413 and codes(chunked.json()) == ["LIMIT_EXCEEDED"]
        head = (f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {api.token}\r\n"
                "Content-Type: application/json\r\n")
        # A declared length over the limit is refused before a byte of the body is sent.
        status, _ = await raw_http(api, head + "Content-Length: 1000000000\r\n")
        assert status == 413
        # A chunked body is refused as soon as it passes the limit, though it never ends.
        chunk = b"x" * (limit + 1)
        status, _ = await raw_http(api, head + "Transfer-Encoding: chunked\r\n", b"%x\r\n%s\r\n" % (len(chunk), chunk))
        assert status == 413
        assert await snapshot(api.server) == before
        await nothing_named_sneaky(api)
        # Under the limit all is well, and file uploads (/files, not GraphQL) are not bound by it.
        version = await log_version(api, {"big.bin": b"w" * (limit * 8)})
        assert version["state"] == "COMMITTED"


# --------------------------------------------------------------------------------------------------------------
# WebSocket: origins, protocol, connection limits.

async def handshake(api: Api, origin: str | None, protocol: str = PROTOCOL) -> int:
    """The handshake's HTTP status (101: accepted); an accepted one must also complete connection_init."""
    try:
        async with websockets.connect(ws_url(api), subprotocols=[protocol], open_timeout=TIMEOUT,  # type: ignore[list-item]
                                      origin=origin, close_timeout=2) as ws:  # type: ignore[arg-type]
            sock = Socket(ws)
            await sock.send({"type": "connection_init", "payload": {"Authorization": f"Bearer {api.token}"}})
            assert (await sock.receive())["type"] == "connection_ack"
            return 101
    except websockets.InvalidStatus as exc:
        return exc.response.status_code


@pytest.mark.network
@pytest.mark.dialects("sqlite")
async def test_websockets_from_other_sites_are_refused(api: Api, settings: Settings, dialect: str) -> None:
    own = api.url  # http://127.0.0.1:<port>
    assert await handshake(api, None) == 101  # SDKs and bots send no Origin
    assert await handshake(api, own) == 101
    for hostile in ("https://evil.example", "http://127.0.0.1:1", "null", "https://app.example"):
        assert await handshake(api, hostile) == 403, hostile
    async with server_with(settings, allowed_origins=("https://app.example",)) as allowing:
        assert await handshake(allowing, "https://app.example") == 101
        assert await handshake(allowing, "https://APP.example:443") == 101  # as browsers would normalise it
        assert await handshake(allowing, None) == 101
        assert await handshake(allowing, allowing.url) == 101
        assert await handshake(allowing, "https://evil.example") == 403
        assert await handshake(allowing, "http://app.example") == 403  # another scheme is another origin


@pytest.mark.network
@pytest.mark.dialects("sqlite")
async def test_only_graphql_transport_ws_is_spoken(api: Api, dialect: str) -> None:
    async with websockets.connect(ws_url(api), subprotocols=["graphql-ws"],  # type: ignore[list-item]
                                  open_timeout=TIMEOUT, close_timeout=2) as ws:
        assert ws.subprotocol is None
        assert await Socket(ws).closed_with() == 4406


@pytest.mark.network
@pytest.mark.dialects("sqlite")
async def test_at_most_20_operations_per_connection(api: Api, dialect: str) -> None:
    async with connected(api, api.token) as sock:
        for i in range(21):
            await sock.send({"id": str(i), "type": "subscribe",
                             "payload": {"query": "subscription { events { kind } }"}})
        message = await sock.receive()
        assert message["type"] == "error" and message["id"] == "20", message
        assert "limit" in message["payload"][0]["message"].lower()
        await sock.quiet(0.3)  # the 20 others stay open and quiet


@pytest.mark.network
@pytest.mark.dialects("sqlite")
async def test_a_connection_that_never_initialises_is_closed(api: Api, dialect: str) -> None:
    async with raw_socket(api) as sock:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(sock.ws.recv(), 15)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4408


# --------------------------------------------------------------------------------------------------------------
# Mutations per token.

def test_hardening_settings_come_from_the_environment() -> None:
    from lineage_reg.config import from_env

    s = from_env({"LINEAGE_REG_MAX_BODY_BYTES": "2048", "LINEAGE_REG_MUTATION_RATE": "600/m",
                  "LINEAGE_REG_ALLOWED_ORIGINS": "https://a.example, https://b.example:8443,"})
    assert (s.max_body_bytes, s.mutation_rate) == (2048, "600/m")
    assert s.allowed_origins == ("https://a.example", "https://b.example:8443")
    defaults = from_env({})
    assert (defaults.max_body_bytes, defaults.mutation_rate, defaults.allowed_origins) == (1024 * 1024, None, ())
    for bad in ("100", "0/s", "ten/s", "5/0s"):
        with pytest.raises(ValueError, match="100/10s"):
            from_env({"LINEAGE_REG_MUTATION_RATE": bad})


async def test_mutations_per_token_are_rate_limited(settings: Settings, dialect: str) -> None:
    async with server_with(settings, mutation_rate="3/60s") as api:
        for i in range(3):
            await api(f'mutation {{ createProject(name: "p{i}") {{ id }} }}')
        body = await refused(api, "LIMIT_EXCEEDED", 'mutation { createProject(name: "p3") { id } }')
        error = body["errors"][0]
        assert "retry in" in error["message"] and "LINEAGE_REG_MUTATION_RATE" in error["message"], error
        assert 0 < error["extensions"]["retryAfterSeconds"] <= 20, error
        # Queries are not limited.
        for _ in range(5):
            assert (await api("{ projects { totalCount } }"))["projects"]["totalCount"] == 3
        # Over a WebSocket the same bucket applies.
        async with connected(api, api.token) as sock:
            await sock.send({"id": "1", "type": "subscribe", "payload": {"query": CREATE}})
            message = await sock.receive()
            errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
            assert errors[0]["extensions"]["code"] == "LIMIT_EXCEEDED", message
        # Another token has its own bucket; documents that never run spend nothing.
        member = api.as_token(await api.token_for("member", "ci-bot"))
        for _ in range(4):
            assert (await member.error('mutation { startRun(input: {project: "p0", nme: "x"}) { id } }')).code == \
                "GRAPHQL_VALIDATION_FAILED"
        for i in range(3):
            await member(f'mutation {{ startRun(input: {{project: "p0", name: "r{i}"}}) {{ id }} }}')
        await refused(member, "LIMIT_EXCEEDED", 'mutation { startRun(input: {project: "p0", name: "r3"}) { id } }')
        assert (await api('{ project(name: "p0") { runs { totalCount } } }'))["project"]["runs"]["totalCount"] == 3
        await nothing_named_sneaky(api)


# --------------------------------------------------------------------------------------------------------------
# Fuzz: schemathesis generates operations from schema.graphql and sends them to the app (in-process, through
# httpx.ASGITransport: the same routes and middleware; a request over a socket took twice as long, and the fuzz
# sends JSON bodies, so the HTTP parser in front is not what it tests).

# Examples per role: 500 in the suite; `LINEAGE_REG_FUZZ_EXAMPLES=5000 pytest tests/api/test_hardening.py -k fuzz` is
# the long run (docs/security.md gives its last result).
FUZZ_EXAMPLES = int(os.environ.get("LINEAGE_REG_FUZZ_EXAMPLES", "500"))


@pytest.mark.dialects("sqlite")
@pytest.mark.parametrize("role", ["admin", "viewer"])
async def test_fuzz_never_answers_5xx_nor_leaks_a_stack_trace(api: Api, dialect: str, role: str) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given
    from hypothesis import settings as hypothesis_settings

    from schemathesis import GenerationMode

    from lineage_reg.api.errors import MASKED_MESSAGE
    from lineage_reg.api.schema import schema as our_schema

    from graphql import NameNode, ObjectFieldNode
    from hypothesis import strategies as st

    await seed(api)
    token = api.token if role == "admin" else await api.token_for("viewer", "fuzz-viewer")
    nodes = schemathesis.graphql.nodes
    schemathesis.graphql.scalar("DateTime", st.one_of(
        st.datetimes().map(lambda d: d.isoformat()), st.text(max_size=30)).map(nodes.String))
    schemathesis.graphql.scalar("JSON", st.one_of(
        st.text(max_size=20).map(nodes.String), st.integers().map(nodes.Int), st.booleans().map(nodes.Boolean),
        st.dictionaries(st.from_regex(r"\A[a-z][a-z0-9_]{0,8}\Z"), st.integers().map(nodes.Int), max_size=3)
        .map(lambda d: nodes.Object([ObjectFieldNode(name=NameNode(value=k), value=v) for k, v in d.items()]))))
    # Built from the schema's text, as published: the server keeps introspection off.
    fuzz_schema = schemathesis.graphql.from_file(our_schema.as_str())
    failures: list[str] = []
    sent = 0

    masked: list[str] = []
    loop = asyncio.get_running_loop()  # the app's: hypothesis runs in a thread, each request on this loop

    async def send(case: Any) -> httpx.Response:
        request = case.as_transport_kwargs(base_url=f"{api.url}/graphql", headers={"Authorization": f"Bearer {token}"})
        assert set(request) <= {"method", "url", "headers", "json", "params", "cookies"} and not request.get("cookies")
        return await api.http.request(request["method"], request["url"], json=request.get("json"),
                                      headers=request["headers"], params=request.get("params"), timeout=10)

    @given(case=st.one_of(fuzz_schema.as_strategy(), fuzz_schema.as_strategy(GenerationMode.NEGATIVE)))
    @hypothesis_settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck))
    def fuzz(case: Any) -> None:
        nonlocal sent
        response = asyncio.run_coroutine_threadsafe(send(case), loop).result(timeout=30)
        sent += 1
        text = response.text
        if MASKED_MESSAGE in text:
            masked.append(f"{case.body!r}: {text[:300]}")
        if response.status_code >= 500 or "Traceback" in text or 'File "' in text:
            failures.append(f"{response.status_code} for {case.body!r}: {text[:500]}")

    await asyncio.to_thread(fuzz)
    print(f"fuzz as {role}: {sent} requests, {len(failures)} failures, {len(masked)} internal errors")
    assert sent >= min(100, FUZZ_EXAMPLES)
    assert failures == [], "\n".join(failures[:5])
    assert masked == [], "internal errors (bugs, logged by the server):\n" + "\n".join(masked[:5])


# --------------------------------------------------------------------------------------------------------------
# What the server leaves on disk and in its log.

def _mode(path: Any) -> int:
    import stat

    return stat.S_IMODE(path.stat().st_mode)


async def test_bootstrap_token_is_never_logged_and_what_the_server_writes_is_owner_only(
    settings: Settings, dialect: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The first start logs where the admin token is, not the token; the data dir, database (WAL and SHM too),
    secrets, blob directories and blob files are 0700/0600 under the usual umask (022)."""
    import hashlib
    import logging
    import os

    from support.versions import CREATE_VERSION, manifest

    settings = dataclasses.replace(settings, multipart_threshold=1024,  # SQLite: the default file in the data dir
                                   database_url=None if settings.is_sqlite else settings.database_url)
    previous = os.umask(0o022)
    try:
        with caplog.at_level(logging.WARNING, logger="lineage_reg"), LiveServer(settings) as live:
            token = live.admin_token()
            async with httpx.AsyncClient(timeout=30) as http:
                api = Api(live, http, token)
                await api('mutation { createProject(name: "churn") { id } }')
                await log_version(api, {"m.bin": b"small weights"})
                big = os.urandom(4096)  # above the threshold: a multipart upload, its sparse file in blobs/tmp
                created = await api(CREATE_VERSION.replace("headers", "headers parts { url }"),
                                    input={"project": "churn", "artifact": "big", "type": "model",
                                           "files": manifest({"big.bin": big})})
                [part] = created["createArtifactVersion"]["uploads"][0]["parts"]  # one part: its marker file too
                assert (await http.put(part["url"], content=big)).status_code in (200, 201)
            data = settings.data_dir
            token_file = data / "admin.token"
            assert str(token_file) in caplog.text
            assert token not in caplog.text and token[len("lrt_"):] not in caplog.text
            blob = hashlib.sha256(b"small weights").hexdigest()
            blob_file = settings.blob_dir / blob[:2] / blob[2:4] / blob
            dirs = [data, settings.blob_dir, settings.blob_dir / "tmp", blob_file.parent, blob_file.parent.parent]
            files = [token_file, data / "signing.key", blob_file, *(settings.blob_dir / "tmp").iterdir()]
            if settings.is_sqlite:
                files += [settings.sqlite_path, *(settings.sqlite_path.parent.glob("registry.db-*"))]
                assert {p.name for p in files} >= {"registry.db", "registry.db-wal", "registry.db-shm"}
            assert len(files) >= 5 + (3 if settings.is_sqlite else 0)
            assert {str(p): oct(_mode(p)) for p in dirs if _mode(p) != 0o700} == {}
            assert {str(p): oct(_mode(p)) for p in files if _mode(p) != 0o600} == {}
    finally:
        os.umask(previous)
