"""How many threads a local generation gets: every core when it runs alone, a share when several do.

llama.cpp's threads are a property of its context, but they can be changed between two
evaluations (``llama_set_n_threads``). :data:`LOCAL_GENERATIONS` counts the local generations
running in this process (every llama.cpp generator, every pool instance); before each evaluation
an instance asks it for its share, so a model answering alone uses every core, two at once use
half each, and the survivor takes them all back as soon as the other one finishes (generators
with ``run_alone``, the default, take turns instead: :mod:`backends.llama_cpp.turns`). Cores that
other processes keep busy are left to them (:mod:`backends.llama_cpp.busy`): llama.cpp's spinning
threads on a busy core slow a generation down below one thread's speed.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from backends.llama_cpp.busy import OtherWork


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the platform tells it)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows
        return max(1, os.cpu_count() or 1)


def other_work() -> OtherWork | None:
    """The other processes' load on this process's CPUs (Linux); None where the affinity is unknown."""
    try:
        return OtherWork(sorted(os.sched_getaffinity(0)))
    except AttributeError:  # macOS, Windows: every core, as before
        return None


class CoreShare:
    """A count of running generations and each one's share of ``cores`` (thread-safe); with
    ``other``, the cores other processes keep busy are taken out first."""

    def __init__(self, cores: int, other: OtherWork | None = None) -> None:
        self.cores = max(1, cores)
        self._other = other
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
        """Threads for one of the generations running now: the free cores alone, else an equal
        share of them (at least one; more generations than cores get one thread each). Free: not
        kept busy by other processes (rounded: a core more than half busy is not free)."""
        with self._lock:
            running = max(1, self._running)
        free = self.cores
        busy = self._other.cores() if self._other is not None else None
        if busy is not None:
            free = max(1, min(self.cores, math.floor(self.cores - busy + 0.5)))
        return max(1, free // running)


LOCAL_GENERATIONS = CoreShare(available_cores(), other_work())
"""The process's one count of running local generations."""
