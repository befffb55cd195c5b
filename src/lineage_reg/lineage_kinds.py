"""The kinds of lineage node and edge, the int key a walk names a node by, and the directions of a walk.

Shared vocabulary: the store writes and reads edges with these codes, the lineage engine walks them and the API
names them in its lineage types, so they live below all three.
"""

from __future__ import annotations

from enum import Enum

# An edge's kind follows from the kinds of its ends (source, target), so walks need not read it.
EDGE_KIND = {("r", "v"): "produced", ("v", "r"): "used", ("d", "r"): "read", ("r", "d"): "wrote"}
# Walks name a node by one int, row id * 4 + its kind's code, so their dicts and sets hash plain ints.
KIND_CODE = {"r": 1, "v": 2, "d": 3}
KIND_OF_CODE = {code: kind for kind, code in KIND_CODE.items()}
DERIVED = "derived"  # the kind of an edge that joins the two sides of left-out nodes

# A node is one int, row id * 4 + its kind's code (computed by the database as it reads edges): the walk's
# dicts and sets then hash plain ints, where (kind, id) tuples cost an allocation and a hash on every use.
NodeKey = int
Edge = tuple[NodeKey, NodeKey]  # (source, target), as stored


def node(kind: str, row_id: int) -> NodeKey:
    return row_id * 4 + KIND_CODE[kind]


def kind_of(key: NodeKey) -> str:
    """``"r"`` (run), ``"v"`` (artifact version) or ``"d"`` (dataset)."""
    return KIND_OF_CODE[key & 3]


def row_of(key: NodeKey) -> int:
    return key >> 2


def edge_kind(edge: Edge) -> str:
    """A stored edge's kind follows from its ends' kinds; an edge joining the two sides of left-out nodes
    always joins kinds no stored edge does (paths alternate between runs and other nodes)."""
    return EDGE_KIND.get((KIND_OF_CODE[edge[0] & 3], KIND_OF_CODE[edge[1] & 3]), DERIVED)


class Direction(Enum):
    UPSTREAM = "UPSTREAM"
    DOWNSTREAM = "DOWNSTREAM"
    BOTH = "BOTH"
