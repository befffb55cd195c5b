"""Repeated identical queries are answered from memory, but never after a committed write."""

from __future__ import annotations

import asyncio
import time

import httpx

from conftest import Api, LiveServer
from lineage_reg.config import Settings
from support.versions import log_version

RESOLVE = '{ resolve(ref: "churn/prod:production") { ref } }'
SET = 'mutation($v: String!) { setAlias(input: {collection: "churn/prod", alias: "production", version: $v}) { name } }'


async def setup_two_versions(api: Api) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    for i in range(2):
        await log_version(api, {"m": f"w{i}".encode()})
        await api('mutation($v: String!) { linkVersion(input: {version: $v, registeredModel: "churn/prod"}) { id } }',
                  v=f"churn/classifier:v{i}")
    await api(SET, v="churn/classifier:v0")


async def test_write_invalidates_cached_answer(api: Api, dialect: str) -> None:
    await setup_two_versions(api)
    for _ in range(3):
        assert (await api(RESOLVE))["resolve"]["ref"] == "churn/classifier:v0"
    await api(SET, v="churn/classifier:v1")
    assert (await api(RESOLVE))["resolve"]["ref"] == "churn/classifier:v1"


async def test_write_through_another_server_invalidates(api: Api, settings: Settings, dialect: str) -> None:
    """Two servers on one database: a move made through one reaches the other's cache.

    SQLite: at once (data_version). PostgreSQL: as soon as the NOTIFY arrives, well within a second.
    """
    await setup_two_versions(api)
    assert (await api(RESOLVE))["resolve"]["ref"] == "churn/classifier:v0"
    with LiveServer(settings) as other:
        async with httpx.AsyncClient() as http:
            await Api(other, http, api.token)(SET, v="churn/classifier:v1")
    if dialect == "sqlite":
        assert (await api(RESOLVE))["resolve"]["ref"] == "churn/classifier:v1"
        return
    deadline = time.monotonic() + 2
    while (await api(RESOLVE))["resolve"]["ref"] != "churn/classifier:v1":
        assert time.monotonic() < deadline, "the other server's write never reached this server's cache"
        await asyncio.sleep(0.01)


async def test_answers_are_not_shared_between_credentials(api: Api, dialect: str) -> None:
    await setup_two_versions(api)
    assert (await api(RESOLVE))["resolve"]["ref"] == "churn/classifier:v0"
    anonymous = await api.as_token(None).error(RESOLVE)
    assert anonymous.code == "UNAUTHENTICATED"
    forged = await api.as_token(api.token + "x").error(RESOLVE)
    assert forged.code == "UNAUTHENTICATED"


async def test_mutations_are_never_replayed(api: Api, dialect: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    run = 'mutation { startRun(input: {project: "churn", name: "same"}) { id } }'
    first, second = (await api(run))["startRun"]["id"], (await api(run))["startRun"]["id"]
    assert first != second
