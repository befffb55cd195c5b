"""Lineage on hand-built graphs with known answers, over HTTP, on both databases."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from conftest import Api
from lineage_reg.services import lineage as lineage_service
from support.versions import log_version

GRAPH = """query($node: ID!, $dir: LineageDirection!, $depth: Int, $limit: Int, $skip: Boolean!,
                 $kinds: [LineageNodeKind!], $asOf: DateTime) {
  lineage(node: $node, direction: $dir, depth: $depth, limit: $limit, skipRuns: $skip, kinds: $kinds, asOf: $asOf) {
    root truncated nodes { id kind label layer distance } edges { source target kind } } }"""


class Builder:
    """Makes runs, versions and datasets and remembers their global ids by a short name."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.ids: dict[str, str] = {}
        self.labels: dict[str, str] = {}

    async def project(self) -> None:
        await self.api('mutation { createProject(name: "lin") { id } }')

    async def run(self, name: str, uses: tuple[str, ...] = (), reads: tuple[str, ...] = ()) -> None:
        run = (await self.api('mutation($n: String!) { startRun(input: {project: "lin", name: $n}) { id } }',
                              n=name))["startRun"]
        self.ids[name], self.labels[run["id"]] = run["id"], name
        for version in uses:
            await self.api("mutation($r: ID!, $v: String!) { useArtifact(run: $r, version: $v) { id } }",
                           r=run["id"], v=self.ids[version])
        for dataset in reads:
            ds = (await self.api('mutation($r: ID!, $n: String!) { useDataset(run: $r, '
                                 'dataset: {namespace: "s3://lake", name: $n}) { id } }', r=run["id"], n=dataset))
            self.ids[dataset] = ds["useDataset"]["id"]
            self.labels[self.ids[dataset]] = dataset

    async def version(self, name: str, run: str | None = None) -> None:
        v = await log_version(self.api, {f"{name}.bin": name.encode()}, project="lin", artifact=name,
                              run=self.ids[run] if run else None)
        self.ids[name] = str(v["id"])
        self.labels[self.ids[name]] = name

    async def lineage(self, node: str, direction: str, *, depth: int = 10, limit: int = 1000, skip: bool = False,
                      kinds: list[str] | None = None, as_of: str | None = None) -> dict:
        return (await self.api(GRAPH, node=self.ids[node], dir=direction, depth=depth, limit=limit, skip=skip,
                               kinds=kinds, asOf=as_of))["lineage"]

    def named(self, graph: dict) -> dict[str, tuple[int, int]]:
        """name -> (distance, layer)."""
        return {self.labels[n["id"]]: (n["distance"], n["layer"]) for n in graph["nodes"]}

    def edges(self, graph: dict) -> set[tuple[str, str, str]]:
        return {(self.labels[e["source"]], self.labels[e["target"]], e["kind"]) for e in graph["edges"]}


@pytest.fixture(params=["one recursive query", "hop by hop"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with each of the engine's two ways of loading edges (the server runs in this process)."""
    monkeypatch.setattr(lineage_service, "PREFETCH_LIMIT", 5000 if request.param == "one recursive query" else 0)
    return str(request.param)


async def diamond(api: Api) -> Builder:
    """    v0 ─► r1 ─► v1 ─┐
            └─► r2 ─► v2 ─┴► r3 ─► v3        r1 also makes v1b (a sibling of v1)."""
    b = Builder(api)
    await b.project()
    await b.version("v0")
    await b.run("r1", uses=("v0",))
    await b.run("r2", uses=("v0",))
    await b.version("v1", run="r1")
    await b.version("v1b", run="r1")
    await b.version("v2", run="r2")
    await b.run("r3", uses=("v1", "v2"))
    await b.version("v3", run="r3")
    return b


@pytest.mark.parametrize(("depth", "prefetch_limit"), [
    (10, 5000),   # hop by hop
    (100, 5000),  # deep: one recursive query loads the reachable set
    (100, 2),     # deep, but the set is too big to prefetch: falls back to hop by hop
])
async def test_diamond_upstream(api: Api, dialect: str, depth: int, prefetch_limit: int,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lineage_service, "PREFETCH_LIMIT", prefetch_limit)  # the server runs in this process
    b = await diamond(api)
    graph = await b.lineage("v3", "UPSTREAM", depth=depth)
    assert b.named(graph) == {
        "v3": (0, 4), "r3": (1, 3), "v1": (2, 2), "v2": (2, 2), "r1": (3, 1), "r2": (3, 1), "v0": (4, 0),
    }
    assert "v1b" not in b.named(graph)  # upstream never pulls in siblings
    assert b.edges(graph) == {
        ("v0", "r1", "used"), ("v0", "r2", "used"), ("r1", "v1", "produced"), ("r2", "v2", "produced"),
        ("v1", "r3", "used"), ("v2", "r3", "used"), ("r3", "v3", "produced"),
    }
    assert graph["truncated"] is False and graph["root"] == b.ids["v3"]


async def test_fan_out_downstream_and_both(api: Api, dialect: str, loader: str) -> None:
    b = await diamond(api)
    down = await b.lineage("v0", "DOWNSTREAM")
    assert set(b.named(down)) == {"v0", "r1", "r2", "v1", "v1b", "v2", "r3", "v3"}
    both = await b.lineage("v1", "BOTH")
    # Up: r1, v0. Down: r3, v3. Not v1b (sibling) nor r2/v2 (reached only through a sibling path).
    assert set(b.named(both)) == {"v1", "r1", "v0", "r3", "v3"}


async def test_labels_are_read_only_when_asked_for_and_through_fragments(api: Api, dialect: str) -> None:
    b = await diamond(api)
    head = "query($n: ID!) { lineage(node: $n, direction: UPSTREAM) "
    queries = {
        "plain": head + "{ nodes { id label } } }",
        "fragment": head + "{ nodes { ...N } } } fragment N on LineageNode { id label }",
        "inline": head + "{ nodes { ... on LineageNode { id label } } } }",
        "outer fragment": head + "{ ...G } } fragment G on LineageGraph { nodes { id label } }",
    }
    for shape, query in queries.items():
        graph = (await api(query, n=b.ids["v3"]))["lineage"]
        assert {b.labels[n["id"]]: n["label"] for n in graph["nodes"]} == {
            name: f"lin/{name}:v0" if name.startswith("v") else name
            for name in ("v3", "r3", "v1", "v2", "r1", "r2", "v0")
        }, shape
    no_labels = (await api('query($n: ID!) { lineage(node: $n, direction: UPSTREAM) { nodes { id layer } } }',
                           n=b.ids["v3"]))["lineage"]
    assert len(no_labels["nodes"]) == 7


async def test_skip_runs_gives_version_lineage(api: Api, dialect: str, loader: str) -> None:
    b = await diamond(api)
    graph = await b.lineage("v3", "UPSTREAM", skip=True)
    assert b.named(graph) == {"v3": (0, 2), "v1": (1, 1), "v2": (1, 1), "v0": (2, 0)}
    assert b.edges(graph) == {("v0", "v1", "derived"), ("v0", "v2", "derived"), ("v1", "v3", "derived"),
                              ("v2", "v3", "derived")}
    # A depth of 1 version hop reaches v1 and v2 only.
    shallow = await b.lineage("v3", "UPSTREAM", skip=True, depth=1)
    assert set(b.named(shallow)) == {"v3", "v1", "v2"} and shallow["truncated"] is True


async def test_kind_filter(api: Api, dialect: str, loader: str) -> None:
    b = await diamond(api)
    graph = await b.lineage("v3", "UPSTREAM", kinds=["RUN"])
    assert set(b.named(graph)) == {"v3", "r3", "r1", "r2"}  # the root always stays
    assert ("r1", "r3", "derived") in b.edges(graph)


async def test_depth_and_limit_truncate(api: Api, dialect: str, loader: str) -> None:
    b = await diamond(api)
    deep_limited = await b.lineage("v3", "UPSTREAM", depth=100, limit=3)
    assert len(deep_limited["nodes"]) == 3 and deep_limited["truncated"] is True
    graph = await b.lineage("v3", "UPSTREAM", depth=2)
    assert set(b.named(graph)) == {"v3", "r3", "v1", "v2"} and graph["truncated"] is True
    full_depth = await b.lineage("v3", "UPSTREAM", depth=4)
    assert full_depth["truncated"] is False
    limited = await b.lineage("v3", "UPSTREAM", limit=3)
    assert len(limited["nodes"]) == 3 and limited["truncated"] is True


async def test_cycle_terminates(api: Api, dialect: str, loader: str) -> None:
    """r1 makes v1, r2 uses v1 and makes v2, r1 uses v2: v1 → r2 → v2 → r1 → v1."""
    b = Builder(api)
    await b.project()
    await b.run("r1")
    await b.version("v1", run="r1")
    await b.run("r2", uses=("v1",))
    await b.version("v2", run="r2")
    await api("mutation($r: ID!, $v: String!) { useArtifact(run: $r, version: $v) { id } }", r=b.ids["r1"],
              v=b.ids["v2"])
    graph = await asyncio.wait_for(b.lineage("v1", "BOTH", depth=50), 10)
    named = b.named(graph)
    assert set(named) == {"v1", "r1", "r2", "v2"}
    assert len({layer for _, layer in named.values()}) == 1  # one strongly connected component, one layer


async def test_run_cannot_use_its_own_output(api: Api, dialect: str) -> None:
    b = Builder(api)
    await b.project()
    await b.run("r1")
    await b.version("v1", run="r1")
    err = await api.error("mutation($r: ID!, $v: String!) { useArtifact(run: $r, version: $v) { id } }",
                          r=b.ids["r1"], v=b.ids["v1"])
    assert err.code == "BAD_INPUT" and "its own output" in err.errors[0]["message"]


async def impact_setup(api: Api) -> Builder:
    """s3://lake/events → r1 → v1 ─ linked into churn-a (production) and churn-b (staging); v_other is unrelated."""
    b = Builder(api)
    await b.project()
    await b.run("r1", reads=("events",))
    await b.version("v1", run="r1")
    await b.run("r2", uses=("v1",))
    await b.version("v2", run="r2")
    await b.version("v_other")
    link = ('mutation($v: String!, $m: String!, $a: [String!]) { linkVersion(input: {version: $v, '
            'registeredModel: $m, aliases: $a}) { id } }')
    await api(link, v=b.ids["v2"], m="lin/churn-a", a=["production"])
    await api(link, v=b.ids["v1"], m="lin/churn-b", a=["staging"])
    await api(link, v=b.ids["v_other"], m="lin/churn-c", a=["production"])
    return b


async def test_impact_of_a_bad_dataset(api: Api, dialect: str, loader: str) -> None:
    b = await impact_setup(api)
    query = """query($n: ID!, $a: String) { impactPaths(node: $n, alias: $a) { distance
      link { ref aliases registeredModel { name } } path { id kind distance } } }"""
    hits = (await api(query, n=b.ids["events"], a=None))["impactPaths"]
    assert [h["link"]["ref"] for h in hits] == ["lin/churn-b:v0", "lin/churn-a:v0"]  # nearest first
    production = (await api(query, n=b.ids["events"], a="production"))["impactPaths"]
    assert [h["link"]["registeredModel"]["name"] for h in production] == ["churn-a"]
    assert [b.labels[p["id"]] for p in production[0]["path"]] == ["events", "r1", "v1", "r2", "v2"]
    assert production[0]["distance"] == 4
    plain = (await api('query($n: ID!) { impact(node: $n, alias: "production") { ref } }', n=b.ids["events"]))
    assert plain["impact"] == [{"ref": "lin/churn-a:v0"}]


async def test_lineage_path(api: Api, dialect: str) -> None:
    b = await impact_setup(api)
    query = "query($a: ID!, $b: ID!) { lineagePath(from: $a, to: $b) { nodes { id distance } edges { source target kind } } }"
    path = (await api(query, a=b.ids["events"], b=b.ids["v2"]))["lineagePath"]
    assert [b.labels[n["id"]] for n in path["nodes"]] == ["events", "r1", "v1", "r2", "v2"]
    assert [(b.labels[e["source"]], e["kind"]) for e in path["edges"]][0] == ("events", "read")
    reverse = (await api(query, a=b.ids["v2"], b=b.ids["events"]))["lineagePath"]
    assert [b.labels[n["id"]] for n in reverse["nodes"]] == ["v2", "r2", "v1", "r1", "events"]
    assert (await api(query, a=b.ids["v2"], b=b.ids["v_other"]))["lineagePath"] is None


async def test_as_of_ignores_later_edges(api: Api, dialect: str, loader: str) -> None:
    b = Builder(api)
    await b.project()
    await b.run("r1")
    await b.version("v1", run="r1")
    cut = datetime.now(UTC).isoformat()
    await asyncio.sleep(0.05)
    await b.run("r2", uses=("v1",))
    await b.version("v2", run="r2")
    now = await b.lineage("v1", "DOWNSTREAM")
    assert set(b.named(now)) == {"v1", "r2", "v2"}
    then = await b.lineage("v1", "DOWNSTREAM", as_of=cut)
    assert set(b.named(then)) == {"v1"}
    deep_then = await b.lineage("v1", "DOWNSTREAM", as_of=cut, depth=100)
    assert set(b.named(deep_then)) == {"v1"}


@pytest.mark.parametrize("prefetch_limit", [5000, 5])  # (separate servers: the response cache is per server)
async def test_deep_walk_with_leaves_early_and_a_cut_prefetch(api: Api, dialect: str, prefetch_limit: int,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """o <- r <- {a, b, c}; c <- rc <- d <- rd. Leaves a and b come early in the walk: a prefetch cut
    after six nodes must be recognised as cut (and fall back), or rd would silently go missing."""
    b = Builder(api)
    await b.project()
    await b.version("a")
    await b.version("b")
    await b.run("rd")
    await b.version("d", run="rd")
    await b.run("rc", uses=("d",))
    await b.version("c", run="rc")
    await b.run("r", uses=("a", "b", "c"))
    await b.version("o", run="r")
    monkeypatch.setattr(lineage_service, "PREFETCH_LIMIT", prefetch_limit)
    graph = await b.lineage("o", "UPSTREAM", depth=100)
    assert set(b.named(graph)) == {"o", "r", "a", "b", "c", "rc", "d", "rd"} and graph["truncated"] is False
