"""Races end consistent: indices without gaps or duplicates, one alias target, one event per move.

Writers are spread over two server instances on the same database (each with
its own engine and event loop), so only the database's constraints and the
services' retries keep things straight.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest

from conftest import Api, LiveServer
from lineage_reg.config import Settings
from support.versions import COMMIT, CREATE_VERSION, log_version, manifest, upload_all

N = 12


@pytest.fixture
async def apis(live: LiveServer, settings: Settings) -> AsyncIterator[list[Api]]:
    with LiveServer(settings) as second:
        async with httpx.AsyncClient(timeout=60) as http:
            token = live.admin_token()
            yield [Api(live, http, token), Api(second, http, token)]


async def create_and_commit(api: Api, i: int) -> str:
    files = {f"model-{i}.bin": f"weights {i}".encode()}
    created = (await api(CREATE_VERSION, input={"project": "churn", "artifact": "classifier", "type": "model",
                                                "files": manifest(files)}))["createArtifactVersion"]
    await upload_all(api, created["uploads"], files)
    return str((await api(COMMIT, v=created["version"]["id"]))["commitArtifactVersion"]["ref"])


async def test_concurrent_versions_get_consecutive_indices(apis: list[Api], dialect: str) -> None:
    await apis[0]('mutation { createProject(name: "churn") { id } }')
    refs = await asyncio.gather(*(create_and_commit(apis[i % 2], i) for i in range(N)))
    assert sorted(refs) == sorted(f"churn/classifier:v{i}" for i in range(N))
    listed = (await apis[0]('{ artifact(project: "churn", name: "classifier") { versions(first: 100) { totalCount '
                            'edges { node { index state aliases } } } } }'))["artifact"]["versions"]
    assert listed["totalCount"] == N
    indices = [e["node"]["index"] for e in listed["edges"]]
    assert indices == list(range(N - 1, -1, -1))
    # `latest` is on exactly one version: the highest index committed.
    holders = [e["node"]["index"] for e in listed["edges"] if "latest" in e["node"]["aliases"]]
    assert holders == [N - 1]


async def test_concurrent_set_alias_one_target_and_one_event_each(apis: list[Api], dialect: str) -> None:
    api = apis[0]
    await api('mutation { createProject(name: "churn") { id } }')
    for i in range(N):
        await log_version(api, {f"m{i}": f"w{i}".encode()})
        await api('mutation($v: String!) { linkVersion(input: {version: $v, registeredModel: "churn/prod"}) { id } }',
                  v=f"churn/classifier:v{i}")
    set_alias = ('mutation($v: String!) { setAlias(input: {collection: "churn/prod", alias: "staging", version: $v}) '
                 '{ version { ref } } }')
    await asyncio.gather(*(apis[i % 2](set_alias, v=f"churn/classifier:v{i}") for i in range(N)))

    model = (await api('{ registeredModel(project: "churn", name: "prod") { aliases { name version { ref } } '
                       'history(first: 200) { edges { node { kind alias fromVersion { ref } toVersion { ref } } } } } }'))
    staging = [a for a in model["registeredModel"]["aliases"] if a["name"] == "staging"]
    assert len(staging) == 1
    moves = [e["node"] for e in model["registeredModel"]["history"]["edges"]
             if e["node"]["alias"] == "staging"][::-1]  # oldest first
    assert len(moves) == N
    assert moves[0]["fromVersion"] is None
    # Every move starts where the previous one ended: the log is one consistent chain.
    for before, after in zip(moves, moves[1:], strict=False):
        assert after["fromVersion"] == before["toVersion"]
    assert moves[-1]["toVersion"] == staging[0]["version"]
    assert {m["toVersion"]["ref"] for m in moves} == {f"churn/classifier:v{i}" for i in range(N)}


async def test_concurrent_links_get_consecutive_indices_and_dedupe(apis: list[Api], dialect: str) -> None:
    api = apis[0]
    await api('mutation { createProject(name: "churn") { id } }')
    for i in range(4):
        await log_version(api, {f"m{i}": hashlib.sha256(bytes([i])).digest()})
    link = 'mutation($v: String!) { linkVersion(input: {version: $v, registeredModel: "churn/prod"}) { id index } }'
    # Every version linked three times at once: each gets exactly one link.
    results = await asyncio.gather(*(apis[j % 2](link, v=f"churn/classifier:v{i}") for i in range(4) for j in range(3)))
    by_version: dict[int, set[str]] = {}
    for i, r in zip([i for i in range(4) for _ in range(3)], results, strict=True):
        by_version.setdefault(i, set()).add(r["linkVersion"]["id"])
    assert all(len(ids) == 1 for ids in by_version.values())
    versions = (await api('{ registeredModel(project: "churn", name: "prod") { versions { totalCount '
                          'edges { node { index } } } } }'))["registeredModel"]["versions"]
    assert versions["totalCount"] == 4
    assert sorted(e["node"]["index"] for e in versions["edges"]) == [0, 1, 2, 3]
