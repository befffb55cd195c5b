"""Roles per project, over real HTTP: who may read and write where, and nothing of a project leaks to a user
who has no role in it — whichever path through the schema they take.

Two projects: `secret` (the admin's) and `open` (where the test users get roles). They are joined the way real
registries are: an `open` run used a `secret` version, a `secret` version is linked into an `open` model, and
both projects' runs read one dataset.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from conftest import Api, snapshot
from lineage_reg.services import actors
from support.two_projects import roots, seed, user
from support.versions import log_version

MARKERS = ("secret-weights", "secret-train", "s3cr3t-meta", "secret-model", "hush.bin", "secret/")


@pytest.fixture(autouse=True)
def fresh_grants(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actors, "CACHE_SECONDS", 0.0)  # role changes apply to the next request (the server is in-process)


async def test_roles_per_project(api: Api, dialect: str) -> None:
    ids = await seed(api)
    alice = await user(api, "alice")
    assert (await alice('{ projects { totalCount edges { node { name } } } }'))["projects"]["totalCount"] == 0
    err = await alice.error('{ resolve(ref: "open/open-model:v0") { ref } }')
    assert err.code == "FORBIDDEN" and "viewer role in some project" in err.errors[0]["message"]

    await api('mutation { addMember(project: "open", user: "alice", role: "viewer") { user } }')
    assert [e["node"]["name"] for e in (await alice("{ projects { edges { node { name } } } }"))["projects"]["edges"]] \
        == ["open"]
    assert (await alice('{ resolve(ref: "open/open-model:v0") { ref } }'))["resolve"]["ref"] == "open/open-model:v0"
    before = await snapshot(api.server)
    err = await alice.error('mutation { startRun(input: {project: "open"}) { id } }')
    assert err.code == "FORBIDDEN" and "member role" in err.errors[0]["message"]
    assert await snapshot(api.server) == before

    await api('mutation { addMember(project: "open", user: "alice", role: "member") { user } }')
    run = (await alice('mutation { startRun(input: {project: "open", name: "alice-run"}) { id createdBy } }'))["startRun"]
    assert run["createdBy"] == "alice"
    await log_version(alice, {"m.bin": b"alice"}, project="open", artifact="alice-model", run=run["id"])
    await alice('mutation { linkVersion(input: {version: "open/alice-model:v0", registeredModel: "open/shared-registry"}) '
                "{ ref } }")
    await alice('mutation { setAlias(input: {collection: "open/shared-registry", alias: "staging", '
                'version: "open/open-model:v0"}) { name } }')
    err = await alice.error('mutation { setAlias(input: {collection: "open/shared-registry", alias: "production", '
                            'version: "open/alice-model:v0"}) { name } }')
    assert err.code == "FORBIDDEN" and "admin role" in err.errors[0]["message"]  # protected
    err = await alice.error('mutation { startRun(input: {project: "secret"}) { id } }')
    assert err.code == "NOT_FOUND"  # a member of open is nobody in secret: told as if it didn't exist
    err = await alice.error('mutation { addMember(project: "open", user: "mallory", role: "admin") { user } }')
    assert err.code == "FORBIDDEN"

    await api('mutation { addMember(project: "open", user: "alice", role: "admin") { user } }')
    await alice('mutation { setAlias(input: {collection: "open/shared-registry", alias: "production", '
                'version: "open/alice-model:v0"}) { name } }')
    members = await alice('mutation { addMember(project: "open", user: "bob", role: "viewer") { user role } }')
    assert members["addMember"] == [{"user": "alice", "role": "admin"}, {"user": "bob", "role": "viewer"}]
    assert (await alice('{ members(project: "open") { user } }'))["members"] == [{"user": "alice"}, {"user": "bob"}]
    err = await alice.error('mutation { unlinkVersion(link: "%s") }' % ids["secret_link"])
    assert err.code == "NOT_FOUND"  # an admin of open, not of secret

    await api('mutation { removeMember(project: "open", user: "alice") { user } }')
    assert (await alice('{ projects { totalCount } }'))["projects"]["totalCount"] == 0
    err = await api.error('mutation { removeMember(project: "open", user: "alice") { user } }')
    assert err.code == "NOT_FOUND"
    err = await api.error('mutation { addMember(project: "open", user: "x", role: "owner") { user } }')
    assert err.code == "BAD_INPUT"


# --- the walk: every root field, every path below it, as a member of `open` only ------------------------------

async def test_nothing_of_a_project_leaks_to_someone_without_a_role_in_it(api: Api, dialect: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    # The walk selects every field three levels deep (millions by the query cost estimate): what the budget
    # refuses from a client, and beside the point here, where only access is judged.
    rt = api.server.runtime
    monkeypatch.setattr(rt, "settings", dataclasses.replace(rt.settings, max_query_cost=10**9))
    ids = await seed(api)
    eve = await user(api, "eve", "open", "member")
    answered: list[str] = []
    for root, text in roots(ids):
        body = await eve.raw("query { " + text + " }")
        dumped = json.dumps(body)
        leaked = [m for m in MARKERS if m in dumped]
        assert not leaked, f"{root} leaked {leaked}: " + " | ".join(dumped[max(0, dumped.find(m) - 300):dumped.find(m) + 100] for m in leaked)
        codes = {e.get("extensions", {}).get("code") for e in body.get("errors") or []}
        assert codes <= {"FORBIDDEN", "NOT_FOUND"}, (root, body["errors"])  # refused, never broken or over a limit
        if body.get("data") and any(v for v in body["data"].values()):
            answered.append(root)
    # The walk read real data of `open` (objects of `secret` inside an answer are refused field by field,
    # and a refusal under a non-null field nulls its parent: some answers end up null, none leaks).
    assert {"resolve", "lineage", "events"} <= set(answered), answered

    # What eve does see of the joins: the shared registry's link to the secret version is there but opaque.
    data = await eve('{ registeredModel(project: "open", name: "shared-registry") { versions { edges { node { '
                     "ref } } } } }")
    assert [e["node"]["ref"] for e in data["registeredModel"]["versions"]["edges"]] == [
        "open/shared-registry:v1", "open/shared-registry:v0"]
    graph = (await eve('query($n: ID!) { lineage(node: $n, direction: UPSTREAM) { nodes { label } } }',
                       n=ids["open_run"]))["lineage"]
    assert "(hidden: a project you have no role in)" in [n["label"] for n in graph["nodes"]]


@pytest.mark.network
async def test_subscriptions_only_stream_readable_projects(api: Api, dialect: str) -> None:
    from support.ws import connected, subscribe

    await seed(api)
    eve = await user(api, "eve", "open", "viewer")
    async with connected(api, eve.token) as sock:
        await sock.send({"id": "x", "type": "subscribe", "payload": {
            "query": 'subscription { aliasChanged(collection: "secret/secret-model-prod") { alias } }'}})
        message = await sock.receive()
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"  # as if it didn't exist: see test_no_existence_oracle
        if message["type"] == "next":
            assert await sock.receive() == {"id": "x", "type": "complete"}
        await subscribe(sock, api.server, "subscription { events(after: 0) { project kind } }", sub_id="all")
        seen = []
        while True:  # the replay: every event of the log this viewer of `open` may read, and no other
            try:
                message = await sock.receive(timeout=1.0)
            except TimeoutError:
                break
            assert message["type"] == "next" and message["id"] == "all", message
            seen.append(message["payload"]["data"]["events"]["project"])
        assert len(seen) > 5 and set(seen) == {"open"}
        await api('mutation { setAlias(input: {collection: "secret/secret-model-prod", alias: "canary", '
                  'version: "secret/secret-model:v0"}) { name } }')
        await api('mutation { setAlias(input: {collection: "open/shared-registry", alias: "canary", '
                  'version: "open/open-model:v0"}) { name } }')
        live = await sock.next("events", "all")
        assert live == {"project": "open", "kind": "alias.set"}


SET_ALIAS = ('mutation($c: String!, $a: String!, $v: String!) { setAlias(input: {collection: $c, alias: $a, '
             'version: $v}) { name protected } }')
PROTECT = ('mutation($n: [String!]!, $p: String, $c: String) { setProtectedAliases(names: $n, project: $p, '
           'collection: $c) { scope names } }')


async def test_protected_aliases_per_project_and_collection(api: Api, dialect: str) -> None:
    await seed(api)
    await api('mutation { linkVersion(input: {version: "open/open-model:v0", registeredModel: "open/other-model"}) '
              "{ id } }")
    carol = await user(api, "carol", "open", "member")
    v = "open/open-model:v0"
    assert (await carol(SET_ALIAS, c="open/other-model", a="prod-eu", v=v))["setAlias"]["protected"] is False

    assert (await api(PROTECT, n=["production", "prod-eu"], p="open"))["setProtectedAliases"] == {
        "scope": "open", "names": ["prod-eu", "production"]}
    err = await carol.error(SET_ALIAS, c="open/other-model", a="prod-eu", v=v)
    assert err.code == "FORBIDDEN" and "admin role" in err.errors[0]["message"]
    assert (await carol(SET_ALIAS, c="open/other-model", a="staging", v=v))["setAlias"]["protected"] is False

    # A collection's own list wins over its project's: here `staging` is protected and `production` is not.
    await api(PROTECT, n=["staging"], c="open/shared-registry")
    err = await carol.error(SET_ALIAS, c="open/shared-registry", a="staging", v=v)
    assert err.code == "FORBIDDEN"
    assert (await carol(SET_ALIAS, c="open/shared-registry", a="production", v=v))["setAlias"]["protected"] is False
    aliases = (await carol('{ registeredModel(project: "open", name: "other-model") { aliases { name protected } } }'))
    assert {a["name"]: a["protected"] for a in aliases["registeredModel"]["aliases"]}["prod-eu"] is True
    kinds = [e["node"]["kind"] for e in (await api('{ events(project: "open", first: 200) { edges { node { kind } } } }'))
             ["events"]["edges"]]
    assert kinds.count("aliases.protected") == 2

    before = await snapshot(api.server)
    assert (await carol.error(PROTECT, n=["x"], p="open")).code == "FORBIDDEN"
    assert (await api.error(PROTECT, n=["x"])).code == "BAD_INPUT"
    assert (await api.error(PROTECT, n=["x"], p="open", c="open/other-model")).code == "BAD_INPUT"
    assert (await api.error(PROTECT, n=["latest"], p="open")).code == "BAD_INPUT"
    assert (await api.error(PROTECT, n=["Not An Alias"], p="open")).code == "BAD_INPUT"
    assert (await api.error(PROTECT, n=["x"], c="open/missing")).code == "NOT_FOUND"
    assert await snapshot(api.server) == before


# --- no existence oracle: what a caller who may not read a project is told -----------------------------------

def missing_id(type_name: str) -> str:
    from lineage_reg import ids

    return ids.encode(type_name, 10**6)


# Where an argument names something in `secret`, and how to name something that doesn't exist in its place:
# another name in the same project, and a project that doesn't exist at all.
REFS = [("secret/secret-model:v0", "secret/nonexist:v0"), ("secret/secret-model:v1", "secret/nonexist:v1"),
        ("secret/secret-model:production", "secret/nonexist:production"),
        ("secret/secret-model-prod:staging", "secret/nonexist:staging"),
        ("secret/secret-model:v0", "nope/secret-model:v0")]
COLLECTIONS = [("secret/secret-model", "secret/nonexist"), ("secret/secret-model-prod", "nope/secret-model-prod")]
PROJECTS = [("secret", "nope")]


def oracle_cases(ids: dict[str, Any]) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(root field, a document with $X where the argument goes, [(secret value, missing value)])."""
    version_ids = [(ids["secret_version"], missing_id("ArtifactVersion"))]
    runs = [(ids["secret_run"], missing_id("Run"))]
    versions = REFS + version_ids
    hook = [(ids["secret_webhook"], missing_id("Webhook"))]
    requests = [(ids.get("secret_request", ""), missing_id("PromotionRequest"))]
    comments = [(ids.get("secret_comment", ""), missing_id("Comment"))]
    q = [
        ("node", 'node(id: "$X") { id }', version_ids + runs + [(ids["secret_link"], missing_id("ModelLink")),
                                                                 (ids["secret_model"], missing_id("RegisteredModel"))]
         + requests + comments),
        ("project", 'project(name: "$X") { name }', PROJECTS),
        ("run", 'run(id: "$X") { name }', runs),
        ("artifact", 'artifact(project: "secret", name: "$X") { name }', [("secret-model", "nonexist")]),
        ("artifact", 'artifact(project: "$X", name: "secret-model") { name }', PROJECTS),
        ("registeredModel", 'registeredModel(project: "$X", name: "secret-model-prod") { name }', PROJECTS),
        ("resolve", 'resolve(ref: "$X") { ref }', versions),
        ("lineage", 'lineage(node: "$X") { root }', version_ids + runs),
        ("impact", 'impact(node: "$X") { ref }', version_ids + runs),
        ("impactPaths", 'impactPaths(node: "$X") { distance }', version_ids),
        ("lineagePath", f'lineagePath(from: "$X", to: "{ids["open_run"]}") {{ root }}', version_ids + runs),
        ("events", 'events(project: "$X") { totalCount }', PROJECTS),
        ("compareVersions", 'compareVersions(refs: ["$X", "$X"]) { differs: metadata { key } }', versions),
        ("members", 'members(project: "$X") { user }', PROJECTS),
        ("webhooks", 'webhooks(project: "$X") { id }', PROJECTS),
        ("deliveries", 'deliveries(webhook: "$X") { totalCount }', hook),
        ("searchVersions", 'searchVersions(filter: {projects: ["$X"]}) { totalCount }', PROJECTS),
        ("searchVersions", 'searchVersions(query: "project:$X") { totalCount }', PROJECTS),
        ("searchVersions", 'searchVersions(filter: {registeredModel: "$X"}) { totalCount }', COLLECTIONS),
        ("promotionRequests", 'promotionRequests(project: "$X") { totalCount }', PROJECTS),
        ("exportModelCard", 'exportModelCard(ref: "$X")', versions),
        ("promotionRequests", 'promotionRequests(collection: "$X") { totalCount }', COLLECTIONS),
        ("aliasAt", 'aliasAt(collection: "$X", alias: "production", at: "2030-01-01T00:00:00Z") { ref }', COLLECTIONS),
        ("aliasHistory", 'aliasHistory(collection: "$X", alias: "production") { totalCount }', COLLECTIONS),
        ("searchRegisteredModels", 'searchRegisteredModels(filter: {projects: ["$X"]}) { totalCount }', PROJECTS),
        ("searchRuns", 'searchRuns(filter: {projects: ["$X"]}) { totalCount }', PROJECTS),
    ]
    files = '[{path: "x.bin", size: 1, sha256: "' + "0" * 64 + '"}]'
    m = [
        ("startRun", 'startRun(input: {project: "$X"}) { id }', PROJECTS),
        ("finishRun", 'finishRun(run: "$X") { id }', runs),
        ("logMetrics", 'logMetrics(run: "$X", step: 1, metrics: {a: 1})', runs),
        ("useArtifact", f'useArtifact(run: "{ids["open_run"]}", version: "$X") {{ id }}', versions),
        ("useArtifact", 'useArtifact(run: "$X", version: "open/open-model:v0") { id }', runs),
        ("useDataset", 'useDataset(run: "$X", dataset: {namespace: "n", name: "d"}) { id }', runs),
        ("createArtifactVersion", f'createArtifactVersion(input: {{project: "$X", artifact: "a", type: "model", '
                                  f'files: {files}, aliases: ["production"]}}) {{ deduplicated }}', PROJECTS),
        ("createArtifactVersion", f'createArtifactVersion(input: {{project: "open", artifact: "a", type: "model", '
                                  f'files: {files}, run: "$X"}}) {{ deduplicated }}', runs),
        ("commitArtifactVersion", 'commitArtifactVersion(version: "$X") { id }', version_ids),
        ("deleteArtifactVersion", 'deleteArtifactVersion(version: "$X") { id }', versions),
        ("createRegisteredModel", 'createRegisteredModel(project: "$X", name: "m") { id }', PROJECTS),
        ("linkVersion", 'linkVersion(input: {version: "$X", registeredModel: "open/shared-registry"}) { id }',
         versions),
        ("linkVersion", 'linkVersion(input: {version: "open/open-model:v0", registeredModel: "$X", '
                        'aliases: ["production"]}) { id }', COLLECTIONS),
        ("unlinkVersion", 'unlinkVersion(link: "$X")', [(ids["secret_link"], missing_id("ModelLink"))]),
        ("setAlias", 'setAlias(input: {collection: "$X", alias: "production", version: "open/open-model:v0"}) '
                     "{ name }", COLLECTIONS),
        ("setAlias", 'setAlias(input: {collection: "open/shared-registry", alias: "x", version: "$X"}) { name }',
         versions),
        ("removeAlias", 'removeAlias(collection: "$X", alias: "production")', COLLECTIONS),
        ("addTags", 'addTags(target: "$X", tags: ["t"])', [(ids["secret_model"], missing_id("RegisteredModel"))]
         + version_ids),
        ("removeTags", 'removeTags(target: "$X", tags: ["t"])', version_ids),
        ("createWebhook", 'createWebhook(input: {project: "$X", url: "https://hooks.example.com/x", '
                          'kinds: ["alias.set"], secret: "0123456789abcdef"}) { id }', PROJECTS),
        ("updateWebhook", 'updateWebhook(input: {id: "$X", active: false}) { id }', hook),
        ("deleteWebhook", 'deleteWebhook(id: "$X")', hook),
        ("pingWebhook", 'pingWebhook(id: "$X") { id }', hook),
        ("addMember", 'addMember(project: "$X", user: "eve", role: "admin") { user }', PROJECTS),
        ("removeMember", 'removeMember(project: "$X", user: "root") { user }', PROJECTS),
        ("setProtectedAliases", 'setProtectedAliases(project: "$X", names: []) { names }', PROJECTS),
        ("setProtectedAliases", 'setProtectedAliases(collection: "$X", names: []) { names }', COLLECTIONS),
        ("logVersionMetrics", 'logVersionMetrics(version: "$X", metrics: {auc: 0.5})', versions),
        ("logVersionMetricsBatch", 'logVersionMetricsBatch(points: [{version: "open/open-model:v0", '
                                   'metrics: {auc: 1}}, {version: "$X", metrics: {auc: 0.5}}])', versions),
        ("createMetricRule", 'createMetricRule(collection: "$X", alias: "production", metric: "auc", op: LT, '
                             "threshold: 0.5) { id }", COLLECTIONS),
        ("deleteMetricRule", 'deleteMetricRule(id: "$X")', [(ids.get("secret_rule", ""), missing_id("MetricRule"))]),
        ("setApprovalPolicy", 'setApprovalPolicy(project: "$X", alias: "canary", requiredApprovals: 1) { alias }',
         PROJECTS),
        ("setApprovalPolicy", 'setApprovalPolicy(collection: "$X", alias: "canary", requiredApprovals: 1) { alias }',
         COLLECTIONS),
        ("removeApprovalPolicy", 'removeApprovalPolicy(collection: "$X", alias: "release")', COLLECTIONS),
        ("requestPromotion", 'requestPromotion(collection: "$X", alias: "release", version: "open/open-model:v0") '
                             "{ id }", COLLECTIONS),
        ("requestPromotion", 'requestPromotion(collection: "open/shared-registry", alias: "release", version: "$X") '
                             "{ id }", versions),
        ("reviewPromotion", 'reviewPromotion(request: "$X", decision: APPROVE) { state }', requests),
        ("cancelPromotion", 'cancelPromotion(request: "$X") { state }', requests),
        ("rollbackAlias", 'rollbackAlias(collection: "$X", alias: "production", reason: "r") { name }', COLLECTIONS),
        ("updateModelCard", 'updateModelCard(target: "$X", markdown: "m") { markdown }',
         version_ids + [(ids["secret_model"], missing_id("RegisteredModel"))]),
        ("updateRegisteredModel", 'updateRegisteredModel(model: "$X", description: "d") { id }',
         [("secret/secret-model-prod", "secret/nonexist"), ("secret/secret-model-prod", "nope/secret-model-prod")]),
        ("updateArtifact", 'updateArtifact(artifact: "$X", description: "d") { id }', COLLECTIONS),
        ("updateArtifactVersion", 'updateArtifactVersion(version: "$X", description: "d") { id }', versions),
        ("addComment", 'addComment(target: "$X", text: "t") { id }', version_ids + requests
         + [(ids["secret_model"], missing_id("RegisteredModel"))]),
        ("editComment", 'editComment(id: "$X", text: "t") { id }', comments),
        ("deleteComment", 'deleteComment(id: "$X")', comments),
    ]
    return [(f, "query { " + d + " }", v) for f, d, v in q] + [(f, "mutation { " + d + " }", v) for f, d, v in m]


SUBSCRIPTIONS = [("events", 'subscription { events(project: "$X") { kind } }', PROJECTS),
                 ("aliasChanged", 'subscription { aliasChanged(collection: "$X") { alias } }', COLLECTIONS)]


ANSWERS_NULL = {"node", "project", "run", "artifact", "registeredModel"}  # "nothing there you may see"


def unnamed(answer: dict[str, Any] | list[Any], secret: str, missing: str) -> str:
    """An answer with the name asked for put back to the secret one's: what is left must be the same bytes."""
    text = json.dumps(answer, sort_keys=True).replace(missing, secret)
    return text.replace("'nope'", "'secret'").replace("nonexist", "secret-model")


@pytest.mark.network
async def test_no_existence_oracle(api: Api, dialect: str) -> None:
    """Whether something exists in a project the caller may not read, and whether the project exists at all, is
    answered the same way: the same data, the same error code and message, over HTTP and over WebSocket, for a
    token with no role anywhere, a viewer of another project, and an admin of another project."""
    from lineage_reg.api.schema import schema
    from support.ws import connected

    ids = await seed(api)
    ids["secret_webhook"] = (await api('mutation { createWebhook(input: {project: "secret", url: '
                                       '"https://hooks.example.com/s", kinds: ["alias.set"], '
                                       'secret: "0123456789abcdef"}) { id } }'))["createWebhook"]["id"]
    await api('mutation { setAlias(input: {collection: "secret/secret-model-prod", alias: "staging", '
              'version: "secret/secret-model:v0"}) { name } }')
    ids["secret_rule"] = (await api('mutation { createMetricRule(collection: "secret/secret-model-prod", '
                                    'alias: "production", metric: "auc", op: LT, threshold: 0.5) { id } }')
                          )["createMetricRule"]["id"]
    callers = {"no role": await user(api, "nobody"), "viewer of open": await user(api, "ivy", "open", "viewer"),
               "admin of open": await user(api, "adam", "open", "admin")}
    cases = oracle_cases(ids)
    with_arguments = {name for t in (schema._schema.query_type, schema._schema.mutation_type)
                      for name, field in t.fields.items() if field.args}  # type: ignore[union-attr]
    assert with_arguments - {f for f, _, _ in cases} == {"dataset", "projects", "completeUpload", "createProject"}

    before = await snapshot(api.server)
    for who, caller in callers.items():
        for field, document, pairs in cases:
            for secret, missing in pairs:
                told_secret = await caller.raw(document.replace("$X", secret))
                told_missing = await caller.raw(document.replace("$X", missing))
                assert unnamed(told_secret, secret, missing) == unnamed(told_missing, secret, missing), (
                    f"{who}: {field} tells {secret} from {missing}:\n{told_secret}\n{told_missing}")
                dumped = json.dumps(told_secret)
                assert not [m for m in MARKERS if m in dumped], (who, field, told_secret)
                codes = [e["extensions"]["code"] for e in told_secret.get("errors") or []]
                assert codes in (["NOT_FOUND"], ["FORBIDDEN"]) or (not codes and field in ANSWERS_NULL), (
                    who, field, told_secret)  # refused for the argument, not for a malformed document
        for field, document, pairs in SUBSCRIPTIONS:
            for secret, missing in pairs:
                answers = []
                for value in (secret, missing):
                    async with connected(api, caller.token) as sock:
                        await sock.send({"id": "1", "type": "subscribe",
                                         "payload": {"query": document.replace("$X", value)}})
                        message = await sock.receive()
                        answers.append(message["payload"] if message["type"] == "error"
                                       else message["payload"].get("errors"))
                assert answers[0] and unnamed(answers[0], secret, missing) == unnamed(answers[1], secret, missing), (
                    f"{who}: subscription {field} tells {secret} from {missing}: {answers}")
    assert await snapshot(api.server) == before
