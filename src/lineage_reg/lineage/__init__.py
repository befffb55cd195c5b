"""The lineage engine: load the reachable neighbourhood, then lay it out (networkx for cycles)."""

from .engine import Direction, LineageResult, NodeKey, traverse

__all__ = ["Direction", "LineageResult", "NodeKey", "traverse"]
