"""Pausing Python's garbage collector around work that allocates many objects and makes no cycles.

Decoding a large API answer or checking a batch of records for the loader allocates hundreds of
thousands of dicts and tuples; each allocation counts towards a collection, and a full collection walks
every object the process holds. None of these objects form cycles, so the collector finds nothing.
"""

from __future__ import annotations

import gc
import threading


class GarbageCollectorPause:
    """No automatic garbage collection while any thread is inside; as it was once the last one leaves."""

    def __init__(self) -> None:
        self._inside = 0
        self._was_enabled = True
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        with self._lock:
            if self._inside == 0:
                self._was_enabled = gc.isenabled()
                gc.disable()
            self._inside += 1

    def __exit__(self, *exc_info: object) -> None:
        with self._lock:
            self._inside -= 1
            if self._inside == 0 and self._was_enabled:
                gc.enable()


garbage_collector_paused = GarbageCollectorPause()
