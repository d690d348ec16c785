"""Per-user limits on questions and downloads (``rate_limit_questions``, ``rate_limit_downloads``).

One :class:`RateLimiter` per process is shared by every web session (and by the Slack bot's
handlers); a sliding window per key (a user name, a Slack user, or an address for anonymous
visitors). Thread-safe; memory is bounded by forgetting keys whose window has passed.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from core.settings import RateLimitSettings


@dataclass(frozen=True)
class Refusal:
    """A question (or download) refused: how long until the next is allowed, and what to tell the user."""

    retry_after_s: float
    limit: int
    window_s: float
    counted: str = "asked {limit} questions"
    again: str = "asking again"

    @property
    def message(self) -> str:
        wait = _duration(self.retry_after_s)
        window = _duration(self.window_s)
        return (
            f"You have {self.counted.format(limit=self.limit)} in the last {window}, the most allowed. "
            f"Please wait {wait} before {self.again}."
        )


class RateLimiter:
    """At most ``limit`` questions per ``window_s`` seconds for each key (``limit`` 0: no limit).

    ``counted`` and ``again`` word the refusal for what is counted (see :meth:`for_downloads`).
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
        *,
        counted: str = "asked {limit} questions",
        again: str = "asking again",
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._words = (counted, again)
        self._asked: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, ratelimit: RateLimitSettings) -> RateLimiter:
        """The questions limit (``rate_limit_questions`` per ``rate_limit_window_s``)."""
        return cls(ratelimit.rate_limit_questions, ratelimit.rate_limit_window_s)

    @classmethod
    def for_downloads(
        cls, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ) -> RateLimiter:
        """The "Download source" limit (settings ``rate_limit_downloads`` per ``rate_limit_window_s``)."""
        return cls(
            limit, window_s, clock, counted="downloaded {limit} source files", again="downloading another"
        )

    def check(self, key: str) -> Refusal | None:
        """Count a question by ``key``; a :class:`Refusal` (not counted) when over the limit."""
        if self.limit <= 0:
            return None
        now = self._clock()
        with self._lock:
            self._forget_before(now - self.window_s)
            asked = self._asked.setdefault(key, deque())
            if len(asked) >= self.limit:
                return Refusal(asked[0] + self.window_s - now, self.limit, self.window_s, *self._words)
            asked.append(now)
            return None

    def _forget_before(self, start: float) -> None:
        for key in list(self._asked):
            asked = self._asked[key]
            while asked and asked[0] <= start:
                asked.popleft()
            if not asked:
                del self._asked[key]


def _duration(seconds: float) -> str:
    if seconds < 90:
        n = max(1, math.ceil(seconds))
        return f"{n} second{'s' if n != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"
