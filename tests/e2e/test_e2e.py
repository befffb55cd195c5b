"""The whole flow a team goes through, over real HTTP against a real server: both databases, both blob stores."""

from __future__ import annotations

import hashlib

from conftest import Api
from support.versions import COMMIT, CREATE_VERSION, manifest, upload_all


async def test_end_to_end(api: Api, dialect: str, storage: str) -> None:
    await api('mutation { createProject(name: "churn", description: "churn models") { id } }')
    run = (await api('mutation { startRun(input: {project: "churn", name: "train-1", config: {lr: 0.1}, '
                     'gitCommit: "abc1234"}) { id status config } }'))["startRun"]
    assert run["status"] == "RUNNING" and run["config"] == {"lr": 0.1}
    await api("mutation($r: ID!) { logMetrics(run: $r, step: 0, metrics: {loss: 0.9, acc: 0.5}) }", r=run["id"])
    await api("mutation($r: ID!) { logMetrics(run: $r, step: 1, metrics: {loss: 0.4}) }", r=run["id"])

    files = {"model.pt": b"weights" * 1000, "config.json": b'{"layers": 3}', "sub/tokenizer.txt": b"a b c"}
    created = (await api(CREATE_VERSION, input={"project": "churn", "artifact": "classifier", "type": "model",
                                                "files": manifest(files), "run": run["id"]}))["createArtifactVersion"]
    assert created["version"]["state"] == "PENDING" and created["version"]["ref"] == "churn/classifier:v0"
    assert len(created["uploads"]) == 3 and not created["deduplicated"]
    await upload_all(api, created["uploads"], files)
    v0 = (await api(COMMIT, v=created["version"]["id"]))["commitArtifactVersion"]
    assert v0["state"] == "COMMITTED" and v0["aliases"] == ["latest"]

    # A second version that shares two blobs only needs the changed one uploaded.
    files2 = {**files, "model.pt": b"better weights" * 1000}
    created2 = (await api(CREATE_VERSION, input={"project": "churn", "artifact": "classifier", "type": "model",
                                                 "files": manifest(files2)}))["createArtifactVersion"]
    assert [u["sha256"] for u in created2["uploads"]] == [hashlib.sha256(files2["model.pt"]).hexdigest()]
    await upload_all(api, created2["uploads"], files2)
    v1 = (await api(COMMIT, v=created2["version"]["id"]))["commitArtifactVersion"]
    assert v1["ref"] == "churn/classifier:v1"

    # Same manifest again: deduplicated to the latest committed version.
    again = (await api(CREATE_VERSION, input={"project": "churn", "artifact": "classifier", "type": "model",
                                              "files": manifest(files2)}))["createArtifactVersion"]
    assert again["deduplicated"] and again["version"]["id"] == v1["id"] and again["uploads"] == []

    link = (await api('mutation { linkVersion(input: {version: "churn/classifier:v0", '
                      'registeredModel: "churn/churn-model", aliases: ["staging"]}) { id ref index aliases } }'))
    assert link["linkVersion"]["ref"] == "churn/churn-model:v0"
    assert link["linkVersion"]["aliases"] == ["latest", "staging"]
    await api('mutation { linkVersion(input: {version: "churn/classifier:v1", registeredModel: "churn/churn-model"}) { id } }')
    moved = await api('mutation { setAlias(input: {collection: "churn/churn-model", alias: "staging", '
                      'version: "churn/classifier:v1"}) { name protected version { ref } } }')
    assert moved["setAlias"] == {"name": "staging", "protected": False, "version": {"ref": "churn/classifier:v1"}}

    history = (await api('{ registeredModel(project: "churn", name: "churn-model") { '
                         'history(first: 20) { totalCount edges { node { kind actor alias '
                         'fromVersion { ref } toVersion { ref } } } } } }'))["registeredModel"]["history"]
    staging_moves = [e["node"] for e in history["edges"] if e["node"]["alias"] == "staging"]
    assert [(m["fromVersion"], m["toVersion"]["ref"]) for m in staging_moves] == [
        ({"ref": "churn/classifier:v0"}, "churn/classifier:v1"),
        (None, "churn/classifier:v0"),
    ]
    assert all(m["actor"] == "bootstrap-admin" for m in staging_moves)

    resolved = (await api('{ resolve(ref: "churn/churn-model:staging") { ref digest '
                          'files { edges { node { path size sha256 downloadUrl } } } createdBy { id } } }'))["resolve"]
    assert resolved["ref"] == "churn/classifier:v1"
    assert resolved["createdBy"] is None
    got = {}
    for edge in resolved["files"]["edges"]:
        resp = await api.http.get(edge["node"]["downloadUrl"])
        assert resp.status_code == 200
        assert hashlib.sha256(resp.content).hexdigest() == edge["node"]["sha256"]
        got[edge["node"]["path"]] = resp.content
    assert got == files2

    # The producing run sees its output; metrics history is there.
    run_view = (await api("query($id: ID!) { run(id: $id) { outputs { ref } metrics(key: \"loss\") { step value } "
                          "project { name } } }", id=run["id"]))["run"]
    assert run_view["outputs"] == [{"ref": "churn/classifier:v0"}]
    assert run_view["metrics"] == [{"step": 0, "value": 0.9}, {"step": 1, "value": 0.4}]
