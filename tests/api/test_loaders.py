"""No N+1: the statements a nested query issues don't grow with the number of parents."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from conftest import Api, LiveServer
from support.versions import log_version

# Pages of 10 hold all the data below and keep the query within the default cost budget (docs/api.md, "Query
# cost"): 50 at every level would cost ~47 million and be refused before it ran.
NESTED = """
{ projects(first: 10) { totalCount edges { node { name
    artifacts(first: 10) { totalCount edges { node { name aliases { name version { ref } }
      versions(first: 10) { totalCount edges { node { ref aliases
        files(first: 10) { totalCount edges { node { path sha256 } } }
        createdBy { name project { name } }
        links { ref aliases registeredModel { name } }
        artifact { name project { name } } } } } } } }
    registeredModels(first: 10) { edges { node { name versions(first: 10) { edges { node { ref version { ref } } } } } } }
    runs(first: 10) { edges { node { name outputs { ref } } } }
} } } }"""


@contextmanager
def count_statements(server: LiveServer) -> Iterator[list[str]]:
    db = server.runtime.db
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        # The event bus reads the log back in the background after writes, the webhook worker polls for due
        # deliveries and the expiry sweep for due promotion requests (the query under test reads none of them):
        # any can land inside the window and is no statement of the query's.
        # A request's token is read again when its cached answer expires (after 1 s): once per request, never per
        # item, but it may fall inside one measured window and not the other.
        background = any(t in statement for t in ("FROM event", "webhook_delivery", "promotion_request",
                                                  "FROM api_token"))
        if not statement.startswith(("PRAGMA", "BEGIN", "SELECT 1")) and not background:
            statements.append(statement)

    engines = db.sync_engines()
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


async def populate(api: Api, projects: list[str], per_project: int) -> None:
    for project in projects:
        await api("mutation($n: String!) { createProject(name: $n) { id } }", n=project)
        run = (await api('mutation($p: String!) { startRun(input: {project: $p}) { id } }', p=project))["startRun"]
        for a in range(per_project):
            for v in range(2):
                await log_version(api, {f"f{v}.bin": f"{project}{a}{v}".encode(), "shared": b"x"},
                                  project=project, artifact=f"art{a}", run=run["id"] if v == 0 else None)
            await api('mutation($v: String!, $m: String!) { linkVersion(input: {version: $v, registeredModel: $m, '
                      'aliases: ["staging"]}) { id } }', v=f"{project}/art{a}:v1", m=f"{project}/model{a}")


async def test_nested_query_statement_count_is_flat(api: Api, dialect: str) -> None:
    await populate(api, ["p1", "p2"], per_project=2)
    with count_statements(api.server) as small:
        small_data = await api(NESTED)
    await populate(api, ["p3", "p4", "p5", "p6"], per_project=3)
    with count_statements(api.server) as large:
        large_data = await api(NESTED)
    assert small_data["projects"]["totalCount"] == 2 and large_data["projects"]["totalCount"] == 6
    versions = [v for p in large_data["projects"]["edges"] for a in p["node"]["artifacts"]["edges"]
                for v in a["node"]["versions"]["edges"]]
    assert len(versions) == 2 * 2 * 2 + 4 * 3 * 2
    # With asyncpg a batch can split in two when rows arrive on different loop ticks,
    # so allow a couple of statements of slack; an N+1 would add dozens (24 versions, 6 projects).
    assert len(large) <= len(small) + 3, (
        "statement count grew with the data: an N+1 crept in\n" + "\n---\n".join(large))
    assert len(large) < 40
