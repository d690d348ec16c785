"""A focused context: each passage cut to the sentences that answer the question, under a budget.

A retrieved chunk holds up to what the embedder reads (254 word pieces for all-MiniLM-L6-v2),
often several topics, and a local model pays for every token of it before its first word. With
a generator's ``context_tokens`` set, its passages are cut to about that many tokens in all:

1. Each passage is split into sentences (:func:`chat.citations.split_sentences`); a sentence
   longer than :data:`MAX_UNIT_TOKENS` is cut at word boundaries into spans of that size.
2. Each sentence is scored by the question's content words it holds, each weighed by how few of
   the passages' sentences hold it (BM25 over the sentences, :mod:`chat.support`'s words).
3. Every passage, best-ranked first, gets its best sentence; then the best remaining sentences
   of any passage; then the sentences next to those kept, best passage first: each only while
   the budget holds.
4. A sentence comes with the neighbour it needs: the one before it when it opens with a word that
   points back ("It", "This", "However"...) or continues a cut sentence, the one after it when
   it ends with a colon (a list follows) or was cut.

Kept sentences keep their order; a gap between them is shown as a line ``…``. Passage numbers, titles
and sections do not change, so a citation points where it did; it is verified against the cut
text, which is what the model read. Tokens are estimated as characters / :data:`CHARS_PER_TOKEN`
(the budget is approximate, and counts the passages' text, not their header lines).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from chat.citations import split_sentences
from chat.support import content_words
from core.prompt import ContextBlock

CHARS_PER_TOKEN = 4.0
"""Characters per model token in English prose (Qwen 2.5 and Gemma 3 average 4.2-4.5)."""
MAX_UNIT_TOKENS = 48
"""Longest span kept or dropped as one: a longer sentence is cut at word boundaries."""
MIN_CONTEXT_TOKENS = MAX_UNIT_TOKENS
"""The smallest budget: the best passage's best span always fits."""
GAP = "\n…\n"
"""What stands where sentences were left out: a line of its own, so no sentence of the passage (a
citation's snippet, :func:`chat.citations.best_snippet`) runs into it."""
MAX_CHAIN = 3
"""At most this many neighbours are pulled in on each side of a sentence."""
_BM25_K1 = 1.2
_BM25_B = 0.75
_REFERS_BACK_TEXT = """
    it its this that these those they their them theirs he she his her him such however but also
    thus therefore then both otherwise instead moreover furthermore additionally likewise
    similarly meanwhile afterwards later hence so and or nor yet
"""
_REFERS_BACK = frozenset(_REFERS_BACK_TEXT.split())
"""First words of a sentence that lean on the one before it."""
_FIRST_WORD = re.compile(r"[^\W\d_]+")
_SENTENCE_END = re.compile(r"[.!?…;][\"'”’)\]]*$")


def estimate_tokens(text: str) -> int:
    """About how many model tokens ``text`` is."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass(frozen=True)
class _Unit:
    """One sentence (or span of a long one) of a passage: where it lies and how well it matches."""

    block: int
    position: int
    start: int
    end: int
    score: float = 0.0

    @property
    def cost(self) -> int:
        """Its estimated tokens, plus one for the join or gap (a line ``…``: 3 characters) before it."""
        return math.ceil((self.end - self.start) / CHARS_PER_TOKEN) + 1


def focus_blocks(question: str, blocks: Sequence[ContextBlock], budget: int) -> tuple[ContextBlock, ...]:
    """``blocks`` cut to the sentences that best answer ``question``, about ``budget`` tokens in all.

    Blocks that already fit are returned unchanged. A block none of whose sentences fits is left
    out; the others keep their numbers.
    """
    if budget < MIN_CONTEXT_TOKENS:
        raise ValueError(f"a context budget is at least {MIN_CONTEXT_TOKENS} tokens, got {budget}")
    if sum(estimate_tokens(b.text) for b in blocks) <= budget:
        return tuple(blocks)
    units = [_units(i, b.text) for i, b in enumerate(blocks)]
    scored = _scored(question, units, [b.text for b in blocks])
    kept = _Selection(scored, [b.text for b in blocks], budget).choose()
    out = []
    for i, block in enumerate(blocks):
        if kept[i]:
            out.append(replace(block, text=_render(block.text, scored[i], kept[i])))
    return tuple(out)


def _units(block: int, text: str) -> list[_Unit]:
    """The sentences of ``text`` (trimmed spans), long ones cut into spans of MAX_UNIT_TOKENS."""
    units: list[_Unit] = []
    for sentence in split_sentences(text):
        span = text[sentence.start : sentence.end]
        start = sentence.start + len(span) - len(span.lstrip())
        end = sentence.start + len(span.rstrip())
        for a, b in _cut(text, start, end):
            units.append(_Unit(block, len(units), a, b))
    return units


def _cut(text: str, start: int, end: int) -> Iterable[tuple[int, int]]:
    """``text[start:end]`` in spans of at most MAX_UNIT_TOKENS, cut after a space when one is near."""
    limit = int((MAX_UNIT_TOKENS - 1) * CHARS_PER_TOKEN)  # with its join, it costs MAX_UNIT_TOKENS
    while end - start > limit:
        space = text.rfind(" ", start + limit // 2, start + limit)
        cut = space if space > start else start + limit
        yield start, cut
        start = cut + 1 if space > start else cut
        while start < end and text[start].isspace():
            start += 1
    if end > start:
        yield start, end


def _scored(question: str, units: list[list[_Unit]], texts: Sequence[str]) -> list[list[_Unit]]:
    """Each unit with its BM25 score for the question's content words (presence, not counts)."""
    asked = content_words(question)
    words = [[content_words(texts[u.block][u.start : u.end]) for u in own] for own in units]
    flat = [w for own in words for w in own]
    if not flat:
        return units
    count = len(flat)
    average = sum(len(w) for w in flat) / count or 1.0
    idf = {w: math.log(1 + (count - df + 0.5) / (df + 0.5)) for w in asked if (df := _df(w, flat))}
    out = []
    for own, own_words in zip(units, words, strict=True):
        row = []
        for unit, held in zip(own, own_words, strict=True):
            norm = 1 - _BM25_B + _BM25_B * len(held) / average
            score = sum(idf[w] * (_BM25_K1 + 1) / (1 + _BM25_K1 * norm) for w in asked & held if w in idf)
            row.append(replace(unit, score=score))
        out.append(row)
    return out


def _df(word: str, held: Sequence[set[str]]) -> int:
    return sum(word in h for h in held)


class _Selection:
    """Which units of each block are kept, chosen in three rounds while the budget holds."""

    def __init__(self, units: list[list[_Unit]], texts: Sequence[str], budget: int) -> None:
        self._units = units
        self._texts = texts
        self._left = budget
        self.kept: list[set[int]] = [set() for _ in units]

    def choose(self) -> list[set[int]]:
        for own in self._units:  # 1. each passage's best sentence, best-ranked passage first
            if own:
                best = max(own, key=lambda u: (u.score, -u.position))
                if not self._take(best):
                    self._take(best, alone=True)
        matching = [u for own in self._units for u in own if u.score > 0]
        for unit in sorted(matching, key=lambda u: (-u.score, u.block, u.position)):  # 2. the others
            self._take(unit)
        for _ in range(max((len(own) for own in self._units), default=0)):  # 3. their neighbours
            if not self._grow():
                break
        return self.kept

    def _take(self, unit: _Unit, *, alone: bool = False) -> bool:
        """Keep ``unit`` (with the neighbours it needs unless ``alone``) if it fits; True if kept."""
        group = [unit] if alone else self._with_neighbours(unit)
        new = [u for u in group if u.position not in self.kept[u.block]]
        cost = sum(u.cost for u in new)
        if not new or cost > self._left:
            return False
        self._left -= cost
        self.kept[unit.block].update(u.position for u in new)
        return True

    def _grow(self) -> bool:
        """Keep the next unit before or after each kept run, best passage first; True if any fit."""
        grown = False
        for b, own in enumerate(self._units):
            near = sorted({p + d for p in self.kept[b] for d in (1, -1)} - self.kept[b])
            for position in (p for p in near if 0 <= p < len(own)):
                grown = self._take(own[position]) or grown
        return grown

    def _with_neighbours(self, unit: _Unit) -> list[_Unit]:
        own, text = self._units[unit.block], self._texts[unit.block]
        group = [unit]
        before = unit.position
        while (
            before > 0
            and unit.position - before < MAX_CHAIN
            and _leans_back(text, own[before - 1], own[before])
        ):
            before -= 1
            group.insert(0, own[before])
        after = unit.position
        while (
            after + 1 < len(own)
            and after - unit.position < MAX_CHAIN
            and _leans_on_next(text, own[after], own[after + 1])
        ):
            after += 1
            group.append(own[after])
        return group


def _leans_back(text: str, previous: _Unit, unit: _Unit) -> bool:
    """Whether ``unit`` needs ``previous`` to be understood: it continues it, or points back."""
    if _continues(text, previous, unit):
        return True
    body = text[unit.start : unit.end]
    first = _FIRST_WORD.match(body)
    return first is not None and first.group(0).lower() in _REFERS_BACK


def _leans_on_next(text: str, unit: _Unit, following: _Unit) -> bool:
    """Whether ``unit`` needs ``following``: it introduces a list, or was cut mid-sentence."""
    return text[unit.start : unit.end].endswith(":") or _continues(text, unit, following)


def _continues(text: str, previous: _Unit, unit: _Unit) -> bool:
    """True when ``unit`` carries on ``previous``'s sentence (same line, no sentence end between)."""
    between = text[previous.end : unit.start]
    if "\n" in between:
        return False
    body = text[unit.start : unit.end]
    return not _SENTENCE_END.search(text[previous.start : previous.end]) or body[:1].islower()


def _render(text: str, units: Sequence[_Unit], kept: set[int]) -> str:
    """The kept units in order: consecutive ones as the text has them, gaps as a line ``…``."""
    runs: list[tuple[int, int]] = []
    for position in sorted(kept):
        if runs and runs[-1][1] == position - 1:
            runs[-1] = (runs[-1][0], position)
        else:
            runs.append((position, position))
    parts = [text[units[a].start : units[b].end] for a, b in runs]
    body = GAP.join(parts)
    if runs[0][0] > 0:
        body = GAP.lstrip() + body
    if runs[-1][1] < len(units) - 1:
        body += GAP.rstrip()
    return body
