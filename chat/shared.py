"""One generation per model and passages for one question, streamed to every column that asked.

When a ``slm`` column and a cascade whose first step is ``slm`` answer the same question, they
are given the same passages, so the model runs once: the first to ask generates, every other
one receives the events so far and then the rest as they come, and the same finished answer.
A :class:`SharedRuns` lives for one :meth:`chat.service.AnswerService.stream` call.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from chat.results import Event
from core.domain import Answer
from core.errors import GenerationError

Key = tuple[str, tuple[str, ...]]
"""(generator name, the chunk ids it is sent, in order)."""


class Listener:
    """Where a generation's events go (a column's queue), and whether anyone still listens."""

    def __init__(self, put: Callable[[Event], None], cancelled: threading.Event) -> None:
        self._put = put
        self._cancelled = cancelled

    def __call__(self, event: Event) -> None:
        self._put(event)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def renamed(self, column: str, status: Callable[[str], str] = lambda text: text) -> Listener:
        """Events of another generator shown under ``column`` (status lines rewritten by ``status``)."""

        def put(event: Event) -> None:
            text = status(event.text) if event.kind == "status" and not event.restart else event.text
            self._put(replace(event, generator=column, text=text))

        return Listener(put, self._cancelled)


@dataclass(frozen=True)
class Shared:
    """A finished generation as a column receives it: the answer and the seconds it took to make."""

    answer: Answer
    seconds: float
    reused: bool
    """True when another column had asked for it first (this column's request ran no model)."""


class _Run:
    """One generation: its events so far, its listeners, its answer once finished."""

    def __init__(self, cancelled: threading.Event) -> None:
        self._lock = threading.Lock()
        self._events: list[Event] = []
        self._listeners: list[Listener] = []
        self._done = threading.Event()
        self._answer: Answer | None = None
        self._seconds = 0.0
        self.out = Listener(self._broadcast, cancelled)

    def _broadcast(self, event: Event) -> None:
        with self._lock:  # a listener joining now gets this event in the replay or live, never both
            self._events.append(event)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(event)

    def listen(self, listener: Listener) -> None:
        with self._lock:
            for event in self._events:
                listener(event)
            self._listeners.append(listener)

    def finish(self, answer: Answer, seconds: float) -> None:
        self._answer, self._seconds = answer, seconds
        self._done.set()

    def wait(self, timeout_s: float) -> tuple[Answer, float]:
        if not self._done.wait(timeout_s) or self._answer is None:
            raise GenerationError(
                f"the shared generation gave no answer within {timeout_s:.0f} s; ask again"
            )
        return self._answer, self._seconds


class SharedRuns:
    """Per question: each (generator, passages) generated once, whoever asks for it."""

    def __init__(self, cancelled: threading.Event, timeout_s: float) -> None:
        self._cancelled = cancelled
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._runs: dict[Key, _Run] = {}

    def answer(
        self,
        key: Key,
        listener: Listener,
        generate: Callable[[Listener], Answer],
        crashed: Callable[[BaseException], Answer],
    ) -> Shared:
        """The answer for ``key``: made by ``generate`` if nobody asked yet, else the one being made.

        ``listener`` receives every event of that generation, from its start. Should ``generate``
        raise, the others waiting for it get ``crashed(error)`` (which keeps the privacy record).
        """
        with self._lock:
            run = self._runs.get(key)
            owner = run is None
            if run is None:
                run = self._runs[key] = _Run(self._cancelled)
        run.listen(listener)
        if not owner:
            answer, seconds = run.wait(self._timeout_s)
            return Shared(answer, seconds, reused=True)
        started = time.perf_counter()
        try:
            answer = generate(run.out)
        except BaseException as e:
            run.finish(crashed(e), time.perf_counter() - started)  # never leave a waiter hanging
            raise
        seconds = time.perf_counter() - started
        run.finish(answer, seconds)
        return Shared(answer, seconds, reused=False)

