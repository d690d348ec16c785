"""The answer service: retrieve once, then let each generator answer from the same passages.

Every front end (CLI, Streamlit, Slack, eval) goes through :class:`AnswerService`. Generators run
concurrently, each in its own thread; their tokens arrive interleaved as :class:`Event`s.
Hosted (off-premises) generators never receive confidential passages.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace

from chat.citations import cite
from chat.generators.base import Generator
from chat.prompt import build_prompt
from chat.results import NOT_FOUND_TEXT, Comparison, Event, Question, Retrieval
from chat.rewrite import QueryRewriter
from docduet.domain import Answer, Hit, Privacy, Sensitivity, Timings, Usage
from docduet.errors import ConfigError, DocduetError
from retrieval.retriever import Retriever

log = logging.getLogger(__name__)

Emit = Callable[[Event], None]
STREAM_TIMEOUT_S = 900.0
"""Upper bound for one comparison; a generator still running then is reported as failed."""


def may_receive(generator: Generator, hit: Hit) -> bool:
    """Confidential text stays on the company's machines."""
    return not (generator.off_premises and hit.chunk.access.sensitivity is Sensitivity.CONFIDENTIAL)


class AnswerService:
    """Answers questions with one or more generators from one shared retrieval."""

    def __init__(
        self,
        retriever: Retriever,
        generators: Mapping[str, Generator],
        rewriter: QueryRewriter,
        *,
        unavailable: Mapping[str, str] | None = None,
    ) -> None:
        self._retriever = retriever
        self._generators = dict(generators)
        self._rewriter = rewriter
        self._unavailable = dict(unavailable or {})

    @property
    def generator_names(self) -> list[str]:
        return [*self._generators, *(n for n in self._unavailable if n not in self._generators)]

    def retrieve(self, question: Question) -> Retrieval:
        started = time.perf_counter()
        query = self._rewriter.standalone(question.text, question.history)
        hits = self._retriever.retrieve(query, user=question.user, filters=question.filters)
        return Retrieval(query=query, hits=tuple(hits), seconds=time.perf_counter() - started)

    def stream(self, question: Question, names: Sequence[str]) -> Iterator[Event]:
        """Retrieve, then run ``names`` concurrently; yields a retrieval event, tokens, answers."""
        self._check_names(names)
        started = time.perf_counter()
        retrieval = self.retrieve(question)
        yield Event(generator="", kind="retrieval", retrieval=retrieval)
        events: queue.Queue[Event] = queue.Queue()
        threads = [
            threading.Thread(
                target=self._answer_into,
                args=(name, question, retrieval, started, events.put),
                name=f"docduet-{name}",
                daemon=True,
            )
            for name in names
        ]
        for thread in threads:
            thread.start()
        pending = set(names)
        deadline = time.monotonic() + STREAM_TIMEOUT_S
        while pending:
            try:
                event = events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                for name in sorted(pending):
                    yield Event(name, "answer", answer=self._failed(name, "timed out", retrieval))
                return
            if event.kind == "answer":
                pending.discard(event.generator)
            yield event

    def compare(self, question: Question, names: Sequence[str] | None = None) -> Comparison:
        """Every generator's answer to ``question`` (default: all configured ones)."""
        names = list(names or self.generator_names)
        started = time.perf_counter()
        answers: dict[str, Answer] = {}
        retrieval: Retrieval | None = None
        for event in self.stream(question, names):
            if event.kind == "retrieval":
                retrieval = event.retrieval
            elif event.kind == "answer" and event.answer is not None:
                answers[event.generator] = event.answer
        assert retrieval is not None
        return Comparison(
            question=question.text,
            user=question.user.name,
            retrieval=retrieval,
            answers=tuple(answers[n] for n in names),
            wall_s=time.perf_counter() - started,
        )

    def answer(self, question: Question, name: str) -> Answer:
        return self.compare(question, [name]).answers[0]

    def _check_names(self, names: Sequence[str]) -> None:
        known = set(self.generator_names)
        unknown = [n for n in names if n not in known]
        if unknown or not names:
            raise ConfigError(
                f"unknown generator(s) {', '.join(unknown) or '(none)'}; "
                f"known: {', '.join(self.generator_names)}"
            )

    def _answer_into(
        self, name: str, question: Question, retrieval: Retrieval, started: float, emit: Emit
    ) -> None:
        try:
            answer = self._answer(name, question, retrieval, started, emit)
        except DocduetError as e:
            log.warning("%s failed: %s", name, e)
            answer = self._failed(name, str(e), retrieval)
        except Exception as e:  # a backend bug must not take the other answer down
            log.exception("%s crashed", name)
            answer = self._failed(name, f"{type(e).__name__}: {e}", retrieval)
        emit(Event(name, "answer", answer=answer))

    def _answer(
        self, name: str, question: Question, retrieval: Retrieval, started: float, emit: Emit
    ) -> Answer:
        if name in self._unavailable:
            return self._failed(name, self._unavailable[name], retrieval)
        generator = self._generators[name]
        allowed = tuple(h for h in retrieval.hits if may_receive(generator, h))
        withheld = len(retrieval.hits) - len(allowed)
        privacy = Privacy(
            endpoint=generator.endpoint,
            off_premises=generator.off_premises,
            sent_chunk_ids=tuple(h.chunk.chunk_id for h in allowed),
            withheld_count=withheld,
        )
        if not allowed:
            text = NOT_FOUND_TEXT
            if withheld:
                text = (
                    f"All {withheld} matching sources are confidential and were not sent to this "
                    "hosted model; see the local model's answer."
                )
            elapsed = time.perf_counter() - started
            return Answer(
                generator=name,
                text=text,
                citations=(),
                timings=Timings(retrieval.seconds, None, elapsed),
                usage=Usage(0, 0, 0.0),
                privacy=Privacy(generator.endpoint, False, (), withheld),
                abstained=True,
            )
        prompt = build_prompt(question.text, allowed, history=question.history)
        first: float | None = None
        try:
            stream = generator.stream(prompt)
            for piece in stream:
                if first is None and piece.strip():
                    first = time.perf_counter() - started
                emit(Event(name, "token", text=piece))
            result = stream.result
        except DocduetError as e:  # the prompt may have left the building: keep the record
            return replace(self._failed(name, str(e), retrieval), privacy=privacy)
        cited = cite(result.text, prompt.blocks)
        return Answer(
            generator=name,
            text=cited.text,
            citations=cited.citations,
            timings=Timings(retrieval.seconds, first, time.perf_counter() - started),
            usage=result.usage,
            privacy=privacy,
            abstained=cited.abstained,
            flagged_markers=cited.flagged_markers,
        )

    def _failed(self, name: str, error: str, retrieval: Retrieval) -> Answer:
        generator = self._generators.get(name)
        return Answer(
            generator=name,
            text="",
            citations=(),
            timings=Timings(retrieval.seconds, None, retrieval.seconds),
            usage=Usage(0, 0, 0.0),
            privacy=Privacy(generator.endpoint if generator else "", False, (), 0),
            error=error,
        )
