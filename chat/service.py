"""The answer service: retrieve once, then let each generator answer from the same passages.

Every front end (CLI, Streamlit, Slack, eval) goes through :class:`AnswerService`. Generators run
concurrently, each in its own thread; their tokens arrive interleaved as :class:`Event`s.
Hosted (off-premises) generators never receive confidential passages, nor earlier assistant
turns of the conversation (those may repeat what a local model read in a confidential passage).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from chat.cascade import CascadeSlot, answer_cascade, cascade_info
from chat.citations import MARKER_RE, cite
from chat.confidence import Assessor, measure
from chat.flags import answer_flags
from chat.prompt import build_prompt
from chat.results import NOT_FOUND_TEXT, Comparison, Event, GeneratorInfo, Question, Retrieval
from chat.rewrite import QueryRewriter
from chat.selective import Gate, apply_gate
from chat.shared import Listener, Shared, SharedRuns
from chat.slots import GeneratorSlot, Plan, may_receive, plan_for
from core.domain import Answer, Flag, Privacy, Sensitivity, Timings, Usage
from core.errors import ConfigError, DocduetError
from core.prompt import Prompt, Turn
from core.protocols import Generator, QueuedGenerator, Retriever

log = logging.getLogger(__name__)

STREAM_TIMEOUT_S = 900.0
"""Upper bound for one comparison; a generator still running then is reported as failed."""


CANCELLED = "stopped: the question was abandoned before this answer finished"


def queue_status(generator: Generator) -> str | None:
    """``Queued: 2 answers ahead of yours…`` for a local model that is busy (its own instances, or
    with ``run_alone`` the other local models' turns), else None."""
    count = generator.ahead() if isinstance(generator, QueuedGenerator) else 0
    if not count:
        return None
    return f"Queued: {count} answer{'s' if count != 1 else ''} ahead of yours on the local models…"


def history_for(generator: Generator, history: Sequence[Turn]) -> tuple[Turn, ...]:
    """The conversation a generator may see: all of it locally, only the user's turns off-premises.

    An earlier assistant turn may quote a confidential passage (the local model read it), so it
    never leaves the building.
    """
    if not generator.off_premises:
        return tuple(history)
    return tuple(t for t in history if t.role == "user")


def abstain_text(withheld: int, ceiling: Sensitivity = Sensitivity.INTERNAL) -> str:
    """The answer of a generator left without passages: none matched, or all were withheld."""
    if not withheld:
        return NOT_FOUND_TEXT
    return (
        f"All {withheld} matching sources are more sensitive than this model may receive "
        f"(at most {ceiling.value}) and were not sent to it; see the local models' answers."
    )


Slot = GeneratorSlot | CascadeSlot
"""A column: one generator, or a cascade of them."""


class AnswerService:
    """Answers questions with one or more generators from one shared retrieval."""

    def __init__(
        self,
        retriever: Retriever,
        slots: Sequence[Slot],
        rewriter: QueryRewriter,
        *,
        trusted_links: Sequence[str] = (),
        assessor: Assessor | None = None,
    ) -> None:
        """One slot per configured generator or cascade; a name may appear once. ``trusted_links``
        (URL prefixes or hosts) are the organisation's: an answer's link under one is not flagged.
        ``assessor`` turns each answer's signals into a confidence (default: no calibrations,
        so every confidence is ``unknown`` with its signals measured)."""
        self._assessor = assessor or Assessor({})
        self._retriever = retriever
        self._trusted_links = tuple(trusted_links)
        self._slots: dict[str, Slot] = {slot.name: slot for slot in slots}
        if len(self._slots) != len(slots):
            raise ValueError(f"generator names repeat in {[s.name for s in slots]}")
        self._rewriter = rewriter

    @property
    def generator_names(self) -> list[str]:
        """Configured generators (and cascades with a step that can run) first, then the unavailable ones."""
        ready = [n for n, s in self._slots.items() if s.unavailable is None]
        return [*ready, *(n for n in self._slots if n not in ready)]

    def label(self, name: str) -> str:
        """What users see for generator ``name``: its model and where it runs when known."""
        slot = self._slots.get(name)
        return slot.label if slot is not None else name

    def describe(self, name: str) -> GeneratorInfo:
        """Where ``name`` runs, what it may receive and whether it can answer now."""
        slot = self._slots.get(name)
        if isinstance(slot, CascadeSlot):
            return cascade_info(slot)
        generator = slot.generator if slot is not None else None
        return GeneratorInfo(
            name=name,
            label=self.label(name),
            off_premises=bool(generator and generator.off_premises),
            max_sensitivity=generator.max_sensitivity if generator else None,
            endpoint=generator.endpoint if generator else "",
            unavailable=slot.unavailable if slot is not None else None,
        )

    def retrieve(self, question: Question) -> Retrieval:
        """Rewrite a follow-up into a standalone query and retrieve what the user may read."""
        started = time.perf_counter()
        query = self._rewriter.standalone(question.text, question.history)
        hits = self._retriever.retrieve(query, user=question.user, filters=question.filters)
        return Retrieval(query=query, hits=tuple(hits), seconds=time.perf_counter() - started)

    def stream(self, question: Question, names: Sequence[str]) -> Iterator[Event]:
        """Retrieve, then run ``names`` concurrently.

        Yields one ``retrieval`` event, then ``status`` and ``token`` events as they come, and
        exactly one ``answer`` event per generator, after that generator's tokens. Columns that
        run the same generator on the same passages share one generation (:mod:`chat.shared`).
        """
        names = self._check_names(names)
        started = time.perf_counter()
        retrieval = self.retrieve(question)
        yield Event(generator="", kind="retrieval", retrieval=retrieval)
        events: queue.Queue[Event] = queue.Queue()
        cancelled = threading.Event()
        turn = _Turn(self, question, retrieval, started, SharedRuns(cancelled, STREAM_TIMEOUT_S))
        for name in names:
            threading.Thread(
                target=self._answer_into,
                args=(name, turn, Listener(events.put, cancelled)),
                name=f"docduet-{name}",
                daemon=True,
            ).start()
        try:
            yield from self._drain(events, set(names), retrieval, started)
        finally:  # the consumer stopped listening (closed tab, rerun): stop generating for it
            cancelled.set()

    def compare(self, question: Question, names: Sequence[str] | None = None) -> Comparison:
        """Every generator's answer to ``question`` (default: all configured ones)."""
        names = list(dict.fromkeys(names or self.generator_names))
        started = time.perf_counter()
        answers: dict[str, Answer] = {}
        retrieval: Retrieval | None = None
        for event in self.stream(question, names):
            if event.kind == "retrieval":
                retrieval = event.retrieval
            elif event.kind == "answer" and event.answer is not None:
                answers[event.generator] = event.answer
        assert retrieval is not None  # stream() always yields it first
        return Comparison(
            question=question.text,
            user=question.user.name,
            retrieval=retrieval,
            answers=tuple(answers[n] for n in names),
            wall_s=time.perf_counter() - started,
        )

    def _check_names(self, names: Sequence[str]) -> list[str]:
        unique = list(dict.fromkeys(names))
        known = set(self.generator_names)
        unknown = [n for n in unique if n not in known]
        if unknown or not unique:
            raise ConfigError(
                f"unknown generator(s) {', '.join(unknown) or '(none given)'}; "
                f"known: {', '.join(self.generator_names) or '(none configured)'}"
            )
        return unique

    def _drain(
        self, events: queue.Queue[Event], pending: set[str], retrieval: Retrieval, started: float
    ) -> Iterator[Event]:
        """Pass events on until every generator answered; report stragglers as timed out."""
        deadline = time.monotonic() + STREAM_TIMEOUT_S
        while pending:
            try:
                event = events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                for name in sorted(pending):
                    error = f"no answer within {STREAM_TIMEOUT_S:.0f} s"
                    yield Event(name, "answer", answer=self._failed(name, error, retrieval, started))
                return
            if event.kind == "answer":
                pending.discard(event.generator)
            yield event

    def _answer_into(self, name: str, turn: _Turn, out: Listener) -> None:
        try:
            answer = self._answer(name, turn, out)
        except Exception as e:  # a backend bug must not take the other answer down
            log.exception("%s crashed", name)
            answer = self._failed(name, f"{type(e).__name__}: {e}", turn.retrieval, turn.started)
        out(Event(name, "answer", answer=replace(answer, label=answer.label or self.label(name))))

    def _answer(self, name: str, turn: _Turn, out: Listener) -> Answer:
        slot = self._slots[name]
        if isinstance(slot, CascadeSlot):
            return answer_cascade(slot, turn.retrieval, turn.started, out, turn)
        if slot.generator is None:
            return turn.failed(name, slot.unavailable or "unavailable", None)
        plan = turn.plan(slot, turn.retrieval)
        if plan.hits:
            answer = turn.run(slot, plan, out).answer
        else:
            answer = turn.abstained(name, slot.generator.max_sensitivity, plan.privacy)
        return apply_gate(answer, turn.retrieval.hits, slot.gate)

    def _abstained(
        self, name: str, ceiling: Sensitivity, privacy: Privacy, retrieval: Retrieval, started: float
    ) -> Answer:
        """The answer of a column left without passages: none matched, or all were withheld."""
        signals = measure(hits=(), result=None, citations=(), dropped_markers=0, abstained=True)
        return Answer(
            generator=name,
            text=abstain_text(privacy.withheld_count, ceiling),
            citations=(),
            timings=Timings(retrieval.seconds, None, time.perf_counter() - started),
            usage=Usage(0, 0, 0.0),
            privacy=privacy,
            abstained=True,
            confidence=self._assessor.assess(name, signals),
        )

    def _generate(
        self,
        name: str,
        generator: Generator,
        prompt: Prompt,
        privacy: Privacy,
        retrieval: Retrieval,
        started: float,
        emit: Listener,
    ) -> Answer:
        """Stream ``prompt`` through ``generator``, then verify the answer's citations."""
        first: float | None = None
        emit(Event(name, "status", text=queue_status(generator) or f"Reading {len(prompt.blocks)} passages…"))
        try:
            stream = generator.stream(prompt)
            for piece in stream:
                if first is None and piece.strip():
                    first = time.perf_counter() - started
                if emit.cancelled:
                    stream.close()  # frees the local model's cores / the hosted connection
                    log.info("%s stopped: nobody is waiting for its answer any more", name)
                    return self._failed(name, CANCELLED, retrieval, started, privacy=privacy, first=first)
                emit(Event(name, "token", text=piece))
            result = stream.result
        except Exception as e:  # the prompt may have left the building: keep the privacy record
            if not isinstance(e, DocduetError):
                log.exception("%s crashed while generating", name)
            error = str(e) if isinstance(e, DocduetError) else f"{type(e).__name__}: {e}"
            log.warning("%s failed: %s", name, error)
            return self._failed(name, error, retrieval, started, privacy=privacy, first=first)
        cited = cite(result.text, prompt.blocks)
        timings = Timings(
            retrieval.seconds, first, time.perf_counter() - started, result.queue_s, result.core_seconds
        )
        if not MARKER_RE.sub("", cited.text).strip(" \n\t.,;:-"):  # nothing but markers or punctuation
            log.warning("%s wrote no answer text (%r)", name, result.text[:80])
            return Answer(
                generator=name,
                text="",
                citations=(),
                timings=timings,
                usage=result.usage,
                privacy=privacy,
                error=(
                    f"The model wrote no answer text ({result.usage.completion_tokens} tokens, "
                    f"finish: {result.finish_reason}). Ask again, more specifically, or use another model."
                ),
            )
        return Answer(
            generator=name,
            text=cited.text,
            citations=cited.citations,
            timings=timings,
            usage=result.usage,
            privacy=privacy,
            abstained=cited.abstained,
            flagged_markers=cited.flagged_markers,
            flags=self._flags(cited.text, prompt),
            confidence=self._assessor.assess(
                name,
                measure(
                    hits=tuple(b.hit for b in prompt.blocks),
                    result=result,
                    citations=cited.citations,
                    dropped_markers=len(cited.flagged_markers),
                    abstained=cited.abstained,
                ),
            ),
        )

    def _flags(self, text: str, prompt: Prompt) -> tuple[Flag, ...]:
        """Links and credential requests in ``text`` that came from no one the user trusts."""
        asked = "\n".join([prompt.question, *(t.content for t in prompt.history if t.role == "user")])
        passages = [p for b in prompt.blocks for p in (b.text, b.hit.chunk.text)]
        return answer_flags(text, question=asked, passages=passages, trusted=self._trusted_links)

    def _failed(
        self,
        name: str,
        error: str,
        retrieval: Retrieval,
        started: float,
        *,
        privacy: Privacy | None = None,
        first: float | None = None,
    ) -> Answer:
        """An answer that carries ``error``; ``privacy`` records a prompt that was sent anyway."""
        slot = self._slots.get(name)
        generator = slot.generator if isinstance(slot, GeneratorSlot) else None
        endpoint = generator.endpoint if generator else ""
        return Answer(
            generator=name,
            text="",
            citations=(),
            timings=Timings(retrieval.seconds, first, time.perf_counter() - started),
            usage=Usage(0, 0, 0.0),
            privacy=privacy or Privacy(endpoint, False, (), 0),
            error=error,
        )


@dataclass(frozen=True)
class _Turn:
    """One question's shared context, handed to every column and cascade step (a StepRunner)."""

    service: AnswerService
    question: Question
    retrieval: Retrieval
    started: float
    runs: SharedRuns

    def plan(self, slot: GeneratorSlot, retrieval: Retrieval) -> Plan:
        assert slot.generator is not None
        return plan_for(slot, slot.generator, retrieval)

    def run(self, slot: GeneratorSlot, plan: Plan, listener: Listener) -> Shared:
        """``slot``'s answer from ``plan``'s passages, generated once per question whoever asks."""
        generator = slot.generator
        assert generator is not None
        history = history_for(generator, self.question.history)
        prompt = build_prompt(
            self.question.text, plan.hits, history=history, context_tokens=slot.context_tokens
        )
        return self.runs.answer(
            (slot.name, plan.privacy.sent_chunk_ids),
            listener,
            lambda out: self.service._generate(
                slot.name, generator, prompt, plan.privacy, self.retrieval, self.started, out
            ),
            lambda e: self.failed(slot.name, f"{type(e).__name__}: {e}", plan.privacy),
        )

    def abstained(self, name: str, ceiling: Sensitivity, privacy: Privacy) -> Answer:
        return self.service._abstained(name, ceiling, privacy, self.retrieval, self.started)

    def failed(self, name: str, error: str, privacy: Privacy | None) -> Answer:
        return self.service._failed(name, error, self.retrieval, self.started, privacy=privacy)


__all__ = [
    "CANCELLED",
    "AnswerService",
    "CascadeSlot",
    "Gate",
    "GeneratorSlot",
    "Slot",
    "abstain_text",
    "history_for",
    "may_receive",
    "queue_status",
]
