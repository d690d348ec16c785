"""Folding the answer service's event stream into a chat turn, with throttled screen updates."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from chat.results import Event, GeneratorInfo, Question, Retrieval
from core.domain import Answer

UPDATE_INTERVAL_S = 0.08
"""At most ~12 redraws a second per column: smooth to the eye, light on the websocket."""


class Answerer(Protocol):
    """What the chat page needs from :class:`chat.service.AnswerService`."""

    @property
    def generator_names(self) -> list[str]: ...

    def describe(self, name: str) -> GeneratorInfo: ...

    def stream(self, question: Question, names: Sequence[str]) -> Iterator[Event]: ...


class LiveView(Protocol):
    """Where a streaming turn is drawn (Streamlit placeholders in the app)."""

    def retrieved(self, retrieval: Retrieval) -> None: ...

    def status(self, name: str, text: str) -> None:
        """What a column is doing before its first words (reading the passages, queued...)."""
        ...

    def partial(self, name: str, text: str) -> None: ...

    def finished(self, answer: Answer) -> None: ...


@dataclass
class LiveTurn:
    """Accumulates one turn's events: the retrieval, text so far and finished answers."""

    names: tuple[str, ...]
    retrieval: Retrieval | None = None
    texts: dict[str, str] = field(default_factory=dict)
    answers: dict[str, Answer] = field(default_factory=dict)
    first_seen_s: dict[str, float] = field(default_factory=dict)
    """Seconds from the question to the first visible text, per column (as the reader sees it)."""

    def ordered_answers(self) -> tuple[Answer, ...]:
        """Finished answers in column order."""
        return tuple(self.answers[n] for n in self.names if n in self.answers)


class Throttle:
    """True at most once per ``interval`` seconds per key (the first call always passes)."""

    def __init__(self, interval: float = UPDATE_INTERVAL_S, clock: Callable[[], float] = time.monotonic):
        self._interval = interval
        self._clock = clock
        self._last: dict[str, float] = {}

    def ready(self, key: str) -> bool:
        now = self._clock()
        if now - self._last.get(key, float("-inf")) < self._interval:
            return False
        self._last[key] = now
        return True


def run_stream(
    answerer: Answerer,
    question: Question,
    live: LiveTurn,
    view: LiveView,
    *,
    throttle: Throttle | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> LiveTurn:
    """Consume the stream into ``live``, drawing on ``view``; errors propagate to the caller.

    ``live`` is filled in place, so whatever arrived before an error or an interruption is kept.
    """
    throttle = throttle or Throttle()
    started = clock()
    events = answerer.stream(question, live.names)
    try:
        _consume(events, live, view, throttle, clock, started)
    finally:  # a rerun or a closed tab stops the script here: stop the generators too
        close = getattr(events, "close", None)
        if close is not None:
            close()
    return live


def _consume(
    events: Iterator[Event],
    live: LiveTurn,
    view: LiveView,
    throttle: Throttle,
    clock: Callable[[], float],
    started: float,
) -> None:
    dirty: set[str] = set()
    for event in events:
        if event.kind == "retrieval" and event.retrieval is not None:
            live.retrieval = event.retrieval
            view.retrieved(event.retrieval)
        elif event.kind == "status" and (event.restart or not live.texts.get(event.generator)):
            if event.restart:  # a cascade asks its next model: the previous model's words go
                live.texts[event.generator] = ""
                dirty.discard(event.generator)
            view.status(event.generator, event.text)
        elif event.kind == "token":
            name = event.generator
            live.texts[name] = live.texts.get(name, "") + event.text
            if name not in live.first_seen_s and live.texts[name].strip():
                live.first_seen_s[name] = clock() - started
            dirty.add(name)
        elif event.kind == "answer" and event.answer is not None:
            live.answers[event.generator] = event.answer
            dirty.discard(event.generator)
            view.finished(event.answer)
        for name in [n for n in dirty if throttle.ready(n)]:
            view.partial(name, live.texts[name])
            dirty.discard(name)
