"""Local generations one at a time, the smallest model first.

Two llama.cpp generations at once on the same cores finish later than the same two one after the
other with every core (measured on 2 cores: docs/performance.md, "One local model at a time"):
their threads contend for the cores and the memory bus, and the first answer comes late too. So
a generator with ``run_alone`` (the default) takes a turn of :data:`LOCAL_TURNS` around each
generation, after its pool instance (which it may have loaded meanwhile) and before its first
evaluation; while it holds the turn, :mod:`backends.llama_cpp.cores` gives it every free core.
Waiting generations go in the order they came, a larger model's moved back by
:data:`SECONDS_PER_GB` of its file: the columns of one question (asked within seconds of each
other) go smallest model first, so the small model's column answers first and the larger one
follows; a larger model's generation that has waited longer than that is not overtaken again, so
a stream of small-model questions cannot starve it.

A thread that already holds the turn is let through again (a nested generation would otherwise
wait for itself); a wait is bounded by the generator's ``queue_timeout_s``.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from core.errors import GenerationError

_now = time.monotonic
"""The clock of the line (a test's own clock replaces it)."""
SECONDS_PER_GB = 10.0
"""How far back a model's generation goes in the line per GB of its model file (Qwen 0.5B: 4.9 s,
Qwen 1.5B: 11.2 s): a small model's question asked up to the difference later still goes first."""


class LocalTurns:
    """One holder at a time (re-entrant per thread); waiters served by arrival time plus their
    rank (model file bytes) at :data:`SECONDS_PER_GB`, then arrival order."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._holder: int | None = None
        self._depth = 0
        self._waiting: list[tuple[float, int]] = []
        self._arrivals = itertools.count()

    @contextmanager
    def turn(self, rank: int, *, timeout_s: float, what: str) -> Iterator[float]:
        """Hold the turn for the block; yields the seconds waited for it. GenerationError when
        it does not come within ``timeout_s``."""
        waited = self._acquire(rank, timeout_s, what)
        try:
            yield waited
        finally:
            with self._cv:
                self._depth -= 1
                if self._depth == 0:
                    self._holder = None
                    self._cv.notify_all()

    def ahead(self, rank: int) -> int:
        """Generations a newcomer of ``rank`` would wait behind: the one running, if any, and
        those waiting that go first."""
        mine = _place(rank, _now())
        with self._cv:
            return (self._holder is not None) + sum(1 for place, _ in self._waiting if place <= mine)

    def _acquire(self, rank: int, timeout_s: float, what: str) -> float:
        me = threading.get_ident()
        started = _now()
        with self._cv:
            if self._holder == me:
                self._depth += 1
                return 0.0
            ticket = (_place(rank, started), next(self._arrivals))
            heapq.heappush(self._waiting, ticket)
            try:
                while self._holder is not None or self._waiting[0] != ticket:
                    left = started + timeout_s - _now()
                    if left <= 0:
                        raise GenerationError(
                            f"{what} waited {timeout_s:.0f} s for the other local models to finish "
                            f"({len(self._waiting) - 1} more waiting). Try again in a minute (an admin "
                            "can raise its queue_timeout_s, or set run_alone: false to share the cores)."
                        )
                    self._cv.wait(timeout=left)
                self._holder, self._depth = me, 1
                return _now() - started
            finally:
                self._waiting.remove(ticket)
                heapq.heapify(self._waiting)
                self._cv.notify_all()


LOCAL_TURNS = LocalTurns()
"""The process's one line of local generations that run alone."""


def _place(rank: int, arrived: float) -> float:
    """Where a generation of ``rank`` that arrived at ``arrived`` (monotonic seconds) stands."""
    return arrived + rank / 1e9 * SECONDS_PER_GB
