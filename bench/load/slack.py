"""The Slack side of a load run: the loopback doubles, deliveries and what the bot answered."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chat.results import Comparison, Question


@dataclass
class Delivery:
    """What the loopback Slack Web API saw for one question (keyed by its ts)."""

    sent: float
    worker_started: float | None = None
    finished: float | None = None
    posts: list[dict[str, Any]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)


class SlackWatcher:
    """Follows the recorder's calls in one thread and tells each waiting user about its own ts."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self._deliveries: dict[str, Delivery] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._cursor = 0
        self._thread = threading.Thread(target=self._run, name="slack-watcher", daemon=True)

    def __enter__(self) -> SlackWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def expect(self, ts: str) -> Delivery:
        delivery = Delivery(sent=time.perf_counter())
        with self._lock:
            self._deliveries[ts] = delivery
        return delivery

    def forget(self, ts: str) -> None:
        with self._lock:
            self._deliveries.pop(ts, None)

    def _run(self) -> None:
        recorder = self.recorder
        while not self._stop.is_set():
            with recorder.lock:
                if len(recorder.calls) <= self._cursor:
                    recorder.lock.wait(0.2)
                new = recorder.calls[self._cursor :]
                self._cursor += len(new)
            now = time.perf_counter()
            for call in new:
                self._see(call.method, call.params, now)

    def _see(self, method: str, params: dict[str, Any], now: float) -> None:
        key = str(params.get("thread_ts") if method == "chat.postMessage" else params.get("timestamp"))
        with self._lock:
            delivery = self._deliveries.get(key)
        if delivery is None:
            return
        if method == "reactions.add" and delivery.worker_started is None:
            delivery.worker_started = now
        elif method == "chat.postMessage":
            delivery.posts.append(params)
            if delivery.finished is not None:  # an apology, posted after the reaction went
                delivery.finished = now
                delivery.done.set()
        elif method == "reactions.remove":
            delivery.finished = now
            if delivery.posts:  # the reply is posted before the reaction is removed
                delivery.done.set()


class Observed:
    """The bot's answer service, keeping every comparison (as tests/integration/test_slack_bot.py)."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self._lock = threading.Lock()
        self._comparisons: list[Comparison] = []

    def compare(self, question: Question, names: Sequence[str] | None = None) -> Comparison:
        comparison = self.service.compare(question, names)
        with self._lock:
            self._comparisons.append(comparison)
        return comparison

    def take(self) -> list[Comparison]:
        with self._lock:
            taken, self._comparisons = self._comparisons, []
        return taken


def post(url: str, body: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return int(e.code)
