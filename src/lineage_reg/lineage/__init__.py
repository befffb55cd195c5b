"""The lineage engine: load the reachable neighbourhood, then run networkx on it."""

from .engine import Direction, LineageResult, NodeKey, traverse

__all__ = ["Direction", "LineageResult", "NodeKey", "traverse"]
