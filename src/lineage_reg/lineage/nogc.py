"""Pausing the cyclic garbage collector while a lineage walk allocates.

A 50,000-node walk allocates hundreds of thousands of small tuples and dicts,
none of them in reference cycles; the collector's repeated scans of them (and
of whatever else the process holds) took 20-60 % of such a walk's time
(``docs/performance.md``). The pause is process-wide, so it is counted (under a
lock: tests run servers in threads): the collector comes back when the last
walk ends, and collects then whatever cycles other requests made meanwhile.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def paused() -> Iterator[None]:
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
