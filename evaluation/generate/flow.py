"""Writing a test set from an index's passages: answerable questions, then unanswerable ones.

Answerable: for each passage in turn, the strongest generator allowed to read it writes a
question and a short answer copied from it; the item is kept when it passes every filter of
:mod:`evaluation.generate.filters` (the round trip asks the same generator the question with the
passage alone, through the answering prompt every column uses).

Unanswerable: the writer is asked for a question on the passage's subject that the passage does
not answer. It is kept when retrieval over the whole index (a user in every group) finds the
passage's document among its hits (the question is near enough to reach retrieval), and when
each retrieved passage, given to the strongest generator allowed to read it, yields an
abstention (no retrieved passage holds an answer).

Every loop is bounded (at most ``attempts_per_item`` passages per wanted item, each passage once
per kind); a generation that fails is logged, counted and skipped.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from chat.citations import is_abstention
from chat.prompt import build_prompt
from core.domain import Chunk, Hit, User
from core.errors import DocduetError
from core.identity import UserDirectory
from core.prompt import Prompt
from core.protocols import Embedder, Generator, Retriever
from evaluation.generate.filters import (
    FILTERS,
    UNANSWERABLE_FILTERS,
    NearDuplicates,
    declines,
    names_passage,
    round_trip_matches,
    span_found,
)
from evaluation.generate.items import GeneratedItem
from evaluation.generate.prompts import parse_reply, task_prompt
from evaluation.generate.writers import asker_for, everyone, writer_for
from evaluation.scoring import strip_markers

log = logging.getLogger(__name__)

WRITE_TOKENS = 96
ANSWER_TOKENS = 64


@dataclass(frozen=True)
class Plan:
    """How many items of each kind to write, and from which passages."""

    answerable: int
    unanswerable: int
    attempts_per_item: int = 4
    min_passage_chars: int = 200


@dataclass
class Tally:
    """Counts of one kind: passages tried, kept, failed generations, and rejections per filter."""

    wanted: int
    attempted: int = 0
    kept: int = 0
    failed: int = 0
    no_writer: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "wanted": self.wanted,
            "attempted": self.attempted,
            "kept": self.kept,
            "generation_failed": self.failed,
            "no_generator_may_read": self.no_writer,
            "rejected_by": dict(self.rejected),
        }


class Rejected(Exception):
    """A candidate failed the named filter."""

    def __init__(self, name: str, detail: str = "") -> None:
        super().__init__(name)
        self.filter = name
        self.detail = detail


class Generation:
    """One run: its parts, the kept questions' de-duplication, and the counts per kind."""

    def __init__(
        self,
        generators: Mapping[str, Generator],
        order: Sequence[str],
        *,
        retriever: Retriever,
        embedder: Embedder | None,
        directory: UserDirectory,
        created: str,
        on_item: Callable[[GeneratedItem], None] | None = None,
    ) -> None:
        """``on_item`` is told of each item as it is kept (the command appends it to the file)."""
        self._on_item = on_item
        self.stopped = False
        """True when Ctrl-C stopped the run: what was kept so far is returned, and written."""
        self._generators = generators
        self._order = list(order)
        self._retriever = retriever
        self._directory = directory
        self._created = created
        self._distinct = NearDuplicates(embedder)

    def run(self, chunks: Sequence[Chunk], plan: Plan) -> tuple[list[GeneratedItem], dict[str, Tally]]:
        """Kept items (answerable first) and the counts of both kinds."""
        pool = candidates(chunks, plan.min_passage_chars)
        searcher = everyone(chunks)
        tallies = {"answerable": Tally(plan.answerable), "unanswerable": Tally(plan.unanswerable)}
        items = self._kind(pool, plan, tallies["answerable"], lambda c, w: self._answerable(c, w))
        items += self._kind(
            list(reversed(pool)),
            plan,
            tallies["unanswerable"],
            lambda c, w: self._unanswerable(c, w, searcher),
        )
        return items, tallies

    def _kind(
        self,
        pool: Sequence[Chunk],
        plan: Plan,
        tally: Tally,
        write: Callable[[Chunk, Generator], GeneratedItem],
    ) -> list[GeneratedItem]:
        kept: list[GeneratedItem] = []
        budget = min(len(pool), tally.wanted * plan.attempts_per_item)
        try:
            for chunk in pool[:budget]:
                if len(kept) >= tally.wanted or self.stopped:
                    break
                self._attempt(chunk, tally, write, kept)
        except KeyboardInterrupt:
            self.stopped = True
            log.warning("generate: interrupted; keeping the %d items written so far", len(kept))
        if len(kept) < tally.wanted and not self.stopped:
            log.warning(
                "generate: only %d of %d items kept within %d passages", len(kept), tally.wanted, budget
            )
        return kept

    def _attempt(
        self,
        chunk: Chunk,
        tally: Tally,
        write: Callable[[Chunk, Generator], GeneratedItem],
        kept: list[GeneratedItem],
    ) -> None:
        """Try one passage: keep its item, or count why not."""
        tally.attempted += 1
        writer = writer_for(chunk, self._generators, self._order)
        if writer is None:
            tally.no_writer += 1
            return
        try:
            kept.append(write(chunk, writer))
            tally.kept += 1
            if self._on_item is not None:
                self._on_item(kept[-1])
        except Rejected as e:
            tally.rejected[e.filter] += 1
            log.info("generate: %s rejected by %s: %s", chunk.source, e.filter, e.detail)
        except DocduetError as e:
            tally.failed += 1
            log.warning("generate: %s failed on %s: %s; skipped", writer.name, chunk.source, e)
        log.info(
            "generate: %d/%d kept after %d passages (%s)",
            len(kept),
            tally.wanted,
            tally.attempted,
            chunk.source,
        )

    def _answerable(self, chunk: Chunk, writer: Generator) -> GeneratedItem:
        hit = Hit(chunk, score=1.0)
        reply = _ask(writer, task_prompt(hit, answerable=True), WRITE_TOKENS)
        written = parse_reply(reply, answerable=True)
        if written is None or written.answer is None:
            raise Rejected("parsed", repr(reply[:200]))
        shown = f"{written.question!r} -> {written.answer!r}"
        if not span_found(written.answer, chunk.text):
            raise Rejected("span", shown)
        if names_passage(written.question):
            raise Rejected("standalone", shown)
        again = _ask(writer, build_prompt(written.question, [hit]), ANSWER_TOKENS)
        if is_abstention(again) or not round_trip_matches(strip_markers(again), written.answer):
            raise Rejected("round_trip", f"{shown}, answered {again[:120]!r}")
        if not self._distinct.admit(written.question):
            raise Rejected("distinct", shown)
        return self._item("a", written.question, written.answer, chunk, writer, FILTERS)

    def _unanswerable(self, chunk: Chunk, writer: Generator, searcher: User) -> GeneratedItem:
        hit = Hit(chunk, score=1.0)
        reply = _ask(writer, task_prompt(hit, answerable=False), WRITE_TOKENS)
        written = parse_reply(reply, answerable=False)
        if written is None:
            raise Rejected("parsed", repr(reply[:200]))
        shown = repr(written.question)
        if names_passage(written.question):
            raise Rejected("standalone", shown)
        hits = self._retriever.retrieve(written.question, user=searcher)
        if not any(_same_document(h.chunk, chunk) for h in hits):
            raise Rejected("reaches", shown)
        if not self._all_abstain(written.question, hits):
            raise Rejected("absent", shown)
        if not self._distinct.admit(written.question):
            raise Rejected("distinct", shown)
        return self._item("u", written.question, None, chunk, writer, UNANSWERABLE_FILTERS)

    def _all_abstain(self, question: str, hits: Sequence[Hit]) -> bool:
        """Whether every retrieved passage, read by the strongest generator allowed to, yields no answer."""
        by_writer: dict[str, list[Hit]] = defaultdict(list)
        for h in hits:
            reader = writer_for(h.chunk, self._generators, self._order)
            if reader is None:
                return False  # a passage nobody may check could hold the answer
            by_writer[reader.name].append(h)
        for name, mine in by_writer.items():
            reply = _ask(self._generators[name], build_prompt(question, mine), ANSWER_TOKENS)
            if not declines(reply):
                log.info("generate: %s found an answer to %r: %s", name, question, reply[:120])
                return False
        return True

    def _item(
        self,
        kind: str,
        question: str,
        answer: str | None,
        chunk: Chunk,
        writer: Generator,
        passed: tuple[str, ...],
    ) -> GeneratedItem:
        return GeneratedItem(
            item_id=f"{kind}-{chunk.chunk_id[:12]}",
            question=question,
            answer=answer,
            chunk=chunk,
            asker=asker_for(chunk, self._directory),
            generator=writer.name,
            filters=passed,
            created=self._created,
        )


def candidates(chunks: Sequence[Chunk], min_chars: int) -> list[Chunk]:
    """Passages long enough to ask about, one per document in turn (sources sorted), so a small
    set still spreads over the documents; a passage whose text another one already has (the same
    file under two folders) is asked about once."""
    by_source: dict[str, list[Chunk]] = defaultdict(list)
    seen: set[str] = set()
    for chunk in sorted(chunks, key=lambda c: (c.source, c.index)):
        text = " ".join(chunk.text.split())
        if len(text) >= min_chars and text not in seen:
            seen.add(text)
            by_source[chunk.source].append(chunk)
    queues = list(by_source.values())
    depth = max((len(q) for q in queues), default=0)
    return [q[i] for i in range(depth) for q in queues if i < len(q)]


def _same_document(found: Chunk, written_from: Chunk) -> bool:
    """The same file: its source, or the same content (a copy of it under another folder)."""
    return found.source == written_from.source or found.content_hash == written_from.content_hash


def _ask(generator: Generator, prompt: Prompt, max_tokens: int) -> str:
    return generator.stream(prompt, max_tokens=max_tokens).collect().text
