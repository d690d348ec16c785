"""Writing a test set from an index's passages: answerable questions, then unanswerable ones.

Answerable: for each passage in turn, the strongest generator allowed to read it writes up to
three questions, each with a short answer copied from it; an item is kept when it passes every
filter of :mod:`evaluation.generate.filters` (the round trip asks the same generator the question
with the passage alone, through the answering prompt every column uses).

Unanswerable: the writer is given a kept answerable question with its passage and asked to
rewrite it about another name, place, number or date of the same kind. It is kept when it drops a
name of the question it came from and brings in one that no passage of the index contains (so no
passage can answer it: a check on the index's own words, not on a model), when retrieval over the
whole index (a user in every group) finds the passage's document among its hits (the question is
near enough to reach retrieval), and when it is no near-duplicate.

Passages go in batches: every passage of a batch is written first, then every candidate is
checked. A local model keeps the head of the last prompt it read, so the writing instructions are
read once per batch, and so are the answering instructions and examples of the checks (the round
trips of one passage's questions also share the passage). Alternating between the two prompts
re-read both heads for every passage.

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
    index_words,
    leaks,
    names,
    names_passage,
    round_trip_matches,
    span_found,
    swapped,
)
from evaluation.generate.items import GeneratedItem
from evaluation.generate.prompts import (
    ANSWERABLE_PER_PASSAGE,
    UNANSWERABLE_PER_PASSAGE,
    Written,
    parse_replies,
    parse_reply,
    swap_prompt,
    task_prompt,
)
from evaluation.generate.writers import asker_for, everyone, writer_for
from evaluation.scoring import strip_markers

log = logging.getLogger(__name__)

WRITE_TOKENS_PER_QUESTION = 64
ANSWER_TOKENS = 64
BATCH_PASSAGES = 8
"""Passages written before their candidates are checked (fewer when fewer items are missing)."""


@dataclass(frozen=True)
class Plan:
    """How many items of each kind to write, and from which passages."""

    answerable: int
    unanswerable: int
    attempts_per_item: int = 4
    min_passage_chars: int = 200
    batch_passages: int = BATCH_PASSAGES


@dataclass
class Tally:
    """Counts of one kind. Passages: ``attempted`` = ``drafted`` (gave questions) + rejected by
    ``parsed`` + ``failed`` (the writing failed) + ``no_writer``. Questions: ``written`` = ``kept``
    + rejected by the other filters + ``check_failed`` + ``unchecked`` (enough were kept before
    their turn)."""

    wanted: int
    attempted: int = 0
    drafted: int = 0
    written: int = 0
    kept: int = 0
    failed: int = 0
    check_failed: int = 0
    unchecked: int = 0
    no_writer: int = 0
    rejected: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "wanted": self.wanted,
            "attempted": self.attempted,
            "passages_with_questions": self.drafted,
            "questions_written": self.written,
            "kept": self.kept,
            "generation_failed": self.failed,
            "check_failed": self.check_failed,
            "not_checked": self.unchecked,
            "no_generator_may_read": self.no_writer,
            "rejected_by": dict(self.rejected),
        }


class Rejected(Exception):
    """A candidate failed the named filter."""

    def __init__(self, name: str, detail: str = "") -> None:
        super().__init__(name)
        self.filter = name
        self.detail = detail


@dataclass(frozen=True)
class Candidate:
    """A question written from ``chunk`` by ``writer``, not yet checked."""

    chunk: Chunk
    writer: Generator
    question: str
    answer: str | None
    number: int
    """Its place among its passage's questions, from 1 (the item id of the second and later ends in -N)."""
    original: str | None = None
    """An unanswerable question's answerable question, the one it was rewritten from."""


def _candidates(chunk: Chunk, writer: Generator, written: Sequence[Written], reply: str) -> list[Candidate]:
    if not written:
        raise Rejected("parsed", repr(reply[:200]))
    return [Candidate(chunk, writer, w.question, w.answer, n) for n, w in enumerate(written, start=1)]


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
        self._distinct = {"a": NearDuplicates(embedder), "u": NearDuplicates(embedder)}
        """One per kind: an unanswerable question is its answerable one with a name swapped (close)."""
        self._words: frozenset[str] = frozenset()
        self._kept_questions: dict[str, list[str]] = defaultdict(list)

    def run(self, chunks: Sequence[Chunk], plan: Plan) -> tuple[list[GeneratedItem], dict[str, Tally]]:
        """Kept items (answerable first) and the counts of both kinds."""
        pool = candidates(chunks, plan.min_passage_chars)
        searcher = everyone(chunks)
        self._words = index_words(c.text for c in chunks)
        tallies = {"answerable": Tally(plan.answerable), "unanswerable": Tally(plan.unanswerable)}
        items = self._kind(pool, plan, tallies["answerable"], self._draft_answerable, self._answerable)
        named = [item for item in items if names(item.question)]  # something to swap
        for item in named:
            self._kept_questions[item.chunk.chunk_id].append(item.question)
        answered = list({item.chunk.chunk_id: item.chunk for item in named}.values())
        if plan.unanswerable and not answered:
            log.warning(
                "generate: no kept answerable question names a name, place, number or date, "
                "so none can be rewritten as unanswerable"
            )
        items += self._kind(
            answered,
            plan,
            tallies["unanswerable"],
            self._draft_unanswerable,
            lambda candidate: self._unanswerable(candidate, searcher),
        )
        return items, tallies

    def _kind(
        self,
        pool: Sequence[Chunk],
        plan: Plan,
        tally: Tally,
        draft: Callable[[Chunk, Generator], list[Candidate]],
        check: Callable[[Candidate], GeneratedItem],
    ) -> list[GeneratedItem]:
        """Batches of passages: each passage's questions written, then each question checked."""
        kept: list[GeneratedItem] = []
        budget = min(len(pool), tally.wanted * plan.attempts_per_item)
        queue = list(pool[:budget])
        try:
            while queue and len(kept) < tally.wanted and not self.stopped:
                size = max(1, min(plan.batch_passages, tally.wanted - len(kept)))
                batch, queue = queue[:size], queue[size:]
                written = [c for chunk in batch for c in self._draft(chunk, tally, draft)]
                for done, candidate in enumerate(written):
                    if len(kept) >= tally.wanted:
                        tally.unchecked += len(written) - done
                        break
                    self._check(candidate, tally, check, kept)
        except KeyboardInterrupt:
            self.stopped = True
            log.warning("generate: interrupted; keeping the %d items written so far", len(kept))
        if len(kept) < tally.wanted and not self.stopped:
            log.warning(
                "generate: only %d of %d items kept within %d passages", len(kept), tally.wanted, budget
            )
        return kept

    def _draft(
        self, chunk: Chunk, tally: Tally, draft: Callable[[Chunk, Generator], list[Candidate]]
    ) -> list[Candidate]:
        """One passage's written questions; none when nobody may read it, or its writing failed."""
        tally.attempted += 1
        writer = writer_for(chunk, self._generators, self._order)
        if writer is None:
            tally.no_writer += 1
            return []
        try:
            written = draft(chunk, writer)
        except Rejected as e:
            tally.rejected[e.filter] += 1
            log.info("generate: %s rejected by %s: %s", chunk.source, e.filter, e.detail)
        except DocduetError as e:
            tally.failed += 1
            log.warning("generate: %s failed on %s: %s; skipped", writer.name, chunk.source, e)
        else:
            tally.drafted += 1
            tally.written += len(written)
            return written
        return []

    def _check(
        self,
        candidate: Candidate,
        tally: Tally,
        check: Callable[[Candidate], GeneratedItem],
        kept: list[GeneratedItem],
    ) -> None:
        """Keep one written question, or count why not."""
        source = candidate.chunk.source
        try:
            kept.append(check(candidate))
        except Rejected as e:
            tally.rejected[e.filter] += 1
            log.info("generate: %s rejected by %s: %s", source, e.filter, e.detail)
            return
        except DocduetError as e:
            tally.check_failed += 1
            log.warning("generate: %s failed on %s: %s; skipped", candidate.writer.name, source, e)
            return
        tally.kept += 1
        if self._on_item is not None:
            self._on_item(kept[-1])
        log.info(
            "generate: %d/%d kept after %d passages (%s)", len(kept), tally.wanted, tally.attempted, source
        )

    def _draft_answerable(self, chunk: Chunk, writer: Generator) -> list[Candidate]:
        reply = _ask(
            writer,
            task_prompt(Hit(chunk, 1.0)),
            WRITE_TOKENS_PER_QUESTION * ANSWERABLE_PER_PASSAGE,
        )
        return _candidates(chunk, writer, parse_replies(reply, answerable=True), reply)

    def _draft_unanswerable(self, chunk: Chunk, writer: Generator) -> list[Candidate]:
        written = []
        for number, original in enumerate(self._kept_questions[chunk.chunk_id][:UNANSWERABLE_PER_PASSAGE], 1):
            reply = _ask(writer, swap_prompt(original), WRITE_TOKENS_PER_QUESTION)
            found = parse_reply(reply, answerable=False)
            if found is not None:
                written.append(Candidate(chunk, writer, found.question, None, number, original))
        if not written:
            raise Rejected("parsed", f"no rewritten question for {chunk.source}")
        return written

    def _answerable(self, candidate: Candidate) -> GeneratedItem:
        chunk, writer, question, answer = (
            candidate.chunk,
            candidate.writer,
            candidate.question,
            candidate.answer,
        )
        shown = f"{question!r} -> {answer!r}"
        if answer is None:  # parse_replies gives every answerable question its answer
            raise Rejected("parsed", shown)
        if not span_found(answer, chunk.text):
            raise Rejected("span", shown)
        if leaks(answer, question):
            raise Rejected("leak", shown)
        if names_passage(question):
            raise Rejected("standalone", shown)
        again = _ask(writer, build_prompt(question, [Hit(chunk, score=1.0)]), ANSWER_TOKENS)
        if is_abstention(again) or not round_trip_matches(strip_markers(again), answer):
            raise Rejected("round_trip", f"{shown}, answered {again[:120]!r}")
        if not self._distinct["a"].admit(question):
            raise Rejected("distinct", shown)
        return self._item("a", candidate, FILTERS)

    def _unanswerable(self, candidate: Candidate, searcher: User) -> GeneratedItem:
        shown = f"{candidate.original!r} -> {candidate.question!r}"
        if names_passage(candidate.question):
            raise Rejected("standalone", shown)
        if not swapped(candidate.original or "", candidate.question, self._words):
            raise Rejected("swapped", shown)
        hits = self._retriever.retrieve(candidate.question, user=searcher)
        if not any(_same_document(h.chunk, candidate.chunk) for h in hits):
            raise Rejected("reaches", shown)
        if not self._distinct["u"].admit(candidate.question):
            raise Rejected("distinct", shown)
        return self._item("u", candidate, UNANSWERABLE_FILTERS)

    def _item(self, kind: str, candidate: Candidate, passed: tuple[str, ...]) -> GeneratedItem:
        chunk, number = candidate.chunk, candidate.number
        return GeneratedItem(
            item_id=f"{kind}-{chunk.chunk_id[:12]}" + (f"-{number}" if number > 1 else ""),
            question=candidate.question,
            answer=candidate.answer,
            chunk=chunk,
            asker=asker_for(chunk, self._directory),
            generator=candidate.writer.name,
            filters=passed,
            created=self._created,
        )


def candidates(chunks: Sequence[Chunk], min_chars: int, *, backwards: bool = False) -> list[Chunk]:
    """Passages long enough to ask about, one per document in turn (sources sorted), so a small
    set still spreads over the documents; a passage whose text another one already has (the same
    file under two folders) is asked about once. ``backwards``: the documents and each document's
    passages from the last, still one document in turn (the unanswerable questions start where the
    answerable ones end, and a long document does not fill the list's tail)."""
    by_source: dict[str, list[Chunk]] = defaultdict(list)
    seen: set[str] = set()
    for chunk in sorted(chunks, key=lambda c: (c.source, c.index)):
        text = " ".join(chunk.text.split())
        if len(text) >= min_chars and text not in seen:
            seen.add(text)
            by_source[chunk.source].append(chunk)
    queues = list(by_source.values())
    if backwards:
        queues = [list(reversed(q)) for q in reversed(queues)]
    depth = max((len(q) for q in queues), default=0)
    return [q[i] for i in range(depth) for q in queues if i < len(q)]


def _same_document(found: Chunk, written_from: Chunk) -> bool:
    """The same file: its source, or the same content (a copy of it under another folder)."""
    return found.source == written_from.source or found.content_hash == written_from.content_hash


def _ask(generator: Generator, prompt: Prompt, max_tokens: int) -> str:
    return generator.stream(prompt, max_tokens=max_tokens).collect().text
