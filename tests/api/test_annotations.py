"""Editable annotations: a registered model's name and description, an artifact's description, a version's
description and metadata; each edit an event with the previous value; files and digest never change."""

from __future__ import annotations

from conftest import Api, snapshot
from support.two_projects import user
from support.versions import log_version

MODEL = ('mutation($m: String!, $d: String, $n: String) { updateRegisteredModel(model: $m, description: $d, name: $n) '
         "{ name description } }")
ARTIFACT = "mutation($a: String!, $d: String) { updateArtifact(artifact: $a, description: $d) { name description } }"
VERSION = ("mutation($v: String!, $d: String, $m: JSON) { updateArtifactVersion(version: $v, description: $d, "
           "metadata: $m) { ref digest description metadata files { edges { node { path sha256 } } } } }")
EVENTS = '{ events(project: "churn", first: 500) { edges { node { kind actor collection payload } } } }'


async def setup(api: Api) -> None:
    await api('mutation { createProject(name: "churn") { id } }')
    await log_version(api, {"model.bin": b"w"})
    await api('mutation { linkVersion(input: {version: "churn/classifier:v0", registeredModel: "churn/churn-model", '
              'aliases: ["staging"]}) { id } }')


async def updates(api: Api) -> list[dict]:  # type: ignore[type-arg]
    return [e["node"] for e in (await api(EVENTS))["events"]["edges"] if e["node"]["kind"].endswith(".updated")]


async def test_edit_annotations_with_history(api: Api, dialect: str) -> None:
    await setup(api)
    mia = await user(api, "mia", "churn", "member")
    before_files = (await api(VERSION, v="churn/classifier:v0"))["updateArtifactVersion"]
    edited = (await mia(VERSION, v="churn/classifier:v0", d="baseline", m={"framework": "sklearn", "auc": 0.91}))
    edited = edited["updateArtifactVersion"]
    assert (edited["description"], edited["metadata"]) == ("baseline", {"framework": "sklearn", "auc": 0.91})
    assert (edited["digest"], edited["files"]) == (before_files["digest"], before_files["files"])
    found = await api('{ searchVersions(query: "metadata.framework=sklearn") { edges { node { ref } } } }')
    assert [e["node"]["ref"] for e in found["searchVersions"]["edges"]] == ["churn/classifier:v0"]
    assert (await mia(ARTIFACT, a="churn/classifier", d="churn classifier"))["updateArtifact"]["description"] == \
        "churn classifier"
    renamed = (await mia(MODEL, m="churn/churn-model", d="the churn model", n="churn-prod"))["updateRegisteredModel"]
    assert renamed == {"name": "churn-prod", "description": "the churn model"}
    held = await api('{ resolve(ref: "churn/churn-prod:staging") { ref } }')
    assert held["resolve"]["ref"] == "churn/classifier:v0"  # links and aliases kept the rename
    assert (await api.error('{ resolve(ref: "churn/churn-model:staging") { ref } }')).code == "NOT_FOUND"
    history = await api('{ registeredModel(project: "churn", name: "churn-prod") { history(first: 1) { edges { '
                        "node { kind } } } } }")
    assert history["registeredModel"]["history"]["edges"][0]["node"]["kind"] == "model.updated"
    events = await updates(api)
    assert [(e["kind"], e["actor"]) for e in events] == [
        ("version.updated", "mia"), ("artifact.updated", "mia"), ("model.updated", "mia")]
    assert events[0]["payload"]["previous"] == {"description": None, "metadata": {}}
    assert events[2]["payload"]["previous"] == {"description": None, "name": "churn-model"}
    assert events[2]["payload"]["changed"] == ["description", "name"]
    # The same values again: nothing changes, no event.
    await mia(VERSION, v="churn/classifier:v0", d="baseline")
    await mia(MODEL, m="churn/churn-prod", n="churn-prod")
    assert len(await updates(api)) == 3


async def test_bad_edits_change_nothing(api: Api, dialect: str) -> None:
    await setup(api)
    await log_version(api, {"other.bin": b"o"}, artifact="other")
    vera = await user(api, "vera", "churn", "viewer")
    before = await snapshot(api.server)
    for query, variables, code in [
        (VERSION, dict(v="churn/classifier:v0", m=[1, 2]), "BAD_INPUT"),
        (VERSION, dict(v="churn/classifier:v0", m={"blob": "x" * 70_000}), "BAD_INPUT"),
        (VERSION, dict(v="churn/classifier:v0", d="x" * 100_000), "BAD_INPUT"),
        (VERSION, dict(v="churn/classifier:v9", d="x"), "NOT_FOUND"),
        (MODEL, dict(m="churn/churn-model", n="other"), "CONFLICT"),  # an artifact's name
        (MODEL, dict(m="churn/churn-model", n="Bad Name!"), "BAD_INPUT"),
        (MODEL, dict(m="churn/classifier", d="x"), "BAD_INPUT"),  # an artifact, not a model
        (ARTIFACT, dict(a="churn/churn-model", d="x"), "BAD_INPUT"),
        (ARTIFACT, dict(a="churn/nope", d="x"), "NOT_FOUND"),
    ]:
        assert (await api.error(query, **variables)).code == code, variables
    assert (await vera.error(VERSION, v="churn/classifier:v0", d="x")).code == "FORBIDDEN"
    assert await snapshot(api.server) == before
    await api('mutation { deleteArtifactVersion(version: "churn/other:v0") { id } }')
    assert (await api.error(VERSION, v="churn/other:v0", d="x")).code == "BAD_INPUT"  # deleted


CARD = ("mutation($t: ID!, $md: String, $f: JSON) { updateModelCard(target: $t, markdown: $md, fields: $f) { "
        "markdown fields updatedAt updatedBy } }")


async def test_model_cards_on_models_and_versions(api: Api, dialect: str) -> None:
    await setup(api)
    mia = await user(api, "mia", "churn", "member")
    vera = await user(api, "vera", "churn", "viewer")
    ids_ = await api('{ registeredModel(project: "churn", name: "churn-model") { id card { markdown fields '
                     'updatedAt } } resolve(ref: "churn/classifier:v0") { id card { markdown } } }')
    model, version = ids_["registeredModel"]["id"], ids_["resolve"]["id"]
    assert ids_["registeredModel"]["card"] == {"markdown": "", "fields": {}, "updatedAt": None}  # never set
    fields = {"license": "apache-2.0", "language": ["en"], "intended_use": "churn triage", "x-team": "growth"}
    card = (await mia(CARD, t=model, md="# Churn model\n\n<script>alert(1)</script> kept as text", f=fields))
    card = card["updateModelCard"]
    assert card["fields"] == fields and card["updatedBy"] == "mia" and card["updatedAt"]
    assert card["markdown"].endswith("<script>alert(1)</script> kept as text")  # text: the client renders it
    only_md = (await mia(CARD, t=model, md="# Churn model v2"))["updateModelCard"]
    assert only_md["fields"] == fields  # fields left out stay
    await mia(CARD, t=version, f={"limitations": "EU only"})
    read = await vera('query($m: ID!) { node(id: $m) { ... on RegisteredModel { card { markdown } } } '
                      'resolve(ref: "churn/classifier:v0") { card { markdown fields } } }', m=model)
    assert read["node"]["card"]["markdown"] == "# Churn model v2"
    assert read["resolve"]["card"] == {"markdown": "", "fields": {"limitations": "EU only"}}
    events = [e for e in await updates(api) if e["kind"] == "card.updated"]
    assert [e["payload"]["changed"] for e in events] == [["markdown", "fields"], ["markdown"], ["fields"]]
    assert events[1]["payload"]["previous"]["markdown"].startswith("# Churn model\n")
    before = await snapshot(api.server)
    await mia(CARD, t=model, md="# Churn model v2")  # the same: nothing changes, no event
    for variables in (dict(t=model), dict(t=model, f=[1]), dict(t=model, md="x" * 300_000),
                      dict(t=model, f={"k": "x" * 70_000})):
        assert (await mia.error(CARD, **variables)).code == "BAD_INPUT", variables
    assert (await vera.error(CARD, t=model, md="mine")).code == "FORBIDDEN"
    assert await snapshot(api.server) == before
