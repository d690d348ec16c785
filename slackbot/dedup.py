"""Answer each Slack event once: Slack re-delivers (``X-Slack-Retry-Num``) when it saw no ack."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable


class DeliveryDeduper:
    """Remembers delivery keys for ``ttl_s`` seconds, at most ``max_keys`` of them (oldest go first).

    One process's memory: run one bot process per Slack app (docs/slack.md).
    """

    def __init__(
        self, ttl_s: float, *, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if ttl_s <= 0 or max_keys < 1:
            raise ValueError("ttl_s and max_keys must be positive")
        self.ttl_s = ttl_s
        self.max_keys = max_keys
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_delivery(self, keys: Iterable[str]) -> bool:
        """True the first time any of ``keys`` is seen (all are then remembered); else False.

        Several keys name one delivery (the event id, and channel + message ts, which also
        catches the same message arriving as both ``app_mention`` and ``message.im``).
        """
        wanted = [k for k in keys if k]
        with self._lock:
            now = self._clock()
            self._expire(now)
            if any(k in self._seen for k in wanted):
                return False
            for key in wanted:
                self._seen[key] = now + self.ttl_s
            while len(self._seen) > self.max_keys:
                self._seen.popitem(last=False)
            return True

    def __len__(self) -> int:
        with self._lock:
            self._expire(self._clock())
            return len(self._seen)

    def _expire(self, now: float) -> None:
        while self._seen:
            key, expires = next(iter(self._seen.items()))
            if expires > now:
                return
            del self._seen[key]
