"""searchVersions / searchRegisteredModels / searchRuns: every filter field and operator, the text query, orders
with keyset pagination (also while versions are added), access filtering with counts (docs/search.md)."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import Api
from support.two_projects import user
from support.versions import COMMIT, CREATE_VERSION, manifest, upload_all

SEARCH = """query($f: VersionFilter, $q: String, $o: [VersionOrder!], $n: Int, $a: String) {
  searchVersions(filter: $f, query: $q, orderBy: $o, first: $n, after: $a) {
    totalCount edges { cursor node { ref } } pageInfo { hasNextPage endCursor } } }"""


async def version(api: Api, artifact: str, body: bytes, *, project: str = "churn", type_: str = "model",
                  metadata: dict[str, Any] | None = None, description: str | None = None,
                  run: str | None = None, tags: list[str] | None = None, aliases: list[str] | None = None,
                  commit: bool = True) -> str:
    contents = {"f.bin": body}
    inp = {"project": project, "artifact": artifact, "type": type_, "files": manifest(contents),
           "metadata": metadata, "description": description, "run": run, "aliases": aliases}
    created = (await api(CREATE_VERSION, input=inp))["createArtifactVersion"]
    await upload_all(api, created["uploads"], contents)
    vid = created["version"]["id"]
    if commit:
        await api(COMMIT, v=vid)
    if tags:
        await api("mutation($t: ID!, $g: [String!]!) { addTags(target: $t, tags: $g) }", t=vid, g=tags)
    return str(created["version"]["ref"])


async def refs(api: Api, f: dict[str, Any] | None = None, q: str | None = None,
               o: list[dict[str, Any]] | None = None) -> list[str]:
    out = (await api(SEARCH, f=f, q=q, o=o, n=100))["searchVersions"]
    names = [e["node"]["ref"] for e in out["edges"]]
    assert out["totalCount"] == len(names)
    return names


async def run_with(api: Api, project: str, name: str, summary: dict[str, Any], config: dict[str, Any]) -> str:
    run = (await api("mutation($p: String!, $n: String!, $c: JSON) { startRun(input: {project: $p, name: $n, "
                     "config: $c}) { id } }", p=project, n=name, c=config))["startRun"]["id"]
    await api("mutation($r: ID!, $s: JSON) { finishRun(run: $r, summary: $s) { status } }", r=run, s=summary)
    return str(run)


@pytest.fixture
async def seeded(api: Api) -> Api:
    for p in ("churn", "vision"):
        await api("mutation($n: String!) { createProject(name: $n) { id } }", n=p)
    r_good = await run_with(api, "churn", "train-good", {"auc": 0.95, "loss": 0.1}, {"lr": 0.1})
    r_bad = await run_with(api, "churn", "train-bad", {"auc": 0.7}, {"lr": 0.01})
    await version(api, "clf", b"a0", metadata={"framework": "sklearn", "train": {"epochs": 5}, "layers": [1, 2],
                                               "note": "two words"},
                  description="Baseline model", run=r_good, tags=["candidate", "fast"])
    await version(api, "clf", b"a1", metadata={"framework": "torch", "train": {"epochs": "5"}, "flag": True},
                  run=r_bad, tags=["candidate"], aliases=["production"])
    await version(api, "ds", b"d0", type_="dataset", metadata={"rows": 1000, "framework": None})
    await version(api, "clf", b"a2", metadata={"framework": "sklearn"}, commit=False)  # PENDING
    await version(api, "detector", b"v0", project="vision", metadata={"framework": "sklearn"}, tags=["candidate"])
    await api('mutation { linkVersion(input: {version: "churn/clf:v0", registeredModel: "churn/prod-model", '
              'aliases: ["staging"]}) { id } }')
    return api


async def test_every_version_filter_field(seeded: Api, dialect: str) -> None:
    api = seeded
    everything = ["vision/detector:v0", "churn/ds:v0", "churn/clf:v1", "churn/clf:v0"]
    assert await refs(api) == everything  # newest first, COMMITTED only
    assert await refs(api, {"projects": ["churn"]}) == everything[1:]
    assert await refs(api, {"artifact": "clf"}) == ["churn/clf:v1", "churn/clf:v0"]
    assert await refs(api, {"type": "dataset"}) == ["churn/ds:v0"]
    assert await refs(api, {"registeredModel": "churn/prod-model"}) == ["churn/clf:v0"]
    assert await refs(api, {"alias": "production"}) == ["churn/clf:v1"]
    assert await refs(api, {"alias": "staging"}) == ["churn/clf:v0"]  # held in the registered model
    assert await refs(api, {"states": ["PENDING"]}) == ["churn/clf:v2"]
    assert await refs(api, {"states": ["PENDING", "COMMITTED"], "artifact": "clf"}) == [
        "churn/clf:v2", "churn/clf:v1", "churn/clf:v0"]
    assert await refs(api, {"tagsAll": ["candidate", "fast"]}) == ["churn/clf:v0"]
    assert await refs(api, {"tagsAny": ["fast", "nope"]}) == ["churn/clf:v0"]
    assert await refs(api, {"tagsAll": ["candidate"]}) == ["vision/detector:v0", "churn/clf:v1", "churn/clf:v0"]
    assert await refs(api, {"createdBy": "bootstrap-admin"}) == everything
    assert await refs(api, {"createdBy": "somebody-else"}) == []
    assert await refs(api, {"text": "BASELINE"}) == ["churn/clf:v0"]  # description, any case
    assert await refs(api, {"text": "detect"}) == ["vision/detector:v0"]  # artifact name
    assert await refs(api, {"text": "FAS"}) == ["churn/clf:v0"]  # a tag
    assert await refs(api, {"text": "%"}) == []  # LIKE wildcards are literal
    assert await refs(api, {"metrics": [{"name": "auc", "op": "GTE", "value": 0.9}]}) == ["churn/clf:v0"]
    assert await refs(api, {"metrics": [{"name": "auc", "source": "training", "op": "LT", "value": 0.9}]}) == [
        "churn/clf:v1"]
    assert await refs(api, {"metrics": [{"name": "auc", "source": "evaluation", "op": "GT", "value": 0}]}) == []
    created = (await api('{ searchVersions(query: "artifact:clf", orderBy: [{field: INDEX, direction: ASC}]) '
                         "{ edges { node { createdAt } } } }"))["searchVersions"]["edges"]
    t0, t1 = created[0]["node"]["createdAt"], created[1]["node"]["createdAt"]
    assert await refs(api, {"artifact": "clf", "createdAfter": t0}) == ["churn/clf:v1"]
    assert await refs(api, {"artifact": "clf", "createdBefore": t1}) == ["churn/clf:v0"]
    # combined, and combined with the query by AND
    assert await refs(api, {"tagsAll": ["candidate"], "projects": ["churn"]}, "metadata.framework=sklearn") == [
        "churn/clf:v0"]


@pytest.mark.parametrize(("path", "op", "value", "expected"), [
    ("framework", "EQ", "sklearn", ["vision/detector:v0", "churn/clf:v0"]),
    ("framework", "NE", "sklearn", ["churn/ds:v0", "churn/clf:v1"]),  # absent or different
    ("framework", "EQ", None, ["churn/ds:v0"]),  # JSON null
    ("framework", "IN", ["torch", "jax"], ["churn/clf:v1"]),
    ("framework", "CONTAINS", "kle", ["vision/detector:v0", "churn/clf:v0"]),  # substring of a string
    ("framework", "GT", "t", ["churn/clf:v1"]),  # strings compare with strings
    ("train.epochs", "EQ", 5, ["churn/clf:v0"]),  # the number, not the string "5"
    ("train.epochs", "EQ", "5", ["churn/clf:v1"]),
    ("train.epochs", "GTE", 5, ["churn/clf:v0"]),
    ("train.epochs", "LT", 5, []),
    ("rows", "GT", 999.5, ["churn/ds:v0"]),
    ("rows", "LTE", 1000, ["churn/ds:v0"]),
    ("layers", "CONTAINS", 2, ["churn/clf:v0"]),  # a list holding the value
    ("layers", "CONTAINS", 3, []),
    ("flag", "EQ", True, ["churn/clf:v1"]),
    ("flag", "EQ", False, []),
    ("train", "EXISTS", True, ["churn/clf:v1", "churn/clf:v0"]),
    ("train", "EXISTS", False, ["vision/detector:v0", "churn/ds:v0"]),
    ("note", "EQ", "two words", ["churn/clf:v0"]),
])
async def test_metadata_operators(seeded: Api, dialect: str, path: str, op: str, value: Any,
                                  expected: list[str]) -> None:
    assert await refs(seeded, {"metadata": [{"path": path, "op": op, "value": value}]}) == expected


@pytest.mark.parametrize(("q", "expected"), [
    ("type:model tag:candidate", ["vision/detector:v0", "churn/clf:v1", "churn/clf:v0"]),
    ("-tag:candidate", ["churn/ds:v0"]),
    ("alias:production", ["churn/clf:v1"]),
    ("-alias:production artifact:clf", ["churn/clf:v0"]),
    ("project:churn -type:model", ["churn/ds:v0"]),
    ("metadata.framework=sklearn", ["vision/detector:v0", "churn/clf:v0"]),
    ("-metadata.framework=sklearn", ["churn/ds:v0", "churn/clf:v1"]),
    ("metadata.train.epochs>=5 metadata.framework!=torch", ["churn/clf:v0"]),
    ('metadata.note="two words"', ["churn/clf:v0"]),
    ('metadata.train.epochs="5"', ["churn/clf:v1"]),
    ("metric.auc>=0.9", ["churn/clf:v0"]),
    ("metric.training:auc<0.9", ["churn/clf:v1"]),
    ("metric.production:latency_p99<50", []),
    ("created>2000-01-01 artifact:ds", ["churn/ds:v0"]),
    ("created<2000-01-01", []),
    ("state:pending", ["churn/clf:v2"]),
    ("model:churn/prod-model", ["churn/clf:v0"]),
    ("by:bootstrap-admin project:vision", ["vision/detector:v0"]),
    ("baseline", ["churn/clf:v0"]),
    ('"baseline model"', ["churn/clf:v0"]),
    ("detector candidate", ["vision/detector:v0"]),
])
async def test_text_query(seeded: Api, dialect: str, q: str, expected: list[str]) -> None:
    assert await refs(seeded, q=q) == expected


async def test_bad_searches(seeded: Api, dialect: str) -> None:
    api = seeded
    err = await api.error(SEARCH, q="type:model metric.auc>>0.9")
    assert err.code == "BAD_INPUT"
    assert err.errors[0]["message"].startswith("query: unexpected 'metric.auc>>0.9' at 12; write metric.NAME>=NUMBER")
    bad = [
        ({"metadata": [{"path": "a", "op": "GT", "value": True}]}, None, None, "numbers only"),
        ({"metadata": [{"path": "a", "op": "EQ", "value": {"x": 1}}]}, None, None, "CONTAINS"),
        ({"metadata": [{"path": 'a"b', "op": "EQ", "value": 1}]}, None, None, "dot-separated"),
        ({"metadata": [{"path": "a..b", "op": "EQ", "value": 1}]}, None, None, "dot-separated"),
        ({"metadata": [{"path": "a", "op": "IN", "value": 3}]}, None, None, "list"),
        ({"metrics": [{"name": "auc", "op": "IN", "value": 1}]}, None, None, "one number"),
        ({"registeredModel": "nope"}, None, None, "project/name"),
        (None, None, [{"field": "METRIC"}], "metric's name"),
        (None, None, [{"field": "SIZE", "metric": "auc"}], "takes no metric"),
        ({"projects": ["Bad Name"]}, None, None, ""),
    ]
    for f, q, o, text in bad:
        err = await api.error(SEARCH, f=f, q=q, o=o)
        assert err.code == "BAD_INPUT", (f, q, o, err.errors)
        assert text in err.errors[0]["message"]
    assert (await api.error(SEARCH, f={"projects": ["ghost"]})).code == "NOT_FOUND"
    assert (await api.error(SEARCH, q="project:ghost")).code == "NOT_FOUND"
    # a cursor of one order is refused with another
    page = (await api(SEARCH, n=1))["searchVersions"]
    err = await api.error(SEARCH, n=1, a=page["pageInfo"]["endCursor"], o=[{"field": "SIZE"}])
    assert err.code == "BAD_INPUT" and "another search order" in err.errors[0]["message"]
    assert (await api.error(SEARCH, n=1, a="garbage")).code == "BAD_INPUT"
    # the page size and the cost limit apply as to any connection
    assert (await api.error(SEARCH, n=100_000)).code == "LIMIT_EXCEEDED"


async def walk(api: Api, o: list[dict[str, Any]] | None, n: int, q: str | None = None,
               between: Any = None) -> list[str]:
    seen: list[str] = []
    after = None
    while True:
        page = (await api(SEARCH, q=q, o=o, n=n, a=after))["searchVersions"]
        seen += [e["node"]["ref"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return seen
        after = page["pageInfo"]["endCursor"]
        if between is not None:
            await between()


ORDERS = [
    None,
    [{"field": "CREATED_AT", "direction": "ASC"}],
    [{"field": "INDEX", "direction": "DESC"}],
    [{"field": "INDEX", "direction": "ASC"}],
    [{"field": "SIZE", "direction": "DESC"}, {"field": "INDEX", "direction": "ASC"}],
    [{"field": "SIZE", "direction": "ASC"}],
    [{"field": "METRIC", "metric": "auc", "direction": "DESC"}],
    [{"field": "METRIC", "metric": "auc", "direction": "ASC"}],
    [{"field": "METRIC", "metric": "auc", "source": "training", "direction": "ASC"}, {"field": "SIZE"}],
]


async def test_orders_page_without_dupes_or_gaps(api: Api, dialect: str) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    runs = [await run_with(api, "churn", f"r{i}", {"auc": [0.5, 0.9, 0.7][i % 3]} if i % 4 else {}, {})
            for i in range(4)]
    for i in range(11):
        await version(api, f"a{i % 3}", b"x" * (1 + i % 4), run=runs[i % 4] if i % 5 else None)
    for o in ORDERS:
        full = await refs(api, o=o)
        assert len(full) == 11
        for n in (1, 3, 4):
            assert await walk(api, o, n) == full, (o, n)
    by_auc = await refs(api, o=[{"field": "METRIC", "metric": "auc", "direction": "DESC"}])
    auc_asc = await refs(api, o=[{"field": "METRIC", "metric": "auc", "direction": "ASC"}])
    # versions without the metric (no run, or a run without auc) come last both ways
    without = {r for r in by_auc[-5:]}
    assert set(auc_asc[-5:]) == without
    assert by_auc[0] != auc_asc[0]


async def test_filtered_and_ordered_by_the_same_stored_metric(api: Api, dialect: str) -> None:
    """The summary row is joined then (store/search.py): same answer as Python's sort, ties by id, every page."""
    await api('mutation { createProject(name: "churn") { id } }')
    aucs = [0.91, 0.97, 0.95, 0.97, 0.5, None, 0.99, 0.95, 0.93, 0.97]
    for i, auc in enumerate(aucs):
        v = await version(api, "m", f"w{i}".encode())
        if auc is not None:
            await api('mutation($v: String!, $m: JSON!) { logVersionMetrics(version: $v, metrics: $m) }',
                      v=v, m={"auc": auc, "f1": 1 - auc})
    for op, bound, direction in (("GTE", 0.93, "DESC"), ("GT", 0.93, "ASC"), ("LTE", 0.95, "DESC"),
                                 ("EQ", 0.97, "ASC")):
        keep = {"GTE": bound.__le__, "GT": bound.__lt__, "LTE": bound.__ge__, "EQ": bound.__eq__}[op]
        rows = [(auc, i) for i, auc in enumerate(aucs) if auc is not None and keep(auc)]
        rows.sort(reverse=direction == "DESC")  # ties by id, in the first key's direction
        expected = [f"churn/m:v{i}" for _, i in rows]
        f = {"metrics": [{"name": "auc", "source": "evaluation", "op": op, "value": bound}]}
        o = [{"field": "METRIC", "metric": "auc", "source": "evaluation", "direction": direction}]
        assert await refs(api, f=f, o=o) == expected, (op, direction)
        for n in (1, 2, 3):
            seen, after = [], None
            while True:
                page = (await api(SEARCH, f=f, o=o, n=n, a=after))["searchVersions"]
                seen += [e["node"]["ref"] for e in page["edges"]]
                if not page["pageInfo"]["hasNextPage"]:
                    break
                after = page["pageInfo"]["endCursor"]
            assert seen == expected, (op, direction, n)
    # Ordered by one metric, filtered on another: the subquery form, same rules.
    other = await refs(api, f={"metrics": [{"name": "f1", "source": "evaluation", "op": "LT", "value": 0.1}]},
                       o=[{"field": "METRIC", "metric": "auc", "source": "evaluation", "direction": "DESC"}])
    assert other == [f"churn/m:v{i}" for _, i in sorted(((a, i) for i, a in enumerate(aucs)
                                                          if a is not None and 1 - a < 0.1), reverse=True)]


@pytest.mark.parametrize("o", [None, [{"field": "SIZE", "direction": "ASC"}], [{"field": "INDEX", "direction": "ASC"}]])
async def test_pagination_is_stable_while_another_client_inserts(api: Api, dialect: str, o: Any) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    for i in range(9):
        await version(api, "m", f"w{i}".encode() * (1 + i % 3))
    existing = await refs(api, o=o)
    counter = iter(range(100))

    async def insert() -> None:
        i = next(counter)
        await version(api, "m", f"new{i}".encode() * (1 + i % 3))

    seen = await walk(api, o, 2, between=insert)
    assert len(seen) == len(set(seen))  # no duplicates
    assert set(existing) <= set(seen)  # no gaps among what existed
    assert [r for r in seen if r in existing] == existing  # in the same order


async def test_access_filters_results_and_counts(seeded: Api, dialect: str) -> None:
    api = seeded
    member = await user(api, "ann", "churn", "viewer")
    mine = await refs(member)
    assert mine == ["churn/ds:v0", "churn/clf:v1", "churn/clf:v0"]
    assert await refs(member, {"tagsAll": ["candidate"]}) == ["churn/clf:v1", "churn/clf:v0"]
    assert await refs(member, q="detector") == []
    err = await member.error(SEARCH, f={"projects": ["vision"]})
    project_err = await member.error('query { events(project: "vision") { totalCount } }')
    assert (err.code, err.errors[0]["message"]) == (project_err.code, project_err.errors[0]["message"])
    assert (await member.error(SEARCH, q="project:vision")).code == project_err.code
    assert (await member.error(SEARCH, f={"registeredModel": "vision/x"})).code == project_err.code
    outsider = await user(api, "bob")
    assert await refs(outsider) == []  # no project to read: nothing, as `projects` answers it
    assert (await api.as_token(None).error(SEARCH)).code == "UNAUTHENTICATED"
    models = await member('{ searchRegisteredModels { totalCount edges { node { name } } } }')
    assert models["searchRegisteredModels"]["totalCount"] == 1
    runs = await member('{ searchRuns(query: "project:churn") { totalCount } }')
    assert runs["searchRuns"]["totalCount"] == 2


MODELS = """query($f: ModelFilter, $q: String, $n: Int, $a: String) { searchRegisteredModels(filter: $f, query: $q,
  first: $n, after: $a) { totalCount edges { node { name } } pageInfo { hasNextPage endCursor } } }"""


async def test_search_registered_models(seeded: Api, dialect: str) -> None:
    api = seeded
    await api('mutation { linkVersion(input: {version: "vision/detector:v0", registeredModel: "vision/det-prod", '
              'aliases: ["production"]}) { id } }')
    model = (await api('{ registeredModel(project: "vision", name: "det-prod") { id } }'))["registeredModel"]["id"]
    await api("mutation($t: ID!) { addTags(target: $t, tags: [\"gold\"]) }", t=model)

    async def names(f: Any = None, q: str | None = None) -> list[str]:
        out = (await api(MODELS, f=f, q=q, n=10))["searchRegisteredModels"]
        assert out["totalCount"] == len(out["edges"])
        return [e["node"]["name"] for e in out["edges"]]

    assert await names() == ["det-prod", "prod-model"]
    assert await names({"projects": ["churn"]}) == ["prod-model"]
    assert await names({"tagsAll": ["gold"]}) == ["det-prod"]
    assert await names({"tagsAny": ["gold", "x"]}) == ["det-prod"]
    assert await names({"alias": "staging"}) == ["prod-model"]
    assert await names(q="alias:production") == ["det-prod"]
    assert await names(q="-tag:gold") == ["prod-model"]
    assert await names({"text": "DET"}) == ["det-prod"]
    assert await names({"createdAfter": "2000-01-01T00:00:00Z"}, "created<2000-01-01") == []
    # A time without a zone is UTC (it was an internal error: the store refuses naive times).
    assert await names({"createdBefore": "0770-11-05T21:02:59.000300"}) == []
    assert await names({"createdAfter": "2000-01-01T00:00:00"}) == ["det-prod", "prod-model"]
    page = (await api(MODELS, n=1))["searchRegisteredModels"]
    rest = (await api(MODELS, n=1, a=page["pageInfo"]["endCursor"]))["searchRegisteredModels"]
    assert [e["node"]["name"] for e in page["edges"] + rest["edges"]] == ["det-prod", "prod-model"]
    assert (await api.error(MODELS, q="metadata.x=1")).code == "BAD_INPUT"


RUNS = """query($f: RunFilter, $q: String, $o: [RunOrder!], $n: Int, $a: String) { searchRuns(filter: $f, query: $q,
  orderBy: $o, first: $n, after: $a) { totalCount edges { node { name } } pageInfo { hasNextPage endCursor } } }"""


async def test_search_runs(seeded: Api, dialect: str) -> None:
    api = seeded
    await api('mutation { startRun(input: {project: "vision", name: "still-going", config: {lr: 0.5}}) { id } }')

    async def names(f: Any = None, q: str | None = None, o: Any = None, n: int = 10) -> list[str]:
        seen, after = [], None
        while True:
            out = (await api(RUNS, f=f, q=q, o=o, n=n, a=after))["searchRuns"]
            seen += [e["node"]["name"] for e in out["edges"]]
            if not out["pageInfo"]["hasNextPage"]:
                return seen
            after = out["pageInfo"]["endCursor"]

    assert await names() == ["still-going", "train-bad", "train-good"]
    assert await names(n=1) == ["still-going", "train-bad", "train-good"]
    assert await names({"statuses": ["RUNNING"]}) == ["still-going"]
    assert await names(q="status:finished") == ["train-bad", "train-good"]
    assert await names({"config": [{"path": "lr", "op": "GTE", "value": 0.1}]}) == ["still-going", "train-good"]
    assert await names(q="config.lr<0.1") == ["train-bad"]
    assert await names({"metrics": [{"name": "auc", "op": "GT", "value": 0.8}]}) == ["train-good"]
    assert await names(q="metric.loss<1") == ["train-good"]
    assert await names({"text": "TRAIN"}) == ["train-bad", "train-good"]
    assert await names({"createdBy": "bootstrap-admin", "projects": ["vision"]}) == ["still-going"]
    assert await names(q="-by:bootstrap-admin") == []
    order = [{"field": "METRIC", "metric": "auc", "direction": "ASC"}]
    assert await names(o=order, n=1) == ["train-bad", "train-good", "still-going"]  # no auc: last
    assert await names(o=[{"field": "CREATED_AT", "direction": "ASC"}], n=2) == [
        "train-good", "train-bad", "still-going"]
    err = await api.error(RUNS, f={"metrics": [{"name": "auc", "source": "evaluation", "op": "GT", "value": 0}]})
    assert err.code == "BAD_INPUT" and "training" in err.errors[0]["message"]
    assert (await api.error(RUNS, q="tag:x")).code == "BAD_INPUT"


async def test_page_size_and_cost_limits_apply_to_searches(seeded: Api, dialect: str) -> None:
    api = seeded
    too_many = await api.error(SEARCH, n=501)
    assert too_many.code == "LIMIT_EXCEEDED" and "at most 500" in too_many.errors[0]["message"]
    nested = ('{ searchVersions(first: 500) { edges { node { files(first: 500) { edges { node { path } } } '
              'usedBy(first: 500) { edges { node { name } } } } } } }')
    body = await api.raw(nested)
    assert body.get("data") is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["LIMIT_EXCEEDED"]
    assert body["errors"][0]["extensions"]["cost"] > body["errors"][0]["extensions"]["budget"]
