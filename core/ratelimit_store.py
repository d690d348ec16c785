"""Where :class:`core.ratelimit.RateLimiter` keeps its sliding windows.

:class:`MemoryWindows` counts in this process only (tests with a fake clock, ``RateLimiter(...)``
built without a data dir). :class:`SqliteWindows` counts in ``<data dir>/ratelimit.sqlite3``, so the
web chat, the Slack bot and ``docduet serve`` on the same data dir share one count per user: a user
cannot ask the limit in each of them.

The file is created 0600 in a 0700 folder (it names users); every check is one ``BEGIN IMMEDIATE``
transaction (forget the rows older than the window, count, add), so checks from several processes and
threads are serialized by SQLite's file lock and never over-count or under-count; a check waits up to
``busy_timeout_s`` for another process's transaction. The rollback journal is kept (not WAL): WAL
needs shared memory and breaks on a data dir that pods on several nodes mount (Helm's ReadWriteMany).
Times are wall-clock (``time.time``): monotonic clocks do not compare between processes.

An unusable file (it cannot be created, opened or written, or it is not a database) never lifts the
limit: the store logs a warning that says what to fix and, for the rest of this process's life,
counts in memory (the limit then holds per process, as before the file existed). It fails towards
"counted here only", never towards "not counted".
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

from core.private import private_file

log = logging.getLogger(__name__)

FILE_NAME = "ratelimit.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS counted (kind TEXT NOT NULL, key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS counted_by_key ON counted (kind, key, at);
CREATE INDEX IF NOT EXISTS counted_by_time ON counted (kind, at);
"""


class WindowStore(Protocol):
    """Sliding windows of counted events per key."""

    #: the clock a limiter over this store uses unless it is handed one
    default_clock: Callable[[], float]

    def take(self, key: str, now: float, window_s: float, limit: int) -> float | None:
        """Count an event by ``key`` at ``now`` and return None; when ``limit`` events are already in
        the window ending at ``now``, count nothing and return the time of the oldest of them."""
        ...


class MemoryWindows:
    """The windows in this process's memory; keys whose window has passed are forgotten."""

    default_clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self) -> None:
        self._asked: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float, window_s: float, limit: int) -> float | None:
        with self._lock:
            self._forget_before(now - window_s)
            asked = self._asked.setdefault(key, deque())
            if len(asked) >= limit:
                return asked[0]
            asked.append(now)
            return None

    def _forget_before(self, start: float) -> None:
        for key in list(self._asked):
            asked = self._asked[key]
            while asked and asked[0] <= start:
                asked.popleft()
            if not asked:
                del self._asked[key]


class SqliteWindows:
    """The windows of one ``kind`` (questions, downloads) in a SQLite file shared by processes."""

    default_clock: Callable[[], float] = staticmethod(time.time)

    def __init__(self, path: Path, kind: str, *, busy_timeout_s: float = 10.0) -> None:
        self.path = path
        self.kind = kind
        self._busy_timeout_s = busy_timeout_s
        self._fallback: MemoryWindows | None = None
        try:
            private_file(path)
            self._create()
        except (sqlite3.Error, OSError) as e:
            self._give_up(e)

    def _create(self) -> None:
        db = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None)
        try:
            db.executescript(_SCHEMA)
        finally:
            db.close()

    @classmethod
    def in_data_dir(cls, data_dir: Path, kind: str) -> SqliteWindows:
        """The store in ``<data_dir>/ratelimit.sqlite3``."""
        return cls(data_dir / FILE_NAME, kind)

    @property
    def shared(self) -> bool:
        """False once the file proved unusable and this process counts in memory."""
        return self._fallback is None

    def take(self, key: str, now: float, window_s: float, limit: int) -> float | None:
        if self._fallback is None:
            try:
                return self._take(key, now, window_s, limit)
            except (sqlite3.Error, OSError) as e:
                self._give_up(e)
        assert self._fallback is not None
        return self._fallback.take(key, now, window_s, limit)

    def _take(self, key: str, now: float, window_s: float, limit: int) -> float | None:
        with self._transaction() as db:
            db.execute("DELETE FROM counted WHERE kind = ? AND at <= ?", (self.kind, now - window_s))
            count, oldest = db.execute(
                "SELECT COUNT(*), MIN(at) FROM counted WHERE kind = ? AND key = ?", (self.kind, key)
            ).fetchone()
            if count >= limit:
                return float(oldest)
            db.execute("INSERT INTO counted (kind, key, at) VALUES (?, ?, ?)", (self.kind, key, now))
            return None

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One connection per check (so any thread may check), in one BEGIN IMMEDIATE transaction."""
        db = sqlite3.connect(self.path, timeout=self._busy_timeout_s, isolation_level=None)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    def _give_up(self, error: BaseException) -> None:
        log.warning(
            "rate limit: %s cannot be used (%s); this process now counts %s in memory only, so other "
            "docduet processes do not see its count. Make the data dir writable by this user (or "
            "remove a damaged file) and restart.",
            self.path,
            error,
            self.kind,
        )
        self._fallback = MemoryWindows()
