"""The kinds of lineage node and edge, and the int key a walk names a node by.

Shared vocabulary: the store writes and reads edges with these codes, the lineage engine walks them, so they live
below both.
"""

from __future__ import annotations

# An edge's kind follows from the kinds of its ends (source, target), so walks need not read it.
EDGE_KIND = {("r", "v"): "produced", ("v", "r"): "used", ("d", "r"): "read", ("r", "d"): "wrote"}
# Walks name a node by one int, row id * 4 + its kind's code, so their dicts and sets hash plain ints.
KIND_CODE = {"r": 1, "v": 2, "d": 3}
