"""A bounded pool of model instances with a visible line: who waits, how long, how many ahead."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

from core.errors import GenerationError

T = TypeVar("T")


class InstancePool(Generic[T]):
    """At most ``size`` instances, made on demand by ``factory``; callers wait in line, bounded.

    One instance answers one question at a time (llama.cpp is not re-entrant); with ``size``
    instances, ``size`` questions are answered at once and the others wait their turn, at most
    ``timeout_s`` seconds each.
    """

    def __init__(self, factory: Callable[[], T], *, size: int, timeout_s: float, what: str) -> None:
        self._factory = factory
        self.size = size
        self.timeout_s = timeout_s
        self._what = what
        self._free: list[T] = []
        self._made = 0
        self._busy = 0
        self._waiting = 0
        self._cv = threading.Condition()

    def ahead(self) -> int:
        """Questions a newcomer would wait behind (0 when an instance is free or can be made)."""
        with self._cv:
            if self._free or self._made < self.size:
                return 0
            return self._busy + self._waiting - self.size + 1

    @contextmanager
    def lease(self) -> Iterator[T]:
        """An instance for the duration of the block; GenerationError when none frees in time."""
        with self.turn() as (item, _):
            yield item

    @contextmanager
    def turn(self) -> Iterator[tuple[T, float]]:
        """Like :meth:`lease`, with the seconds this caller waited in line for its turn.

        The wait ends when an instance is free or may be made; making one (loading a model) is
        not counted.
        """
        item, waited = self._acquire()
        try:
            yield item, waited
        finally:
            with self._cv:
                self._busy -= 1
                self._free.append(item)
                self._cv.notify()

    def _acquire(self) -> tuple[T, float]:
        started = time.monotonic()
        deadline = started + self.timeout_s
        with self._cv:
            self._waiting += 1
            try:
                while not self._free and self._made >= self.size:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        raise GenerationError(
                            f"{self._what} is busy answering {self._busy} other question(s) and "
                            f"{self._waiting - 1} more are waiting; no turn came within "
                            f"{self.timeout_s:.0f} s. Try again in a minute (an admin can raise its "
                            "pool_size or queue_timeout_s)."
                        )
                    self._cv.wait(timeout=left)
                self._busy += 1
                waited = time.monotonic() - started
                if self._free:
                    return self._free.pop(), waited
                self._made += 1
            finally:
                self._waiting -= 1
        try:
            return self._factory(), waited
        except BaseException:
            with self._cv:
                self._made -= 1
                self._busy -= 1
                self._cv.notify()
            raise
