"""Publishing committed events to subscribers and caches."""

from .bus import EventBus, InProcessBus

__all__ = ["EventBus", "InProcessBus"]
