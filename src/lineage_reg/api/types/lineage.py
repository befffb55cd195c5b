"""The lineage graph as GraphQL sees it."""

from __future__ import annotations

import strawberry

from ...lineage.engine import Direction
from ...services import lineage as lineage_service
from ..context import Info
from ..permissions import can_read
from .common import LineageDirection, LineageNodeKind

KIND = {"r": LineageNodeKind.RUN, "v": LineageNodeKind.ARTIFACT_VERSION, "d": LineageNodeKind.DATASET}


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
    kind: str


@strawberry.type
class LineageGraph:
    root: strawberry.ID
    nodes: list[LineageNode]
    edges: list[LineageEdge]
    truncated: bool = strawberry.field(description="True when depth or limit cut the graph short.")


async def lineage_graph(info: Info, node: str, direction: LineageDirection, depth: int | None, limit: int | None) -> LineageGraph:
    can_read(info)
    root = lineage_service.node_key(node)
    found = await lineage_service.lineage(
        info.context.rt, root, Direction(direction.value), depth=depth, limit=limit
    )
    res = found.result
    ident = {n: lineage_service.node_id(n) for n in res.graph.nodes}
    nodes = [
        LineageNode(id=strawberry.ID(ident[n]), kind=KIND[n[0]], label=found.labels.get(n, ""),
                    layer=res.layer.get(n, 0), distance=res.distance[n])
        for n in sorted(res.graph.nodes, key=lambda n: (res.distance[n], n))
    ]
    edges = [
        LineageEdge(source=strawberry.ID(ident[s]), target=strawberry.ID(ident[t]), kind=d["kind"])
        for s, t, d in res.graph.edges(data=True)
    ]
    return LineageGraph(root=strawberry.ID(ident[root]), nodes=nodes, edges=edges, truncated=res.truncated)
