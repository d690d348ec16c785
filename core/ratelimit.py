"""Per-user limits on questions and downloads (``rate_limit_questions``, ``rate_limit_downloads``).

A sliding window per key (a user name, a Slack user, or an address for anonymous visitors).
Built with the data dir (:meth:`RateLimiter.from_settings`, :meth:`RateLimiter.for_downloads`), the
windows live in ``<data dir>/ratelimit.sqlite3`` and every docduet process on that data dir (web chat,
Slack bot, ``docduet serve``) shares one count per user; questions and downloads are counted apart.
Without it they live in this process's memory (:class:`core.ratelimit_store.MemoryWindows`). An
unusable file never lifts the limit: that process warns and counts in memory
(:class:`core.ratelimit_store.SqliteWindows`). Thread-safe; both stores forget windows that passed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.ratelimit_store import MemoryWindows, SqliteWindows, WindowStore
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

    ``store`` holds the windows (default: this process's memory); ``clock`` defaults to the store's
    (monotonic in memory, wall clock in the shared file). ``counted`` and ``again`` word the refusal
    for what is counted (see :meth:`for_downloads`).
    """

    def __init__(
        self,
        limit: int,
        window_s: float,
        clock: Callable[[], float] | None = None,
        *,
        counted: str = "asked {limit} questions",
        again: str = "asking again",
        store: WindowStore | None = None,
    ) -> None:
        self.limit = limit
        self.window_s = window_s
        self.store: WindowStore = store if store is not None else MemoryWindows()
        self._clock = clock if clock is not None else self.store.default_clock
        self._words = (counted, again)

    @classmethod
    def from_settings(
        cls,
        ratelimit: RateLimitSettings,
        data_dir: Path | None = None,
        clock: Callable[[], float] | None = None,
    ) -> RateLimiter:
        """The questions limit (``rate_limit_questions`` per ``rate_limit_window_s``); counted in
        ``<data_dir>/ratelimit.sqlite3`` with every process on that data dir when it is given."""
        return cls(
            ratelimit.rate_limit_questions,
            ratelimit.rate_limit_window_s,
            clock,
            store=_shared(data_dir, "questions", ratelimit.rate_limit_questions),
        )

    @classmethod
    def for_downloads(
        cls,
        limit: int,
        window_s: float,
        clock: Callable[[], float] | None = None,
        *,
        data_dir: Path | None = None,
    ) -> RateLimiter:
        """The "Download source" limit (settings ``rate_limit_downloads`` per ``rate_limit_window_s``),
        shared through ``data_dir`` like :meth:`from_settings` but counted apart from questions."""
        return cls(
            limit,
            window_s,
            clock,
            counted="downloaded {limit} source files",
            again="downloading another",
            store=_shared(data_dir, "downloads", limit),
        )

    def check(self, key: str) -> Refusal | None:
        """Count a question by ``key``; a :class:`Refusal` (not counted) when over the limit."""
        if self.limit <= 0:
            return None
        now = self._clock()
        oldest = self.store.take(key, now, self.window_s, self.limit)
        if oldest is None:
            return None
        # a wall clock set back may leave rows "in the future": never ask for more than one window
        retry_after = min(oldest + self.window_s - now, self.window_s)
        return Refusal(retry_after, self.limit, self.window_s, *self._words)


def _shared(data_dir: Path | None, kind: str, limit: int) -> WindowStore | None:
    """The data dir's shared store (none without a data dir, or for no limit: no file is made)."""
    if data_dir is None or limit <= 0:
        return None
    return SqliteWindows.in_data_dir(data_dir, kind)


def _duration(seconds: float) -> str:
    if seconds < 90:
        n = max(1, math.ceil(seconds))
        return f"{n} second{'s' if n != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minutes"
