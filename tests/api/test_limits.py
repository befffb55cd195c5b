"""What a GraphQL request may cost before and while it runs (api/limits.py, api/measure.py).

Unit tests count the work of the pre-execution checks (no timing); the HTTP and
WebSocket tests run against a real server and check that a hostile document is
refused quickly, before any database work, while the server keeps answering.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from graphql import parse

from conftest import Api, LiveServer, snapshot
from lineage_reg.api import limits, measure
from lineage_reg.api.schema import schema
from lineage_reg.client import aio, version
from lineage_reg.config import Settings, from_env
from support.ws import connected

GRAPHQL_RESPONSE = "application/graphql-response+json"
NESTED = ('{artifact(project:"p",name:"a"){versions(first:500){edges{node{artifact{versions(first:500){edges{node{'
          'files(first:500){edges{node{downloadUrl}}}}}}}}}}}}')
PAGED = "query($f: Int) { projects(first: $f) { edges { node { runs(first: $f) { edges { node { id } } } } } } }"


def fan_out(levels: int, width: int = 2) -> str:
    """``query{...F0} fragment F0 on Query{...F1 ...F1} ...``: ``width ** levels`` fields once inlined."""
    parts = ["query{...F0}"]
    for i in range(levels):
        parts.append(f"fragment F{i} on Query{{{' '.join([f'...F{i + 1}'] * width)}}}")
    parts.append(f"fragment F{levels} on Query{{__typename}}")
    return " ".join(parts)


def selections(document: str) -> int:
    """Fields, inline fragments and spreads as written: the size a linear check may grow with."""
    count = 0
    stack = [d.selection_set for d in parse(document).definitions]
    while stack:
        for sel in stack.pop().selections:
            count += 1
            if getattr(sel, "selection_set", None) is not None:
                stack.append(sel.selection_set)
    return count


@contextmanager
def counting(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> Iterator[list[int]]:
    calls = [0]
    original = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    yield calls


# --------------------------------------------------------------------------------------------------------------
# Pre-execution checks are linear in the document, whatever it expands to.

@pytest.mark.parametrize(("levels", "width"), [(30, 2), (60, 3), (200, 2)])
def test_every_check_visits_each_selection_set_once(monkeypatch: pytest.MonkeyPatch, levels: int, width: int) -> None:
    query = fan_out(levels, width)
    document = parse(query)
    with counting(monkeypatch, measure, "_shape") as shaped, counting(monkeypatch, measure.Costing, "_level") as costed:
        shape, = measure.shapes(document).values()
        cost, = measure.costs(schema._schema, document, {}, limits.sizes_for(None)[0]).values()
    definitions = levels + 2
    assert shaped[0] == definitions and costed[0] == definitions  # one visit per selection set written
    assert shape.fields == width ** levels == cost  # ... and yet the numbers are those of the expansion
    assert shape.repeats == width ** levels and shape.depth == 1


def test_shapes_count_fragments_as_if_inlined() -> None:
    query = """query { ...A project(name: "p") { ...B } }
        fragment A on Query { projects { edges { node { ...B } } } }
        fragment B on Project { name id ... on Project { name } }"""
    shape, = measure.shapes(parse(query)).values()
    # projects, edges, node, name, id, name + project, name, id, name
    assert (shape.fields, shape.depth, shape.repeats, shape.introspects) == (10, 4, 2, False)
    sneaky = "query { ...A } fragment A on Query { ... on Query { __schema { types { name } } } }"
    assert limits.introspects(parse(sneaky))


def test_fragment_cycles_end_the_walk_and_are_left_to_validation() -> None:
    cyclic = parse("query { ...A } fragment A on Query { ...B } fragment B on Query { ...A __typename } "
                   "fragment C on Query { ...B } fragment D on Query { __typename }")
    assert measure.in_dependency_order(measure.fragments_of(cyclic)) == ["D"]
    assert limits.check(cyclic) == ()
    body = schema.execute_sync("query { ...A } fragment A on Query { ...A }")
    assert body.errors and "within itself" in body.errors[0].message  # validation's own answer


def test_fan_out_is_refused_naming_the_bound() -> None:
    errors = limits.check(parse(fan_out(30)))
    assert errors and {e.extensions["code"] for e in errors} == {"LIMIT_EXCEEDED"}  # type: ignore[index]
    assert f"at most {limits.MAX_FIELDS}" in errors[0].message and "1073741824" in errors[0].message


def test_repeated_fields_are_bounded_before_graphql_core_compares_them() -> None:
    repeated = "{ " + " ".join(["projects { edges { node { id } } }"] * (limits.MAX_REPEATS + 1)) + " }"
    errors = limits.check(parse(repeated))
    assert errors and f"at most {limits.MAX_REPEATS}" in errors[0].message
    assert limits.check(parse("{ " + " ".join(["projects { edges { node { id } } }"] * limits.MAX_REPEATS) + " }")) == ()


# --------------------------------------------------------------------------------------------------------------
# Cost.

def cost_of(query: str, variables: dict[str, Any] | None = None, **settings: Any) -> int:
    context = type("Context", (), {"rt": type("Runtime", (), {"settings": Settings(**settings)})()})()
    found = measure.costs(schema._schema, parse(query), variables or {}, limits.sizes_for(context)[0])
    return max(found.values())


def test_cost_multiplies_page_sizes_down_nested_lists() -> None:
    assert cost_of(NESTED) > 500 ** 3
    assert cost_of("{ projects(first: 10) { edges { node { name } } } }") == 1 + 1 + 10 * (1 + 1)
    assert cost_of("{ projects { edges { node { name } } } }") == 2 + 50 * 2  # the default page
    assert cost_of("{ projects(first: 100000) { edges { node { name } } } }") == 2 + 500 * 2  # capped like the page
    assert cost_of("{ projects(first: 5) { totalCount pageInfo { hasNextPage } } }") == 4  # not lists
    # Variables count with their values, else their defaults, else the default page.
    assert cost_of(PAGED, {"f": 3}) == 2 + 3 * (1 + 1 + 1 + 3 * 2)
    assert cost_of(PAGED.replace("$f: Int", "$f: Int = 4")) == 2 + 4 * (3 + 4 * 2)
    assert cost_of(PAGED) == 2 + 50 * (3 + 50 * 2)
    # A fragment spread inside a page is multiplied by it.
    assert cost_of("{ projects(first: 7) { ...P } } fragment P on ProjectConnection { edges { node { id } } }") \
        == 1 + 1 + 7 * 2
    # Lineage: `limit` sizes its node and edge lists.
    graph = "query($l: Int) { lineage(node: \"x\", limit: $l) { nodes { id kind } edges { source } } }"
    assert cost_of(graph, {"l": 50_000}) == 1 + 1 + 50_000 * 2 + 1 + 50_000


def test_what_the_sdk_cli_and_examples_ask_is_within_the_default_budget() -> None:
    budget = Settings().max_query_cost
    sdk = [aio.RESOLVE, aio.CREATE, aio.COMMIT, aio.VERSIONS, version.MORE_FILES, aio.COMPARE]
    for query in sdk:
        assert cost_of(query, {"f": 500}) < budget / 20, query
    lineage = ("query($l: Int) { lineage(node: \"x\", limit: $l) { root truncated nodes { id kind label layer "
               "distance } edges { source target kind } } }")
    assert cost_of(lineage, {"l": 50_000}) < budget  # bench-sized answers pass
    assert cost_of(lineage, {"l": 100_000}) > budget  # the largest limit: fewer fields per node, or a smaller one
    assert cost_of(lineage.replace("label layer distance", "").replace("target kind", "target"),
                   {"l": 100_000}) < budget


def test_cost_settings_come_from_the_environment() -> None:
    assert (from_env({}).max_query_cost, from_env({}).max_response_bytes) == (500_000, 64 * 1024 * 1024)
    s = from_env({"LINEAGE_REG_MAX_QUERY_COST": "1000", "LINEAGE_REG_MAX_RESPONSE_BYTES": "4096"})
    assert (s.max_query_cost, s.max_response_bytes) == (1000, 4096)


# --------------------------------------------------------------------------------------------------------------
# Over real HTTP and WebSocket.

@asynccontextmanager
async def server_with(settings: Settings, **changes: Any) -> AsyncIterator[Api]:
    with LiveServer(dataclasses.replace(settings, **changes)) as server:
        async with httpx.AsyncClient(timeout=30) as http:
            yield Api(server, http, server.admin_token())


@contextmanager
def statements(server: LiveServer) -> Iterator[list[str]]:
    """SQL the server runs meanwhile (every engine of its database)."""
    seen: list[str] = []
    db = server.runtime.db
    engines = db.sync_engines()

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # Background readers, whatever requests come: the webhook dispatcher polls its outbox every second,
        # the event bus reads the log after any commit (the token just created).
        if "webhook" not in statement and "FROM event" not in statement:
            seen.append(statement)

    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", record)


@pytest.mark.dialects("sqlite")
async def test_fragment_fan_out_is_refused_at_once_while_the_server_keeps_answering(api: Api, dialect: str) -> None:
    viewer = api.as_token(await api.token_for("viewer"))
    await viewer("{ __typename }")  # the token is looked up (and cached) before the clock starts

    async def healthy() -> list[float]:
        waits = []
        for _ in range(10):
            started = time.monotonic()
            assert (await api.http.get(f"{api.url}/healthz")).status_code == 200
            waits.append(time.monotonic() - started)
        return waits

    for query in (fan_out(30), fan_out(60, 3), fan_out(150)):  # 150 levels: 1,500 tokens, under their limit
        started = time.monotonic()
        body, waits = await asyncio.gather(viewer.raw(query), healthy())
        assert time.monotonic() - started < 1.0
        assert max(waits) < 1.0
        assert [e["extensions"]["code"] for e in body["errors"]][0] == "LIMIT_EXCEEDED", body
        assert f"at most {limits.MAX_FIELDS}" in body["errors"][0]["message"]


@pytest.mark.dialects("sqlite")
async def test_unauthenticated_requests_do_no_graphql_work(api: Api, dialect: str) -> None:
    """No token (anonymous access off) or a bad one: UNAUTHENTICATED before the document is even parsed."""
    for token in (None, "not-a-token"):
        for query in (fan_out(30), "{ projects { totalCount ", "{ nosuchfield }", NESTED):
            body = await api.as_token(token).raw(query)
            assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"], (token, query, body)
            assert body.get("data") is None


@pytest.mark.dialects("sqlite")
async def test_a_query_over_the_cost_budget_is_refused_before_it_runs(api: Api, dialect: str) -> None:
    viewer = api.as_token(await api.token_for("viewer"))
    await viewer("{ __typename }")
    with statements(api.server) as sql:
        body = await viewer.raw(NESTED)
    assert sql == []  # nothing touched the database
    error = body["errors"][0]
    assert error["extensions"]["code"] == "LIMIT_EXCEEDED" and error["extensions"]["budget"] == 500_000, error
    assert error["extensions"]["cost"] > 500 ** 3
    assert "LINEAGE_REG_MAX_QUERY_COST" in error["message"] and "smaller pages" in error["message"]
    # Page sizes given as variables are costed with their values.
    assert (await viewer.error(PAGED, f=500)).code == "LIMIT_EXCEEDED"
    assert (await viewer(PAGED, f=5)) == {"projects": {"edges": []}}


async def test_the_budget_setting_changes_the_outcome(settings: Settings, dialect: str) -> None:
    async with server_with(settings, max_query_cost=1000) as api:
        await api('mutation { createProject(name: "churn") { id } }')
        before = await snapshot(api.server)
        assert (await api.error(PAGED, f=30)).code == "LIMIT_EXCEEDED"  # 2 + 30 * 63 > 1,000
        assert (await api(PAGED, f=10))["projects"]["edges"][0]["node"]["runs"] == {"edges": []}
        # Every operation: a mutation's answer too, before the mutation runs.
        create = 'mutation { createProject(name: "big") { runs(first: 500) { edges { node { id name } } } } }'
        assert "1,000 per request" in (await api.error(create)).errors[0]["message"]
        assert await snapshot(api.server) == before
        # And a subscription over the WebSocket.
        async with connected(api, api.token) as sock:
            await sock.send({"id": "1", "type": "subscribe", "payload": {
                "query": "subscription { aliasChanged { version { files(first: 500) { edges { node { path } } } } } }"}})
            message = await sock.receive()
            assert message["type"] == "error" and message["id"] == "1", message
            assert message["payload"][0].get("extensions", {}).get("code") == "LIMIT_EXCEEDED", message


@pytest.mark.dialects("sqlite")
async def test_answers_over_the_response_bound_are_refused(settings: Settings, dialect: str) -> None:
    async with server_with(settings, max_response_bytes=2000) as api:
        for i in range(30):
            await api(f'mutation {{ createProject(name: "project-{i:03}", description: "{"d" * 40}") {{ id }} }}')
        for accept in ("application/json", GRAPHQL_RESPONSE):
            resp = await api.http.post(f"{api.url}/graphql", headers={"Authorization": f"Bearer {api.token}",
                                                                    "Accept": accept},
                                       json={"query": "{ projects { edges { node { name description } } } }"})
            assert resp.status_code == 200 and resp.headers["content-type"].startswith(accept), resp.headers
            error = resp.json()["errors"][0]
            assert error["extensions"]["code"] == "LIMIT_EXCEEDED" and "LINEAGE_REG_MAX_RESPONSE_BYTES" in error["message"]
            assert resp.json()["data"] is None and len(resp.content) < 2000
        assert len((await api("{ projects(first: 5) { edges { node { name } } } }"))["projects"]["edges"]) == 5


@pytest.mark.dialects("sqlite")
async def test_several_operations_need_an_operation_name(api: Api, dialect: str) -> None:
    two = 'query A { projects { totalCount } } mutation B { createProject(name: "sneaky") { id } }'
    before = await snapshot(api.server)
    for accept in ("application/json", GRAPHQL_RESPONSE):
        resp = await api.http.post(f"{api.url}/graphql", json={"query": two},
                                   headers={"Authorization": f"Bearer {api.token}", "Accept": accept})
        assert resp.status_code == 400, resp.text
        error = resp.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_INPUT" and "operationName" in error["message"], error
        assert "2 operations (A, B)" in error["message"]
    assert await snapshot(api.server) == before
    resp = await api.http.post(f"{api.url}/graphql", json={"query": two, "operationName": "A"},
                               headers={"Authorization": f"Bearer {api.token}"})
    assert resp.json() == {"data": {"projects": {"totalCount": 0}}}


@pytest.mark.network
@pytest.mark.dialects("sqlite")
async def test_document_limits_answer_over_the_websocket_too(api: Api, dialect: str) -> None:
    """Each refusal before execution reaches a WebSocket client as an ``error`` message with its code."""
    too_many_tokens = "subscription { events { " + "kind " * limits.MAX_TOKENS + "} }"
    async with connected(api, api.token) as sock:
        for i, query in enumerate((too_many_tokens, fan_out(30), "subscription { events { ...E } } " + " ".join(
                f"fragment E{'' if n == 0 else n} on Event {{ kind ...E{n + 1} ...E{n + 1} }}" for n in range(25))
                + " fragment E25 on Event { kind }")):
            await sock.send({"id": str(i), "type": "subscribe", "payload": {"query": query}})
            message = await sock.receive()
            assert message["type"] == "error" and message["id"] == str(i), message
            assert message["payload"][0]["extensions"]["code"] == "LIMIT_EXCEEDED", message


def test_integer_literals_of_any_length_are_costed_as_huge_pages() -> None:
    digits = "9" * 5000
    assert cost_of(f"{{ projects(first: {digits}) {{ edges {{ node {{ name }} }} }} }}") == 2 + 500 * 2
    assert cost_of(f"query($f: Int = {digits}) {{ projects(first: $f) {{ edges {{ node {{ name }} }} }} }}") \
        == 2 + 500 * 2
