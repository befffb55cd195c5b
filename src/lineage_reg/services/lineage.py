"""Lineage queries: the engine walks edges from the store; this module names the nodes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .. import ids
from ..errors import BadInput, LimitExceeded, NotFound
from ..lineage.engine import Direction, EdgeRow, LineageResult, NodeKey, traverse
from ..store import links as link_store
from ..store import runs as run_store
from ..store import versions as version_store
from ..store.records import LinkRec
from .runtime import Runtime

MAX_DEPTH = 100
MAX_LIMIT = 100_000
KIND_OF_TYPE = {"Run": "r", "ArtifactVersion": "v", "Dataset": "d"}
TYPE_OF_KIND = {v: k for k, v in KIND_OF_TYPE.items()}


@dataclass
class Lineage:
    result: LineageResult
    labels: dict[NodeKey, str]


def node_key(global_id: str) -> NodeKey:
    type_name, row_id = ids.decode(global_id, *KIND_OF_TYPE)
    return KIND_OF_TYPE[type_name], row_id


def node_id(key: NodeKey) -> str:
    return ids.encode(TYPE_OF_KIND[key[0]], key[1])


def check_bounds(depth: int | None, limit: int | None) -> tuple[int, int]:
    depth = 5 if depth is None else depth
    limit = 1000 if limit is None else limit
    if depth < 0 or limit < 1:
        raise BadInput("depth must be >= 0 and limit >= 1")
    if depth > MAX_DEPTH or limit > MAX_LIMIT:
        raise LimitExceeded(f"depth is at most {MAX_DEPTH} and limit at most {MAX_LIMIT}")
    return depth, limit


async def lineage(rt: Runtime, root: NodeKey, direction: Direction, *, depth: int | None, limit: int | None) -> Lineage:
    depth, limit = check_bounds(depth, limit)
    async with rt.db.reader() as r:

        async def fetch(kind: str, node_ids: Sequence[int], downstream: bool) -> dict[int, list[EdgeRow]]:
            return await run_store.neighbours(r, kind, node_ids, downstream=downstream)

        labels = await _labels(r, [root])
        if root not in labels:
            raise NotFound(f"lineage node {node_id(root)} not found")
        result = await traverse(fetch, root, direction, depth=depth, limit=limit)
        labels.update(await _labels(r, [n for n in result.graph.nodes if n != root]))
    return Lineage(result=result, labels=labels)


async def _labels(conn: object, keys: Sequence[NodeKey]) -> dict[NodeKey, str]:
    by_kind: dict[str, list[int]] = {}
    for kind, row_id in keys:
        by_kind.setdefault(kind, []).append(row_id)
    out: dict[NodeKey, str] = {}
    if by_kind.get("r"):
        for rid, run in (await run_store.runs_by_id(conn, by_kind["r"])).items():
            out[("r", rid)] = run.name
    if by_kind.get("v"):
        for vid, version in (await version_store.versions_by_id(conn, by_kind["v"])).items():
            out[("v", vid)] = version.ref
    if by_kind.get("d"):
        for did, ds in (await run_store.datasets_by_id(conn, by_kind["d"])).items():
            out[("d", did)] = f"{ds.namespace}/{ds.name}"
    return out


async def impact(rt: Runtime, global_id: str, alias: str | None) -> list[LinkRec]:
    """Registered-model links of every version downstream of a node, optionally only alias holders."""
    root = node_key(global_id)
    found = await lineage(rt, root, Direction.DOWNSTREAM, depth=MAX_DEPTH, limit=MAX_LIMIT)
    versions = [n[1] for n in found.result.graph.nodes if n[0] == "v"]
    if not versions:
        return []
    async with rt.db.reader() as r:
        by_version = await link_store.links_of_versions(r, versions)
        links = [link for vid in versions for link in by_version[vid]]
        if alias is not None:
            held = await link_store.alias_names_of(r, [(link.model_id, link.version_id) for link in links])
            links = [link for link in links if alias in held[(link.model_id, link.version_id)]]
    return sorted(links, key=lambda link: (found.result.distance[("v", link.version_id)], link.id))
