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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from chat.citations import MARKER_RE, cite
from chat.confidence import Assessor, measure
from chat.flags import answer_flags
from chat.prompt import build_prompt
from chat.results import NOT_FOUND_TEXT, Comparison, Event, GeneratorInfo, Question, Retrieval
from chat.rewrite import QueryRewriter
from core.domain import Answer, Flag, Hit, Privacy, Sensitivity, Timings, Usage
from core.errors import ConfigError, DocduetError
from core.prompt import Prompt, Turn
from core.protocols import Generator, QueuedGenerator, Retriever

log = logging.getLogger(__name__)

STREAM_TIMEOUT_S = 900.0
"""Upper bound for one comparison; a generator still running then is reported as failed."""


CANCELLED = "stopped: the question was abandoned before this answer finished"


class _Emitter:
    """Where a generator thread puts its events, and whether anyone still listens."""

    def __init__(self, put: Callable[[Event], None], cancelled: threading.Event) -> None:
        self._put = put
        self._cancelled = cancelled

    def __call__(self, event: Event) -> None:
        self._put(event)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()


def may_receive(generator: Generator, hit: Hit) -> bool:
    """A passage goes to a generator only up to that generator's sensitivity ceiling."""
    return hit.chunk.access.sensitivity.at_most(generator.max_sensitivity)


def queue_status(generator: Generator) -> str | None:
    """``Queued: 2 questions ahead of you…`` for a local model that is busy, else None."""
    count = generator.ahead() if isinstance(generator, QueuedGenerator) else 0
    if not count:
        return None
    return f"Queued: {count} question{'s' if count != 1 else ''} ahead of you for this model…"


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


@dataclass(frozen=True)
class GeneratorSlot:
    """One configured generator as the answer service holds it: built, or why it cannot run.

    ``unavailable`` is reported as that generator's error; ``max_passages`` caps how many of the
    best passages it reads; ``title`` is shown when the generator has no label of its own.
    """

    name: str
    generator: Generator | None = None
    unavailable: str | None = None
    max_passages: int | None = None
    title: str = ""

    def __post_init__(self) -> None:
        if (self.generator is None) == (self.unavailable is None):
            raise ValueError(
                f"generator slot {self.name!r} takes a generator or the reason it is unavailable "
                "(exactly one of them)"
            )

    @property
    def label(self) -> str:
        """What users see: the generator's own label, else the title, else the name."""
        if self.generator is not None and self.generator.label:
            return self.generator.label
        return self.title or self.name


@dataclass(frozen=True)
class _Plan:
    """What one generator will be given: the passages and the privacy record of sending them."""

    hits: tuple[Hit, ...]
    privacy: Privacy


class AnswerService:
    """Answers questions with one or more generators from one shared retrieval."""

    def __init__(
        self,
        retriever: Retriever,
        slots: Sequence[GeneratorSlot],
        rewriter: QueryRewriter,
        *,
        trusted_links: Sequence[str] = (),
        assessor: Assessor | None = None,
    ) -> None:
        """One slot per configured generator; a name may appear once. ``trusted_links`` (URL
        prefixes or hosts) are the organisation's: an answer's link under one is not flagged.
        ``assessor`` turns each answer's signals into a confidence (default: no calibrations,
        so every confidence is ``unknown`` with its signals measured)."""
        self._assessor = assessor or Assessor({})
        self._retriever = retriever
        self._trusted_links = tuple(trusted_links)
        self._slots = {slot.name: slot for slot in slots}
        if len(self._slots) != len(slots):
            raise ValueError(f"generator names repeat in {[s.name for s in slots]}")
        self._generators = {s.name: s.generator for s in slots if s.generator is not None}
        self._rewriter = rewriter

    @property
    def generator_names(self) -> list[str]:
        """Configured generators first, then the unavailable ones."""
        return [*self._generators, *(n for n in self._slots if n not in self._generators)]

    def label(self, name: str) -> str:
        """What users see for generator ``name``: its model and where it runs when known."""
        slot = self._slots.get(name)
        return slot.label if slot is not None else name

    def describe(self, name: str) -> GeneratorInfo:
        """Where ``name`` runs, what it may receive and whether it can answer now."""
        generator = self._generators.get(name)
        slot = self._slots.get(name)
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

        Yields one ``retrieval`` event, then ``token`` events as they come, and exactly one
        ``answer`` event per generator, after that generator's tokens.
        """
        names = self._check_names(names)
        started = time.perf_counter()
        retrieval = self.retrieve(question)
        yield Event(generator="", kind="retrieval", retrieval=retrieval)
        events: queue.Queue[Event] = queue.Queue()
        cancelled = threading.Event()
        for name in names:
            threading.Thread(
                target=self._answer_into,
                args=(name, question, retrieval, started, _Emitter(events.put, cancelled)),
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

    def _answer_into(
        self, name: str, question: Question, retrieval: Retrieval, started: float, emit: _Emitter
    ) -> None:
        try:
            answer = self._answer(name, question, retrieval, started, emit)
        except Exception as e:  # a backend bug must not take the other answer down
            log.exception("%s crashed", name)
            answer = self._failed(name, f"{type(e).__name__}: {e}", retrieval, started)
        emit(Event(name, "answer", answer=replace(answer, label=self.label(name))))

    def _answer(
        self, name: str, question: Question, retrieval: Retrieval, started: float, emit: _Emitter
    ) -> Answer:
        slot = self._slots[name]
        if slot.generator is None:
            return self._failed(name, slot.unavailable or "unavailable", retrieval, started)
        generator = slot.generator
        plan = self._plan(name, generator, retrieval)
        if not plan.hits:
            signals = measure(hits=(), result=None, citations=(), dropped_markers=0, abstained=True)
            return Answer(
                generator=name,
                text=abstain_text(plan.privacy.withheld_count, generator.max_sensitivity),
                citations=(),
                timings=Timings(retrieval.seconds, None, time.perf_counter() - started),
                usage=Usage(0, 0, 0.0),
                privacy=plan.privacy,
                abstained=True,
                confidence=self._assessor.assess(name, signals),
            )
        history = history_for(generator, question.history)
        prompt = build_prompt(question.text, plan.hits, history=history)
        return self._generate(name, generator, prompt, plan.privacy, retrieval, started, emit)

    def _plan(self, name: str, generator: Generator, retrieval: Retrieval) -> _Plan:
        """The passages ``generator`` may read (best first, capped) and what that sends where."""
        allowed = tuple(h for h in retrieval.hits if may_receive(generator, h))
        withheld = len(retrieval.hits) - len(allowed)
        limit = self._slots[name].max_passages
        hits = allowed[:limit] if limit is not None else allowed
        privacy = Privacy(
            endpoint=generator.endpoint,
            off_premises=generator.off_premises and bool(hits),
            sent_chunk_ids=tuple(h.chunk.chunk_id for h in hits),
            withheld_count=withheld,
        )
        return _Plan(hits=hits, privacy=privacy)

    def _generate(
        self,
        name: str,
        generator: Generator,
        prompt: Prompt,
        privacy: Privacy,
        retrieval: Retrieval,
        started: float,
        emit: _Emitter,
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
        timings = Timings(retrieval.seconds, first, time.perf_counter() - started, result.queue_s)
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
        generator = self._generators.get(name)
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
