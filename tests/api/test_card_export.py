"""exportModelCard: the Hugging Face README is what huggingface_hub reads, with what lineage and metrics know
filled in; MARKDOWN is the card as written; nothing of a project the caller can't read gets in."""

from __future__ import annotations

from huggingface_hub import ModelCard
from huggingface_hub.repocard_data import EvalResult

from conftest import Api
from support.two_projects import user
from support.versions import log_version

EXPORT = "query($r: String!, $f: CardFormat!) { exportModelCard(ref: $r, format: $f) }"
CARD = "mutation($t: ID!, $md: String, $f: JSON) { updateModelCard(target: $t, markdown: $md, fields: $f) { markdown } }"


async def setup(api: Api) -> dict[str, str]:
    await api('mutation { createProject(name: "churn") { id } }')
    base = await log_version(api, {"base.bin": b"pretrained"}, artifact="encoder")
    run = (await api('mutation { startRun(input: {project: "churn", name: "train"}) { id } }'))["startRun"]["id"]
    await api('mutation($r: ID!) { useDataset(run: $r, dataset: {namespace: "s3://lake", name: "events/2026-11"}) '
              "{ id } }", r=run)
    await api('mutation($r: ID!) { useArtifact(run: $r, version: "churn/encoder:v0") { id } }', r=run)
    v = await log_version(api, {"model.bin": b"weights"}, run=run)
    await api('mutation($v: String!) { updateArtifactVersion(version: $v, metadata: {framework: "sklearn"}) { ref } }',
              v=v["ref"])
    await api('mutation($v: String!) { logVersionMetrics(version: $v, metrics: {auc: 0.93, f1: 0.81}) }', v=v["ref"])
    await api('mutation($v: String!) { logVersionMetrics(version: $v, metrics: {latency_ms: 41}, '
              'source: "production") }', v=v["ref"])
    await api('mutation { linkVersion(input: {version: "churn/classifier:v0", registeredModel: "churn/churn-model", '
              'aliases: ["staging"]}) { id } }')
    model = (await api('{ registeredModel(project: "churn", name: "churn-model") { id } }'))["registeredModel"]["id"]
    return {"model": model, "version": str(v["id"]), "base": str(base["ref"])}


async def test_huggingface_card_is_filled_from_lineage_and_metrics(api: Api, dialect: str) -> None:
    targets = await setup(api)
    await api(CARD, t=targets["model"], md="# Churn model\n\nPredicts churn.",
              f={"license": "apache-2.0", "language": ["en"], "pipeline_tag": "tabular-classification",
                 "intended_use": "churn triage", "x-team": "growth"})
    text = (await api(EXPORT, r="churn/churn-model:staging", f="HUGGINGFACE"))["exportModelCard"]
    card = ModelCard(text)  # huggingface_hub's own parser: front matter and model-index
    data = card.data.to_dict()
    assert data["license"] == "apache-2.0" and data["language"] == ["en"] and data["x-team"] == "growth"
    assert data["library_name"] == "sklearn"  # from the version's metadata
    assert data["datasets"] == ["s3://lake/events/2026-11"]  # what the producing run read
    assert data["base_model"] == "churn/encoder:v0"  # the model version it used
    results: list[EvalResult] = card.data.eval_results
    assert {(r.metric_type, r.metric_value, r.task_type, r.dataset_name) for r in results} == {
        ("auc", 0.93, "tabular-classification", "s3://lake/events/2026-11"),
        ("f1", 0.81, "tabular-classification", "s3://lake/events/2026-11")}  # evaluation only, not production
    assert card.data.model_name == "churn-model"
    assert card.text.strip() == "# Churn model\n\nPredicts churn."
    # The version's own card wins over the model's; MARKDOWN is the card as written.
    await api(CARD, t=targets["version"], md="# v0 specifics", f={"license": "mit"})
    text = (await api(EXPORT, r="churn/churn-model:staging", f="HUGGINGFACE"))["exportModelCard"]
    assert ModelCard(text).data.license == "mit" and ModelCard(text).text.strip() == "# v0 specifics"
    assert (await api(EXPORT, r="churn/classifier:v0", f="MARKDOWN"))["exportModelCard"] == "# v0 specifics"


async def test_a_card_never_written_still_exports(api: Api, dialect: str) -> None:
    await setup(api)
    text = (await api(EXPORT, r="churn/churn-model:staging", f="HUGGINGFACE"))["exportModelCard"]
    card = ModelCard(text)
    assert card.text.strip().startswith("# churn/churn-model") and "churn/classifier:v0" in card.text
    assert {r.metric_type for r in card.data.eval_results} == {"auc", "f1"}
    assert (await api(EXPORT, r="churn/encoder:v0", f="MARKDOWN"))["exportModelCard"] == ""


async def test_access(api: Api, dialect: str) -> None:
    await setup(api)
    await api('mutation { createProject(name: "other") { id } }')
    otto = await user(api, "otto", "other", "admin")
    assert (await otto.error(EXPORT, r="churn/churn-model:staging", f="HUGGINGFACE")).code == "NOT_FOUND"
    assert (await otto.error(EXPORT, r="nope/churn-model:staging", f="HUGGINGFACE")).code == "NOT_FOUND"
    vera = await user(api, "vera", "churn", "viewer")
    assert (await vera(EXPORT, r="churn/classifier:v0", f="HUGGINGFACE"))["exportModelCard"].startswith("---")
