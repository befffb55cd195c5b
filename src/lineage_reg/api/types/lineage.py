"""The lineage graph as GraphQL sees it."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from ...lineage_kinds import Direction, NodeKey, edge_kind, kind_of
from ...services import lineage as lineage_service
from ..context import Info
from ..permissions import actor_of, may_read
from ..selection import selects
from .common import LineageDirection, LineageNodeKind

if TYPE_CHECKING:
    from .models import ModelLink

KIND = {"r": LineageNodeKind.RUN, "v": LineageNodeKind.ARTIFACT_VERSION, "d": LineageNodeKind.DATASET}
KIND_CODE = {v: k for k, v in KIND.items()}
LINEAGE_DOC = (
    "The lineage graph around this node: `direction` (UPSTREAM never pulls in siblings), `depth` hops "
    "(at most 100), `limit` nodes (at most 100,000); `kinds` keeps only those node kinds, `skipRuns` gives "
    "version → version lineage (runs cost no hop and are left out); `asOf` ignores what was recorded later."
)


@strawberry.type
class LineageNode:
    id: strawberry.ID = strawberry.field(description="Global id of the Run, ArtifactVersion or Dataset.")
    kind: LineageNodeKind
    label: str
    layer: int = strawberry.field(description="Topological generation within the returned graph: sources are 0.")
    distance: int = strawberry.field(description="Distance in hops from the start node.")


@strawberry.type
class LineageEdge:
    source: strawberry.ID
    target: strawberry.ID
    kind: str = strawberry.field(
        description="produced (run → version), used (version → run), read (dataset → run), wrote (run → dataset), "
        "or derived (a path through nodes left out by `kinds` or `skipRuns`)."
    )


@strawberry.type
class LineageGraph:
    root: strawberry.ID
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    truncated: bool = strawberry.field(description="True when depth or limit cut the graph short.")


@strawberry.type(description="A registered-model link downstream of a node, with its shortest path back to it.")
class ImpactHit:
    link: Annotated[ModelLink, strawberry.lazy(".models")]
    distance: int = strawberry.field(description="Hops from the node to the linked version.")
    path: list[LineageNode] = strawberry.field(description="From the node to the linked version, in order.")


HIDDEN = "(hidden: a project you have no role in)"


def _node(info: Info, key: NodeKey, label: lineage_service.Label | None, layer: int, distance: int,
          gid: strawberry.ID | None = None) -> LineageNode:
    """A node; one of a project the actor can't read keeps its place in the graph but not its name."""
    text = "" if label is None else label.text
    if label is not None and label.project_id is not None and not may_read(info.context.actor, label.project_id):
        text = HIDDEN
    return LineageNode(id=gid or strawberry.ID(lineage_service.node_id(key)), kind=KIND[kind_of(key)], label=text,
                       layer=layer, distance=distance)


def _root_check(info: Info) -> lineage_service.RootCheck:
    """A start node must be readable (datasets are: they belong to no project)."""
    actor_of(info)  # `lineage` is a root field too: nobody unauthenticated gets as far as the lookup

    def check(label: lineage_service.Label) -> bool:
        return label.project_id is None or may_read(info.context.actor, label.project_id)

    return check


async def lineage_graph(
    info: Info, node: str, direction: LineageDirection, depth: int | None, limit: int | None,
    kinds: list[LineageNodeKind] | None = None, skip_runs: bool = False, as_of: datetime | None = None,
) -> LineageGraph:
    check = _root_check(info)
    root = lineage_service.node_key(node)
    found = await lineage_service.lineage(
        info.context.rt, root=root, direction=Direction(direction.value), depth=depth, limit=limit,
        kinds={KIND_CODE[k] for k in kinds} if kinds else None, skip_runs=skip_runs, as_of=as_of, check=check,
        with_labels=selects(info, "nodes", "label"),  # a label per node is a row to read per node
    )
    res = found.result
    gid = {n: strawberry.ID(lineage_service.node_id(n)) for n in res.nodes}  # encoded once, not once per edge end
    nodes = [
        _node(info, n, found.labels.get(n), res.layer.get(n, 0), res.distance[n], gid[n])
        for n in sorted(res.nodes, key=lambda n: (res.distance[n], n))
    ]
    edges = [LineageEdge(source=gid[s], target=gid[t], kind=edge_kind((s, t))) for s, t in res.edges]
    return LineageGraph(root=gid[root], nodes=nodes, edges=edges, truncated=res.truncated)


async def lineage_path(info: Info, source: str, target: str, as_of: datetime | None) -> LineageGraph | None:
    check = _root_check(info)
    found = await lineage_service.path(
        info.context.rt, source=lineage_service.node_key(source), target=lineage_service.node_key(target),
        as_of=as_of, check=check,
    )
    if found is None:
        return None
    forward = not found.edges or found.edges[0][0] == found.nodes[0]
    last = len(found.nodes) - 1
    nodes = [_node(info, n, found.labels.get(n), i if forward else last - i, i) for i, n in enumerate(found.nodes)]
    edges = [LineageEdge(source=strawberry.ID(lineage_service.node_id(a)), target=strawberry.ID(lineage_service.node_id(b)),
                         kind=kind) for a, b, kind in found.edges]
    return LineageGraph(root=strawberry.ID(source), nodes=nodes, edges=edges, truncated=False)


async def impact_hits(info: Info, node: str, alias: str | None, as_of: datetime | None) -> list[ImpactHit]:
    from .models import ModelLink

    check = _root_check(info)
    hits = await lineage_service.impact(info.context.rt, global_id=node, alias=alias, as_of=as_of, check=check)
    return [  # links into registered models the actor can't read are left out
        ImpactHit(link=ModelLink.of(h.link), distance=h.distance,
                  path=[_node(info, n, h.labels.get(n), i, i) for i, n in enumerate(h.path)])
        for h in hits if may_read(info.context.actor, h.link.project_id)
    ]


@strawberry.type
class LineageField:
    """Base of every lineage node kind (Run, ArtifactVersion, Dataset): their `lineage` field.

    Never exposed itself; only its subclasses are in the schema.
    """

    id: strawberry.ID

    @strawberry.field(description=LINEAGE_DOC)
    async def lineage(
        self, info: Info, direction: LineageDirection = LineageDirection.BOTH, depth: int | None = 5,
        limit: int | None = 1000, kinds: list[LineageNodeKind] | None = None, skip_runs: bool = False,
        as_of: datetime | None = None,
    ) -> LineageGraph:
        return await lineage_graph(info, self.id, direction, depth, limit, kinds, skip_runs, as_of)
