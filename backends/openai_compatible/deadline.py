"""Bounded waits for remote generators: a deadline-aware stream reader and retry timing.

:class:`StreamReader` reads a blocking iterator (an HTTP stream) in a daemon thread, so the
caller can stop waiting at a deadline even while a read blocks; the thread then closes the
iterator (releasing the connection) at its next chunk or when the read times out on its own.
:class:`RetryPolicy` says whether and how long to wait before the next attempt: the server's
Retry-After when given, else exponential backoff with jitter, never past the deadline.
"""

from __future__ import annotations

import contextlib
import email.utils
import math
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

END = object()
"""What :meth:`StreamReader.next` returns once the stream is exhausted."""


class StreamReader:
    """Pulls ``open_stream()`` in a daemon thread; :meth:`next` waits at most a given time."""

    def __init__(self, open_stream: Callable[[], Iterator[Any]], *, name: str = "docduet-stream") -> None:
        self._items: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(open_stream,), name=name, daemon=True)
        self._thread.start()

    def _run(self, open_stream: Callable[[], Iterator[Any]]) -> None:
        stream: Iterator[Any] | None = None
        try:
            stream = open_stream()
            for chunk in stream:
                if self._stop.is_set():
                    return
                self._items.put((chunk, None))
        except BaseException as e:  # handed to the reader, which raises it in its own thread
            self._items.put((None, e))
            return
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):  # closing a broken stream may fail again
                    close()
        self._items.put((END, None))

    def next(self, timeout_s: float) -> Any:
        """The next chunk, :data:`END`, or the stream's exception; TimeoutError after ``timeout_s``."""
        try:
            chunk, error = self._items.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            raise TimeoutError(f"no chunk within {timeout_s:.1f} s") from None
        if error is not None:
            raise error
        return chunk

    def stop(self) -> None:
        """Stop reading: the thread closes the stream at its next chunk (or its own read timeout)."""
        self._stop.set()

    def join(self, timeout_s: float) -> bool:
        """Wait (bounded) for the reading thread to end; True when it did."""
        self._thread.join(timeout=timeout_s)
        return not self._thread.is_alive()


@dataclass(frozen=True)
class RetryPolicy:
    """How many retries, and the longest wait a server may ask for."""

    max_retries: int
    max_retry_wait_s: float
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 8.0

    def backoff(self, retry: int) -> float:
        """Exponential backoff for retry number ``retry`` (0-based), with up to 25% jitter off."""
        base = min(self.initial_backoff_s * 2.0**retry, self.max_backoff_s)
        return base * (1.0 - 0.25 * random.random())


def retry_after(headers: Mapping[str, str] | None, now: float | None = None) -> float | None:
    """Seconds a server asked to wait (``retry-after-ms``, ``retry-after`` seconds or HTTP date)."""
    if not headers:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            parsed = email.utils.parsedate_tz(value)
            if parsed is None:
                continue
            seconds = email.utils.mktime_tz(parsed) - (time.time() if now is None else now)
        if math.isfinite(seconds):
            return max(0.0, seconds)
    return None
