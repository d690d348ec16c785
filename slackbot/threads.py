"""What the bot said in each thread, so a reply in the thread is answered as a follow-up.

The bot remembers its own turns (question and carried answer) per thread, in memory: no extra
Slack scope is needed to read channel history, and a thread forgotten (restart, idle past the TTL,
or pushed out by newer threads) simply starts a new conversation.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from chat.history import HISTORY_TURNS, conversation
from core.domain import Answer
from core.prompt import Turn


class ThreadMemory:
    """The last ``max_turns`` turns of up to ``max_threads`` threads, each kept ``ttl_s`` after its
    latest turn."""

    def __init__(
        self,
        *,
        max_threads: int = 1000,
        max_turns: int = HISTORY_TURNS,
        ttl_s: float = 24 * 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_threads = max_threads
        self.max_turns = max_turns
        self.ttl_s = ttl_s
        self._clock = clock
        self._threads: OrderedDict[str, tuple[float, list[tuple[str, Answer | None]]]] = OrderedDict()
        self._lock = threading.Lock()

    def history(self, thread: str) -> tuple[Turn, ...]:
        """The conversation so far in ``thread`` (empty when unknown or expired)."""
        with self._lock:
            entry = self._threads.get(thread)
            if entry is None:
                return ()
            if self._clock() - entry[0] > self.ttl_s:
                del self._threads[thread]
                return ()
            return conversation(entry[1], max_turns=self.max_turns)

    def add(self, thread: str, question: str, answer: Answer | None) -> None:
        """Record one answered question of ``thread``."""
        with self._lock:
            _, turns = self._threads.pop(thread, (0.0, []))
            turns = [*turns, (question, answer)][-self.max_turns :]
            self._threads[thread] = (self._clock(), turns)
            while len(self._threads) > self.max_threads:
                self._threads.popitem(last=False)
