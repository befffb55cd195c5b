"""OpenLineage ingestion, fed by the real openlineage-python client over HTTP, joined with the registry.

The pipeline: a daily DAG run (the parent) runs `ingest` (raw.events -> clean/events) and `features`
(clean/events -> features/v1, also known as hive features_v1 by a symlink). A training run declares it
read hive features_v1 and logs a model that goes to production. `impact` of the raw table finds it.
"""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import parent_run, schema_dataset, symlinks_dataset
from openlineage.client.serde import Serde
from openlineage.client.transport.http import HttpConfig, HttpTransport

from conftest import Api, snapshot
from support.versions import log_version

PRODUCER = "https://github.com/example/pipelines"
NS = "warehouse-etl"
T0 = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
DAG_RUN, INGEST_RUN, FEATURES_RUN = (str(uuid.uuid5(uuid.NAMESPACE_URL, n)) for n in ("dag", "ingest", "features"))
SCHEMA = schema_dataset.SchemaDatasetFacet(fields=[schema_dataset.SchemaDatasetFacetFields(name="user_id", type="INT")])


def pipeline() -> list[RunEvent]:
    """Two jobs of one DAG run, START then COMPLETE each, plus the DAG's own events."""
    parent = {"parent": parent_run.ParentRunFacet(run=parent_run.Run(runId=DAG_RUN),
                                                  job=parent_run.Job(namespace=NS, name="daily_dag"))}
    raw = InputDataset("postgres://db:5432", "raw.events", facets={"schema": SCHEMA})
    clean_out = OutputDataset("s3://lake", "clean/events")
    clean_in = InputDataset("s3://lake", "clean/events")
    features = OutputDataset("s3://lake", "features/v1", facets={"symlinks": symlinks_dataset.SymlinksDatasetFacet(
        identifiers=[symlinks_dataset.Identifier("hive://metastore", "features_v1", "TABLE")])})

    def event(state: RunState, minutes: int, run_id: str, job: str, inputs: list[Any], outputs: list[Any],
              facets: dict[str, Any] | None = None) -> RunEvent:
        return RunEvent(eventType=state, eventTime=(T0 + timedelta(minutes=minutes)).isoformat(),
                        run=Run(runId=run_id, facets=facets or {}), job=Job(namespace=NS, name=job),
                        producer=PRODUCER, inputs=inputs, outputs=outputs)

    return [
        event(RunState.START, 0, DAG_RUN, "daily_dag", [], []),
        event(RunState.START, 1, INGEST_RUN, "daily_dag.ingest", [raw], [clean_out], parent),
        event(RunState.COMPLETE, 5, INGEST_RUN, "daily_dag.ingest", [raw], [clean_out], parent),
        event(RunState.START, 6, FEATURES_RUN, "daily_dag.features", [clean_in], [features], parent),
        event(RunState.COMPLETE, 9, FEATURES_RUN, "daily_dag.features", [clean_in], [features], parent),
        event(RunState.COMPLETE, 10, DAG_RUN, "daily_dag", [], []),
    ]


def client_for(api: Api) -> OpenLineageClient:
    """The real client with its HTTP transport, configured the way OPENLINEAGE_URL / OPENLINEAGE_API_KEY do."""
    config = HttpConfig.from_dict({"url": api.url, "auth": {"type": "api_key", "apiKey": api.token}})
    return OpenLineageClient(transport=HttpTransport(config))


GRAPH = """query($ds: ID!) { lineage(node: $ds, direction: DOWNSTREAM, depth: 10) {
  nodes { kind label distance } edges { kind } } }"""
RUNS = """{ project(name: "warehouse-etl") { runs(first: 10) { edges { node {
  name status externalId createdAt finishedAt facets parent { name externalId } } } } } }"""


async def graph_state(api: Api) -> dict[str, Any]:
    raw = (await api('{ dataset(namespace: "postgres://db:5432", name: "raw.events") { id facets } }'))["dataset"]
    lineage = (await api(GRAPH, ds=raw["id"]))["lineage"]
    runs = (await api(RUNS))["project"]["runs"]["edges"]
    return {
        "nodes": sorted((n["kind"], n["label"], n["distance"]) for n in lineage["nodes"]),
        "edges": sorted(e["kind"] for e in lineage["edges"]),
        "runs": sorted((json.dumps(r["node"], sort_keys=True) for r in runs)),
        "raw_facets": raw["facets"],
    }


@pytest.mark.network
async def test_pipeline_through_the_real_client_reaches_the_production_model(api: Api, dialect: str) -> None:
    client = client_for(api)
    for event in pipeline():
        client.emit(event)

    runs = {r["node"]["name"]: r["node"] for r in (await api(RUNS))["project"]["runs"]["edges"]}
    assert set(runs) == {"daily_dag", "daily_dag.ingest", "daily_dag.features"}
    assert runs["daily_dag.ingest"]["status"] == "FINISHED"
    assert runs["daily_dag.ingest"]["externalId"] == INGEST_RUN
    assert runs["daily_dag.ingest"]["parent"] == {"name": "daily_dag", "externalId": DAG_RUN}
    assert runs["daily_dag.ingest"]["createdAt"].startswith("2026-11-22T06:01")
    assert runs["daily_dag.ingest"]["finishedAt"].startswith("2026-11-22T06:05")
    assert runs["daily_dag"]["parent"] is None and runs["daily_dag"]["status"] == "FINISHED"
    raw = (await api('{ dataset(namespace: "postgres://db:5432", name: "raw.events") { id facets } }'))["dataset"]
    assert [(f["name"], f["type"]) for f in raw["facets"]["schema"]["fields"]] == [("user_id", "INT")]

    # A training run in the registry reads the pipeline's output under its symlinked name.
    await api('mutation { createProject(name: "churn") { id } }')
    run = (await api('mutation { startRun(input: {project: "churn", name: "train"}) { id } }'))["startRun"]["id"]
    used = await api('mutation($r: ID!) { useDataset(run: $r, dataset: {namespace: "hive://metastore", '
                     'name: "features_v1"}) { namespace name } }', r=run)
    assert used["useDataset"] == {"namespace": "s3://lake", "name": "features/v1"}  # the same node
    await log_version(api, {"model.bin": b"weights"}, run=run)
    await api('mutation { linkVersion(input: {version: "churn/classifier:v0", registeredModel: "churn/prod-model", '
              'aliases: ["production"]}) { id } }')

    impact = (await api('query($d: ID!) { impact(node: $d, alias: "production") { ref } }', d=raw["id"]))["impact"]
    assert [hit["ref"] for hit in impact] == ["churn/prod-model:v0"]
    paths = (await api('query($d: ID!) { impactPaths(node: $d, alias: "production") { link { ref } '
                       'path { kind label } } }', d=raw["id"]))["impactPaths"]
    assert [n["kind"] for n in paths[0]["path"]] == ["DATASET", "RUN", "DATASET", "RUN", "DATASET", "RUN", "ARTIFACT_VERSION"]
    assert [n["label"] for n in paths[0]["path"]] == [
        "postgres://db:5432/raw.events", "daily_dag.ingest", "s3://lake/clean/events", "daily_dag.features",
        "s3://lake/features/v1", "train", "churn/classifier:v0"]


async def test_replays_duplicates_and_reordering_give_the_same_graph(api: Api, dialect: str) -> None:
    events = [json.loads(Serde.to_json(e)) for e in pipeline()]
    headers = {"Authorization": f"Bearer {api.token}"}
    resp = await api.http.post(f"{api.url}/api/v1/lineage/batch", json=events, headers=headers)
    assert resp.status_code == 200 and resp.json()["status"] == "success", resp.text
    first = await graph_state(api)
    # raw.events -> ingest -> clean/events -> features -> features/v1 (hive features_v1 is a symlink, not a node)
    assert len(first["nodes"]) == 5 and first["edges"] == [
        "read", "read", "wrote", "wrote"]
    # Every event again, one by one in reverse (COMPLETE before START), then the batch twice over as NDJSON.
    for event in reversed(events):
        assert (await api.http.post(f"{api.url}/api/v1/lineage", json=event, headers=headers)).status_code == 201
    ndjson = "\n".join(json.dumps(e) for e in events * 2).encode()
    resp = await api.http.post(f"{api.url}/api/v1/lineage/batch", content=gzip.compress(ndjson),
                               headers={**headers, "Content-Encoding": "gzip", "Content-Type": "application/x-ndjson"})
    assert resp.status_code == 200 and resp.json()["succeeded"] == 12, resp.text
    assert await graph_state(api) == first


async def test_out_of_order_alone_gives_the_same_result(api: Api, dialect: str) -> None:
    events = [json.loads(Serde.to_json(e)) for e in pipeline()]
    headers = {"Authorization": f"Bearer {api.token}"}
    for event in reversed(events):
        assert (await api.http.post(f"{api.url}/api/v1/lineage", json=event, headers=headers)).status_code == 201
    reversed_state = await graph_state(api)
    for event in events:
        assert (await api.http.post(f"{api.url}/api/v1/lineage", json=event, headers=headers)).status_code == 201
    assert await graph_state(api) == reversed_state
    runs = {json.loads(r)["name"]: json.loads(r) for r in reversed_state["runs"]}
    assert runs["daily_dag.features"]["status"] == "FINISHED"  # START arriving after COMPLETE didn't undo it
    assert runs["daily_dag.features"]["createdAt"].startswith("2026-11-22T06:06")


def good_event() -> dict[str, Any]:
    return json.loads(Serde.to_json(pipeline()[1]))


@pytest.mark.parametrize("change, field", [
    (lambda e: e["run"].pop("runId"), "run.runId"),
    (lambda e: e["run"].update(runId="not-a-uuid"), "run.runId"),
    (lambda e: e.update(eventTime="yesterday"), "eventTime"),
    (lambda e: e.update(eventTime="2026-11-22T06:00:00"), "eventTime"),  # no time zone
    (lambda e: e.update(eventType="EXPLODED"), "eventType"),
    (lambda e: e["job"].pop("name"), "job.name"),
    (lambda e: e.pop("producer"), "producer"),
    (lambda e: e["inputs"][0].pop("namespace"), "inputs[0].namespace"),
    (lambda e: e.update(outputs="s3://lake"), "outputs"),
])
async def test_events_that_fail_the_schema_are_400_naming_the_field_and_change_nothing(
    api: Api, dialect: str, change: Any, field: str
) -> None:
    event = good_event()
    change(event)
    before = await snapshot(api.server)
    resp = await api.http.post(f"{api.url}/api/v1/lineage", json=event, headers={"Authorization": f"Bearer {api.token}"})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["field"] == field and resp.json()["error"]["code"] == "BAD_INPUT"
    assert field in resp.json()["error"]["message"]
    assert await snapshot(api.server) == before


async def test_a_batch_lands_its_good_events_and_names_the_bad_ones(api: Api, dialect: str) -> None:
    events = [json.loads(Serde.to_json(e)) for e in pipeline()]
    events[2]["eventTime"] = "not a time"
    del events[4]["run"]["runId"]
    lines = [json.dumps(e) for e in events] + ["{not json"]
    resp = await api.http.post(f"{api.url}/api/v1/lineage/batch", content="\n".join(lines),
                               headers={"Authorization": f"Bearer {api.token}"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "partial_success" and (body["received"], body["succeeded"], body["failed"]) == (7, 4, 3)
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(2, "eventTime"), (4, "run.runId"), (6, "$")]
    runs = {json.loads(r)["name"]: json.loads(r) for r in (await graph_state(api))["runs"]}
    assert runs["daily_dag.ingest"]["status"] == "RUNNING"  # its COMPLETE was the bad one
    assert runs["daily_dag.features"]["status"] == "RUNNING"


async def test_auth_and_size_limits(api: Api, dialect: str) -> None:
    event = good_event()
    url = f"{api.url}/api/v1/lineage"
    viewer = await api.token_for("viewer")
    before = await snapshot(api.server)
    assert (await api.http.post(url, json=event)).status_code == 401
    assert (await api.http.post(url, json=event, headers={"Authorization": "Bearer nope"})).status_code == 401
    denied = await api.http.post(url, json=event, headers={"Authorization": f"Bearer {viewer}"})
    assert denied.status_code == 403 and "member" in denied.json()["error"]["message"]
    huge = b'{"padding": "' + b"x" * (33 * 1024 * 1024) + b'"}'
    resp = await api.http.post(f"{url}/batch", content=huge, headers={"Authorization": f"Bearer {api.token}"})
    assert resp.status_code == 413 and resp.json()["error"]["code"] == "LIMIT_EXCEEDED"
    bomb = gzip.compress(b"[" + b" " * (40 * 1024 * 1024) + b"]")
    resp = await api.http.post(f"{url}/batch", content=bomb,
                               headers={"Authorization": f"Bearer {api.token}", "Content-Encoding": "gzip"})
    assert resp.status_code == 413
    assert await snapshot(api.server) == before


@pytest.mark.network
async def test_a_member_token_ingests_and_projects_follow_the_namespace(api: Api, dialect: str) -> None:
    member = await api.token_for("member", "airflow")
    resp = httpx.post(f"{api.url}/api/v1/lineage", json=good_event(), headers={"Authorization": f"Bearer {member}"})
    assert resp.status_code == 201
    projects = (await api("{ projects { edges { node { name } } } }"))["projects"]["edges"]
    assert [p["node"]["name"] for p in projects] == ["warehouse-etl"]
    runs = (await api(RUNS))["project"]["runs"]["edges"]
    assert sorted((r["node"]["name"], r["node"]["status"]) for r in runs) == [
        ("daily_dag", "RUNNING"), ("daily_dag.ingest", "RUNNING")]  # the parent is a placeholder until it reports


async def test_namespaces_map_to_configured_projects(settings: Any, dialect: str) -> None:
    import dataclasses

    from conftest import LiveServer

    mapped = dataclasses.replace(settings, openlineage_projects={NS: "pipelines", "*": "elsewhere"})
    with LiveServer(mapped) as server:
        async with httpx.AsyncClient(timeout=30) as http:
            api = Api(server, http, server.admin_token())
            other = good_event() | {"job": {"namespace": "spark://cluster-1", "name": "join"},
                                    "run": {"runId": str(uuid.uuid4())}}
            for event in (good_event(), other):
                resp = await http.post(f"{api.url}/api/v1/lineage", json=event, headers={"Authorization": f"Bearer {api.token}"})
                assert resp.status_code == 201, resp.text
            projects = (await api("{ projects { edges { node { name } } } }"))["projects"]["edges"]
            assert sorted(p["node"]["name"] for p in projects) == ["elsewhere", "pipelines"]
            runs = (await api('{ project(name: "elsewhere") { runs { edges { node { name } } } } }'))
            assert [r["node"]["name"] for r in runs["project"]["runs"]["edges"]] == ["join"]
