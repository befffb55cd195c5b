"""Bad input gets a clear error with a code, and changes nothing (row counts and blob files compared)."""

from __future__ import annotations

import hashlib

import pytest

from conftest import Api, snapshot
from support.versions import COMMIT, CREATE_VERSION, log_version, manifest

SHA = hashlib.sha256(b"x").hexdigest()


async def seeded(api: Api) -> dict[str, str]:
    """A project with a committed version v0, a pending v1, a run and a registered model."""
    await api('mutation { createProject(name: "churn") { id } }')
    run = (await api('mutation { startRun(input: {project: "churn", name: "r"}) { id } }'))["startRun"]["id"]
    v0 = await log_version(api, {"m.bin": b"v0"}, run=run)
    pending = (await api(CREATE_VERSION, input={"project": "churn", "artifact": "classifier", "type": "model",
                                                "files": manifest({"m.bin": b"v1"})}))["createArtifactVersion"]
    await api('mutation { linkVersion(input: {version: "churn/classifier:v0", registeredModel: "churn/prod"}) { id } }')
    return {"run": run, "v0": str(v0["id"]), "pending": pending["version"]["id"]}


async def expect(api: Api, code: str, needle: str, query: str, **variables: object) -> None:
    """The call fails with ``code``, its message contains ``needle``, and nothing changed."""
    before = await snapshot(api.server)
    err = await api.error(query, **variables)
    assert err.code == code, err.errors
    assert needle in err.errors[0]["message"], err.errors[0]["message"]
    assert "Traceback" not in str(err.errors)
    assert await snapshot(api.server) == before


def version_input(files: list[dict[str, object]], **extra: object) -> dict[str, object]:
    return {"project": "churn", "artifact": "classifier", "type": "model", "files": files, **extra}


# --- NOT_FOUND names what is missing ---

@pytest.mark.parametrize(("ref", "needle"), [
    ("nope/x:v0", "project 'nope'"),
    ("churn/missing:latest", "churn/missing"),
    ("churn/classifier:v99", "churn/classifier:v99"),
    ("churn/classifier:gold", "churn/classifier:gold"),
    ("churn/prod:v7", "churn/prod:v7"),
    ("churn/classifier@abcdef", "churn/classifier@abcdef"),
])
async def test_unknown_references(api: Api, dialect: str, ref: str, needle: str) -> None:
    await seeded(api)
    await expect(api, "NOT_FOUND", needle, "query($r: String!) { resolve(ref: $r) { id } }", r=ref)


async def test_unknown_project_in_mutations(api: Api, dialect: str) -> None:
    await seeded(api)
    await expect(api, "NOT_FOUND", "project 'ghost'", CREATE_VERSION,
                 input={**version_input(manifest({"a": b"a"})), "project": "ghost"})
    await expect(api, "NOT_FOUND", "project 'ghost'", 'mutation { startRun(input: {project: "ghost"}) { id } }')
    await expect(api, "NOT_FOUND", "project 'ghost'", 'mutation { setAlias(input: {collection: "ghost/model", '
                 'alias: "staging", version: "churn/classifier:v0"}) { name } }')
    await expect(api, "NOT_FOUND", "churn/none", 'mutation { setAlias(input: {collection: "churn/none", '
                 'alias: "staging", version: "churn/classifier:v0"}) { name } }')


# --- BAD_INPUT says how to fix it ---

@pytest.mark.parametrize("ref", ["churn", "churn/x", "churn/x:", "churn/x@zz", "Churn/x:v1", "churn/x:v01", "a b/c:v1"])
async def test_malformed_references(api: Api, dialect: str, ref: str) -> None:
    await seeded(api)
    await expect(api, "BAD_INPUT", "invalid reference", "query($r: String!) { resolve(ref: $r) { id } }", r=ref)


@pytest.mark.parametrize("name", ["Bad Name", "", "-x", "x" * 129, "ünï"])
async def test_bad_project_names(api: Api, dialect: str, name: str) -> None:
    await seeded(api)
    await expect(api, "BAD_INPUT", "invalid project name", "mutation($n: String!) { createProject(name: $n) { id } }",
                 n=name)


@pytest.mark.parametrize(("files", "needle"), [
    ([{"path": "a", "size": 1, "sha256": "xyz"}], "invalid sha256"),
    ([{"path": "a", "size": 1, "sha256": SHA.upper()}], "invalid sha256"),
    ([{"path": "a", "size": -1, "sha256": SHA}], "size must be"),
    ([{"path": "a", "size": 1.5, "sha256": SHA}], "size must be"),
    ([{"path": "a", "size": 1, "sha256": SHA}, {"path": "a", "size": 1, "sha256": SHA}], "appears twice"),
    ([{"path": "../etc/passwd", "size": 1, "sha256": SHA}], "invalid file path"),
    ([{"path": "/abs/path", "size": 1, "sha256": SHA}], "invalid file path"),
    ([{"path": "a/../b", "size": 1, "sha256": SHA}], "invalid file path"),
    ([{"path": "a//b", "size": 1, "sha256": SHA}], "invalid file path"),
    ([{"path": "./a", "size": 1, "sha256": SHA}], "invalid file path"),
    ([], "at least one file"),
    ([{"path": "a", "size": 1, "sha256": SHA}, {"path": "a/b", "size": 1, "sha256": SHA}], "'a' is also the directory"),
    ([{"path": "x" * 1024, "size": 1, "sha256": SHA}], "over 200 bytes"),
    ([{"path": "a\nb", "size": 1, "sha256": SHA}], "control character"),
    ([{"path": "invoice\u202etxt.exe", "size": 1, "sha256": SHA}], "bidirectional control"),
    ([{"path": "M.bin", "size": 1, "sha256": SHA}, {"path": "m.bin", "size": 1, "sha256": SHA}], "differ only by case"),
])
async def test_bad_manifests(api: Api, dialect: str, files: list[dict[str, object]], needle: str) -> None:
    await seeded(api)
    await expect(api, "BAD_INPUT", needle, CREATE_VERSION, input=version_input(files))


async def test_bad_version_options(api: Api, dialect: str) -> None:
    ids = await seeded(api)
    files = manifest({"new.bin": b"new"})
    await expect(api, "BAD_INPUT", "'latest' is set by the server", CREATE_VERSION,
                 input=version_input(files, aliases=["latest"]))
    await expect(api, "BAD_INPUT", "invalid alias", CREATE_VERSION, input=version_input(files, aliases=["v3"]))
    await expect(api, "BAD_INPUT", "must be a JSON object", CREATE_VERSION, input=version_input(files, metadata=[1, 2]))
    await expect(api, "BAD_INPUT", "invalid id", CREATE_VERSION, input=version_input(files, run="!!!"))
    await expect(api, "BAD_INPUT", "is a ArtifactVersion", CREATE_VERSION, input=version_input(files, run=ids["v0"]))


async def test_alias_rules(api: Api, dialect: str) -> None:
    ids = await seeded(api)
    set_alias = 'mutation($c: String!, $a: String!, $v: String!) { setAlias(input: {collection: $c, alias: $a, version: $v}) { name } }'
    await expect(api, "BAD_INPUT", "only committed versions", set_alias, c="churn/classifier", a="staging",
                 v=ids["pending"])
    await expect(api, "BAD_INPUT", "maintained by the server", set_alias, c="churn/classifier", a="latest",
                 v="churn/classifier:v0")
    await expect(api, "BAD_INPUT", "invalid alias", set_alias, c="churn/classifier", a="v3", v="churn/classifier:v0")
    await expect(api, "BAD_INPUT", "invalid alias", set_alias, c="churn/classifier", a="Prod", v="churn/classifier:v0")
    await log_version(api, {"other.bin": b"other"}, artifact="other")
    await expect(api, "BAD_INPUT", "not a version of", set_alias, c="churn/classifier", a="staging",
                 v="churn/other:v0")
    await expect(api, "BAD_INPUT", "not linked into", set_alias, c="churn/prod", a="staging", v="churn/other:v0")
    await expect(api, "NOT_FOUND", "not set", 'mutation { removeAlias(collection: "churn/prod", alias: "gold") }')


async def test_committed_versions_never_change(api: Api, dialect: str) -> None:
    ids = await seeded(api)
    await expect(api, "VERSION_COMMITTED", "already committed", COMMIT, v=ids["v0"])


async def test_commit_with_blob_never_uploaded(api: Api, dialect: str) -> None:
    ids = await seeded(api)
    await expect(api, "BLOB_UNKNOWN", "never uploaded", COMMIT, v=ids["pending"])
    state = await api("query($id: ID!) { node(id: $id) { ... on ArtifactVersion { state } } }", id=ids["pending"])
    assert state["node"]["state"] == "PENDING"


async def test_conflicts(api: Api, dialect: str) -> None:
    await seeded(api)
    await expect(api, "CONFLICT", "already exists", 'mutation { createProject(name: "churn") { id } }')
    await expect(api, "CONFLICT", "already exists as an artifact",
                 'mutation { createRegisteredModel(project: "churn", name: "classifier") { id } }')
    await expect(api, "CONFLICT", "is a registered model", CREATE_VERSION,
                 input={**version_input(manifest({"z": b"z"})), "artifact": "prod"})
    await expect(api, "CONFLICT", "has type 'model'", CREATE_VERSION,
                 input={**version_input(manifest({"z": b"z"})), "type": "dataset"})
    await expect(api, "CONFLICT", "is an artifact", 'mutation { linkVersion(input: {version: "churn/classifier:v0", '
                 'registeredModel: "churn/classifier"}) { id } }')


async def test_run_rules(api: Api, dialect: str) -> None:
    ids = await seeded(api)
    log = "mutation($r: ID!, $s: Int!, $m: JSON!) { logMetrics(run: $r, step: $s, metrics: $m) }"
    await expect(api, "BAD_INPUT", "finite number", log, r=ids["run"], s=0, m={"loss": "low"})
    await expect(api, "BAD_INPUT", "finite number", log, r=ids["run"], s=0, m={"loss": True})
    await expect(api, "BAD_INPUT", "step must be", log, r=ids["run"], s=-1, m={"loss": 1})
    await expect(api, "BAD_INPUT", "metrics is empty", log, r=ids["run"], s=0, m={})
    use = "mutation($r: ID!, $v: String!) { useArtifact(run: $r, version: $v) { id } }"
    await expect(api, "BAD_INPUT", "its own output", use, r=ids["run"], v="churn/classifier:v0")
    await expect(api, "BAD_INPUT", "only use committed", use, r=ids["run"], v=ids["pending"])
    await expect(api, "BAD_INPUT", "mode must be", 'mutation($r: ID!) { useDataset(run: $r, dataset: '
                 '{namespace: "s3://b", name: "d"}, mode: "append") { id } }', r=ids["run"])
    await expect(api, "BAD_INPUT", "invalid gitCommit",
                 'mutation { startRun(input: {project: "churn", gitCommit: "not-a-sha"}) { id } }')
    await api("mutation($r: ID!) { finishRun(run: $r) { status } }", r=ids["run"])
    await expect(api, "CONFLICT", "already finished", "mutation($r: ID!) { finishRun(run: $r) { status } }", r=ids["run"])


async def test_malformed_ids_and_limits(api: Api, dialect: str) -> None:
    await seeded(api)
    await expect(api, "BAD_INPUT", "invalid id", '{ run(id: "!!!") { id } }')
    await expect(api, "BAD_INPUT", "invalid cursor", '{ projects(after: "zzz") { totalCount } }')
    await expect(api, "LIMIT_EXCEEDED", "at most 500", "{ projects(first: 501) { totalCount } }")
    deep = "{ projects { edges { node { runs { edges { node { project { runs { edges { node { project { runs { " \
           "edges { node { project { name } } } } } } } } } } } } } } } }"
    await expect(api, "LIMIT_EXCEEDED", "levels deep", deep)


@pytest.mark.parametrize("mutate", ["shorter", "longer", "other"])
async def test_uploaded_bytes_must_match(api: Api, dialect: str, mutate: str) -> None:
    await seeded(api)
    body = b"0123456789" * 100
    created = (await api(CREATE_VERSION, input=version_input(manifest({"data.bin": body}))))["createArtifactVersion"]
    target = created["uploads"][0]
    wrong = {"shorter": body[:-1], "longer": body + b"!", "other": body[::-1]}[mutate]
    before = await snapshot(api.server)
    resp = await api.http.put(target["url"], content=wrong, headers=target["headers"])
    assert resp.status_code == 422
    assert resp.json()["errors"][0]["extensions"]["code"] == "DIGEST_INVALID"
    assert await snapshot(api.server) == before


async def test_upload_links_are_signed(api: Api, dialect: str) -> None:
    await seeded(api)
    body = b"signed"
    created = (await api(CREATE_VERSION, input=version_input(manifest({"s.bin": body}))))["createArtifactVersion"]
    url = created["uploads"][0]["url"]
    before = await snapshot(api.server)
    for bad in (url.replace("sig=", "sig=00"), url.split("&sig=")[0], url.replace("size=6", "size=7")):
        assert (await api.http.put(bad, content=body)).status_code in (400, 403)
    assert await snapshot(api.server) == before




# --- Malformed JSON: 400 BAD_INPUT with a JSON body naming the problem, on every endpoint that reads JSON ---

DEEP = b'{"query": "query($c: JSON) { __typename }", "variables": {"c": ' + b"[" * 3000 + b"]" * 3000 + b"}}"
MALFORMED = {
    "invalid UTF-8": (b'{"query": "\xff"}', "UTF-8"),
    "nested 3,000 deep": (DEEP, "deeper than 72 levels"),
    "a 5,000-digit integer": (b'{"query": "{ __typename }", "variables": {"n": ' + b"7" * 5000 + b"}}", "digits"),
    "NaN": (b'{"query": "{ __typename }", "variables": {"n": NaN}}', "NaN"),
}


@pytest.mark.dialects("sqlite")
@pytest.mark.parametrize("endpoint", ["/graphql", "/api/v1/lineage", "/api/v1/lineage/batch", "/files/batch"])
@pytest.mark.parametrize("case", list(MALFORMED))
async def test_malformed_json_is_a_400_naming_the_problem(api: Api, dialect: str, endpoint: str, case: str) -> None:
    body, needle = MALFORMED[case]
    if endpoint == "/api/v1/lineage/batch":
        body = b"[" + body + b"]"  # a JSON array of events (NDJSON lines are judged one by one)
    before = await snapshot(api.server)
    resp = await api.http.post(f"{api.url}{endpoint}", content=body, headers={
        "Authorization": f"Bearer {api.token}", "Content-Type": "application/json"})
    assert resp.status_code == 400, (resp.status_code, resp.text[:300])
    error = resp.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_INPUT" and needle in error["message"], error
    assert "Traceback" not in resp.text and "int()" not in resp.text
    assert await snapshot(api.server) == before


async def test_json_arguments_nest_at_most_64_deep(api: Api, dialect: str) -> None:
    await seeded(api)
    start = "mutation($c: JSON) { startRun(input: {project: \"churn\", config: $c}) { id } }"
    deep: object = 1
    for _ in range(65):
        deep = {"a": deep}
    await expect(api, "BAD_INPUT", "deeper than 64", start, c=deep)
    literal = "[" * 65 + "]" * 65
    await expect(api, "BAD_INPUT", "deeper than 64",
                 f'mutation {{ startRun(input: {{project: "churn", config: {{a: {literal}}}}}) {{ id }} }}')
    assert (await api(start, c={"layers": [[{"a": [1]}]]}))["startRun"]["id"]


async def test_numbers_no_row_or_event_can_have_are_bad_input(api: Api, dialect: str) -> None:
    import base64

    await seeded(api)
    huge = base64.urlsafe_b64encode(b"Run:" + b"9" * 40).decode().rstrip("=")
    await expect(api, "BAD_INPUT", "invalid id", "query($i: ID!) { node(id: $i) { id } }", i=huge)
    await expect(api, "BAD_INPUT", "invalid id", "query($i: ID!) { run(id: $i) { id } }", i=huge)
    for after in ("1e300", "-1", "2.5"):
        await expect(api, "BAD_INPUT", "sequence number", f"{{ events(after: {after}) {{ totalCount }} }}")
    await expect(api, "BAD_INPUT", "sequence number", "query($a: Float) { events(after: $a) { totalCount } }",
                 a=1e300)


async def test_date_time_arguments_are_explained_in_a_sentence(api: Api, dialect: str) -> None:
    ids = await seeded(api)
    for value in ("yesterday", "2026-13-45", "2026-12-03T25:00:00Z", ""):
        err = await api.error("query($v: ID!, $t: DateTime) { lineage(node: $v, asOf: $t) { root } }",
                              v=ids["v0"], t=value)
        message = err.errors[0]["message"]
        assert err.code == "BAD_INPUT" and "ISO 8601" in message and "int()" not in message, message
        assert "invalid literal" not in message and "must be in" not in message, message
    err = await api.error(f'{{ lineage(node: "{ids["v0"]}", asOf: "yesterday") {{ root }} }}')
    assert err.code == "BAD_INPUT" and "'yesterday' is not a date-time" in err.errors[0]["message"], err.errors


async def test_integer_literals_too_long_for_any_int_are_bad_input(api: Api, dialect: str) -> None:
    await seeded(api)
    await expect(api, "BAD_INPUT", "5000 digits", "{ projects(first: " + "9" * 5000 + ") { totalCount } }")
    await expect(api, "BAD_INPUT", "5000 digits",
                 'mutation { startRun(input: {project: "churn", config: {n: ' + "7" * 5000 + "}}) { id } }")
