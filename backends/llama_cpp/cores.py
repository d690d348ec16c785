"""How many threads a local generation gets: every core when it runs alone, a share when several do.

llama.cpp's threads are a property of its context, but they can be changed between two
evaluations (``llama_set_n_threads``). :data:`LOCAL_GENERATIONS` counts the local generations
running in this process (every llama.cpp generator, every pool instance); before each evaluation
an instance asks it for its share, so a model answering alone uses every core, two at once use
half each, and the survivor takes them all back as soon as the other one finishes.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


class CoreShare:
    """A count of running generations and each one's share of ``cores`` (thread-safe)."""

    def __init__(self, cores: int) -> None:
        self.cores = max(1, cores)
        self._running = 0
        self._lock = threading.Lock()

    @contextmanager
    def running(self) -> Iterator[None]:
        """Count one generation for the duration of the block."""
        with self._lock:
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1

    def now(self) -> int:
        """Generations running now."""
        with self._lock:
            return self._running

    def threads(self) -> int:
        """Threads for one of the generations running now: all the cores alone, else an equal share
        (at least one; more generations than cores get one thread each)."""
        with self._lock:
            return max(1, self.cores // max(1, self._running))


LOCAL_GENERATIONS = CoreShare(available_cores())
"""The process's one count of running local generations."""
