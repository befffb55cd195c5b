"""A model card as a document: the Hugging Face README (YAML front matter + markdown), or the markdown as written.

The front matter is the card's fields (the registered model's, then the version's over them) plus what the
registry already knows, so nobody retypes it: ``datasets`` (what the producing run read), ``base_model`` (the
model versions it used), ``library_name`` (the version's ``metadata.framework``) and ``model-index`` (the
version's evaluation metrics). Values are written as JSON, which YAML reads as it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .. import ids, refs
from ..records import CollectionRec, MetricSummaryRec, VersionRec
from ..store import cards as card_store
from ..store import lineage as lineage_store
from ..store import metrics as metric_store
from ..store import projects as project_store
from ..store import runs as run_store
from ..store import versions as version_store
from . import find
from .cards import empty
from .comments import target_key
from .metric_names import EVALUATION
from .runtime import Runtime

FORMATS = ("HUGGINGFACE", "MARKDOWN")


async def _model_of(rt: Runtime, ref: str) -> CollectionRec | None:
    """The registered model a reference goes through (``p/model:production``), if it does."""
    if ids.looks_like_id(ref):
        return None
    parsed = refs.parse_version_ref(ref)
    coll = await find.collection_named(rt, project=parsed.project, name=parsed.name)
    return coll if coll is not None and coll.kind == "model" else None


async def export(rt: Runtime, *, ref: str, format: str, readable: Callable[[int], bool]) -> str:
    """``ref``: any version reference or id; through a registered model, its card comes first. ``readable``: may
    the caller read a project (upstream versions of other projects are left out otherwise)."""
    version = await find.resolve(rt, ref=ref)
    model = await _model_of(rt, ref)
    keys = [target_key("ArtifactVersion", version.id)] + ([target_key("RegisteredModel", model.id)] if model else [])
    async with rt.db.reader() as r:
        cards = await card_store.of_targets(r, keys)
        own = cards.get(keys[0]) or empty(keys[0], version.project_id)
        shared = cards.get(keys[1]) if model else None
        markdown = own.markdown or (shared.markdown if shared else "")
        if format == "MARKDOWN":
            return markdown
        fields = {**(shared.fields if shared else {}), **own.fields}
        inputs = await _inputs(r, version, readable)
        metrics = [s for s in (await metric_store.summaries_of(r, [version.id])).get(version.id, [])
                   if s.source == EVALUATION]
    front = dict(fields)
    framework = version.metadata.get("framework")
    if isinstance(framework, str):
        front.setdefault("library_name", framework)
    if inputs["datasets"]:
        front.setdefault("datasets", inputs["datasets"])
    if inputs["models"]:
        front.setdefault("base_model", inputs["models"] if len(inputs["models"]) > 1 else inputs["models"][0])
    if metrics:
        front.setdefault("model-index", _model_index(model.name if model else version.artifact, fields, metrics,
                                                     inputs["datasets"]))
    body = markdown or _default_body(version, model)
    head = "\n".join(f"{json.dumps(k)}: {json.dumps(v, sort_keys=True)}" for k, v in front.items() if v is not None)
    return f"---\n{head}\n---\n\n{body}\n" if head else f"{body}\n"


async def _inputs(conn: Any, version: VersionRec, readable: Callable[[int], bool]) -> dict[str, list[str]]:
    """What the producing run read (datasets) and used (model versions), by one edge query each way."""
    out: dict[str, list[str]] = {"datasets": [], "models": []}
    if version.run_id is None:
        return out
    edges = (await lineage_store.neighbours(conn, "r", [version.run_id], downstream=False))[version.run_id]
    dataset_ids = sorted({i for kind, i, _ in edges if kind == "d"})
    version_ids = sorted({i for kind, i, _ in edges if kind == "v"})
    datasets = await run_store.datasets_by_id(conn, dataset_ids) if dataset_ids else {}
    out["datasets"] = [f"{d.namespace.rstrip('/')}/{d.name}" for d in datasets.values()]
    used = await version_store.versions_by_id(conn, version_ids) if version_ids else {}
    colls = await project_store.collections_by_id(conn, sorted({v.artifact_id for v in used.values()}))
    out["models"] = sorted(v.ref for v in used.values()
                           if colls[v.artifact_id].type == "model" and readable(v.project_id))
    return out


def _model_index(name: str, fields: dict[str, Any], metrics: list[MetricSummaryRec],
                 datasets: list[str]) -> list[dict[str, Any]]:
    """One result: the task from ``pipeline_tag``, the evaluation dataset from ``eval_dataset`` (else the first
    dataset read), each evaluation metric's latest value."""
    task = fields.get("pipeline_tag") if isinstance(fields.get("pipeline_tag"), str) else "other"
    dataset = fields.get("eval_dataset") if isinstance(fields.get("eval_dataset"), str) else (
        datasets[0] if datasets else "evaluation")
    return [{"name": name, "results": [{
        "task": {"type": task},
        "dataset": {"name": dataset, "type": dataset},
        "metrics": [{"type": m.name, "value": m.latest, "name": f"{m.name} ({m.source})"} for m in metrics],
    }]}]


def _default_body(version: VersionRec, model: CollectionRec | None) -> str:
    title = f"{model.project}/{model.name}" if model else f"{version.project}/{version.artifact}"
    lines = [f"# {title}", "", f"Version `{version.ref}` (digest `{version.digest[:12]}`)."]
    description = (model.description if model else None) or version.description
    if description:
        lines += ["", description]
    return "\n".join(lines)
