"""Secure by default: no token, no access; roles checked on every field, nested ones too."""

from __future__ import annotations

import dataclasses
import hashlib

import httpx
import sqlalchemy as sa

from conftest import Api, LiveServer, snapshot
from lineage_reg.config import Settings
from lineage_reg.store.db import Database
from lineage_reg.store.schema import api_token
from test_e2e import CREATE_VERSION, log_version, manifest

WRITES = {
    "createProject": 'mutation { createProject(name: "other") { id } }',
    "startRun": 'mutation { startRun(input: {project: "churn"}) { id } }',
    "createArtifactVersion": None,  # built per test (needs a manifest)
    "linkVersion": 'mutation { linkVersion(input: {version: "churn/classifier:v0", registeredModel: "churn/prod2"}) { id } }',
    "setAlias": 'mutation { setAlias(input: {collection: "churn/prod", alias: "staging", version: "churn/classifier:v0"}) { name } }',
}


async def seed(api: Api) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    await log_version(api, {"m.bin": b"m"})
    await api('mutation { linkVersion(input: {version: "churn/classifier:v0", registeredModel: "churn/prod"}) { id } }')


async def refused(api: Api, code: str, query: str, **variables: object) -> None:
    before = await snapshot(api.server)
    err = await api.error(query, **variables)
    assert err.code == code, err.errors
    assert await snapshot(api.server) == before


async def test_anonymous_gets_nothing(api: Api, dialect: str) -> None:
    await seed(api)
    anon = api.as_token(None)
    await refused(anon, "UNAUTHENTICATED", '{ projects { totalCount } }')
    await refused(anon, "UNAUTHENTICATED", '{ resolve(ref: "churn/classifier:v0") { ref } }')
    for query in filter(None, WRITES.values()):
        await refused(anon, "UNAUTHENTICATED", query)


async def test_bad_or_revoked_tokens(api: Api, dialect: str) -> None:
    await seed(api)
    for token in ("garbage", "lrt_" + "x" * 43, api.token + "x"):
        await refused(api.as_token(token), "UNAUTHENTICATED", '{ projects { totalCount } }')
    resp = await api.http.post(f"{api.url}/graphql", json={"query": "{ projects { totalCount } }"},
                               headers={"Authorization": "Basic abc"})
    assert resp.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_viewer_reads_but_never_writes(api: Api, dialect: str) -> None:
    await seed(api)
    viewer = api.as_token(await api.token_for("viewer"))
    data = await viewer('{ resolve(ref: "churn/classifier:v0") { ref artifact { project { name } } links { ref } } }')
    assert data["resolve"]["artifact"]["project"]["name"] == "churn"
    files = manifest({"n.bin": b"n"})
    for name, query in WRITES.items():
        if query is None:
            await refused(viewer, "FORBIDDEN", CREATE_VERSION, input={"project": "churn", "artifact": "classifier",
                                                                         "type": "model", "files": files})
        else:
            await refused(viewer, "FORBIDDEN", query)
    target = (await viewer('{ artifact(project: "churn", name: "classifier") { id } }'))["artifact"]["id"]
    await refused(viewer, "FORBIDDEN", 'mutation($t: ID!) { addTags(target: $t, tags: ["x"]) }', t=target)


async def test_member_writes_but_not_admin_things(api: Api, dialect: str) -> None:
    await seed(api)
    member = api.as_token(await api.token_for("member", "alice"))
    run = (await member(WRITES["startRun"]))["startRun"]["id"]
    await member('mutation { setAlias(input: {collection: "churn/prod", alias: "staging", '
                 'version: "churn/classifier:v0"}) { name } }')
    history = await member('{ registeredModel(project: "churn", name: "prod") { history(first: 1) { edges { node { actor } } } } }')
    assert history["registeredModel"]["history"]["edges"][0]["node"]["actor"] == "alice"
    assert run
    await refused(member, "FORBIDDEN", 'mutation { setAlias(input: {collection: "churn/prod", alias: "production", '
                  'version: "churn/classifier:v0"}) { name } }')
    await refused(member, "FORBIDDEN", WRITES["createProject"])
    link = (await member('{ registeredModel(project: "churn", name: "prod") { versions { edges { node { id } } } } }'))
    await refused(member, "FORBIDDEN", "mutation($l: ID!) { unlinkVersion(link: $l) }",
                  l=link["registeredModel"]["versions"]["edges"][0]["node"]["id"])
    await refused(member, "FORBIDDEN", 'mutation { deleteArtifactVersion(version: "churn/classifier:v0") { id } }')
    # An admin may move the protected alias; Alias.protected says so.
    moved = await api('mutation { setAlias(input: {collection: "churn/prod", alias: "production", '
                      'version: "churn/classifier:v0"}) { name protected } }')
    assert moved["setAlias"] == {"name": "production", "protected": True}


async def test_tokens_are_stored_hashed(api: Api, settings: Settings, dialect: str) -> None:
    secret = await api.token_for("member", "hashed")
    db = Database(settings.effective_database_url)
    try:
        rows = [tuple(r) for r in await db.fetch_all(sa.select(api_token))]
    finally:
        await db.dispose()
    stored = repr(rows)
    assert secret not in stored
    assert hashlib.sha256(secret.encode()).hexdigest() in stored


async def test_mutations_over_get_are_refused(api: Api, dialect: str) -> None:
    await seed(api)
    before = await snapshot(api.server)
    resp = await api.http.get(f"{api.url}/graphql", params={"query": 'mutation { createProject(name: "viaget") { id } }'},
                              headers={"Authorization": f"Bearer {api.token}"})
    assert resp.status_code == 405
    assert await snapshot(api.server) == before
    ok = await api.http.get(f"{api.url}/graphql", params={"query": "{ projects { totalCount } }"},
                            headers={"Authorization": f"Bearer {api.token}"})
    assert ok.json()["data"]["projects"]["totalCount"] == 1


async def test_anonymous_read_when_configured(settings: Settings, dialect: str) -> None:
    with LiveServer(dataclasses.replace(settings, anonymous="read")) as live:
        async with httpx.AsyncClient() as http:
            admin = Api(live, http, live.admin_token())
            await seed(admin)
            anon = admin.as_token(None)
            assert (await anon('{ projects { totalCount } }'))["projects"]["totalCount"] == 1
            await refused(anon, "FORBIDDEN", WRITES["startRun"])


async def test_internal_errors_are_masked(api: Api, dialect: str) -> None:
    """A bug inside a resolver answers a generic message: no stack trace, no exception text."""
    from lineage_reg.api.errors import MASKED_MESSAGE, should_mask
    from graphql import GraphQLError

    leaked = GraphQLError("boom", original_error=KeyError("secret internals"))
    assert should_mask(leaked)
    assert not should_mask(GraphQLError("Syntax Error: Unexpected Name"))
    body = await api.raw("{ projects { totalCount } ")  # a syntax error is the client's own: shown
    assert "Syntax Error" in body["errors"][0]["message"]
    assert MASKED_MESSAGE == "internal error; the server logged the details"
