"""Trustworthy citations: parse ``[n]`` markers, verify them, attribute unmarked answers.

Every cited sentence is checked against the passage it cites. Markers that point to no passage
or to one that does not support the sentence are dropped from the text and reported. A sentence
left without a valid marker that way, and every sentence of an answer without any marker (small
models rarely write them), is attributed to its best supporting passage when the support clears
a threshold; those citations say ``attributed=True`` and their marker is inserted in the text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial

from chat.support import LexicalSupport, SupportScorer, content_words, overlap_f1
from core.domain import Citation
from core.prompt import ABSTAIN_TEXT, ContextBlock

_NUM = r"\d{1,4}"
MARKER_RE = re.compile(rf"\[\s*{_NUM}(?:\s*(?:[,;–-]|and)\s*{_NUM})*\s*\]")
_SENTENCE_END = re.compile(rf"[.!?]+[\"'”’)]*(?:[ \t]*{MARKER_RE.pattern})*(?=\s|$)|\n+")
_ABBREVIATIONS = frozenset({"e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "no", "fig", "pp"})
_MAX_RANGE = 20


@dataclass(frozen=True)
class CitationPolicy:
    """Thresholds on the scorer's scale (defaults: lexical recall of content words)."""

    min_support: float = 0.5
    """A marker is kept when its passage supports the sentence at least this much."""
    min_attribution: float = 0.6
    """An unmarked sentence is attributed to its best passage at or above this support."""
    min_claim_words: int = 2
    """Sentences with fewer content words ("Sure.") are never attributed."""
    better_by: float = 0.2
    """A kept marker moves to another passage that supports the sentence this much better."""


@dataclass(frozen=True)
class Sentence:
    """One answer sentence: its span in the text, its words without markers, what it cites."""

    start: int
    end: int
    claim: str
    numbers: tuple[int, ...]


@dataclass(frozen=True)
class CitedAnswer:
    """The cleaned answer text with verified (or attributed) citations."""

    text: str
    citations: tuple[Citation, ...]
    flagged_markers: tuple[int, ...]
    abstained: bool


def marker_numbers(marker: str) -> tuple[int, ...]:
    """Numbers in one marker: ``[2]`` -> (2,), ``[1, 3]`` -> (1, 3), ``[2-4]`` -> (2, 3, 4)."""
    numbers: list[int] = []
    for part in re.split(r"\s*(?:[,;]|and)\s*", marker.strip("[] \t")):
        low, _, high = re.sub(r"\s+", "", part).replace("–", "-").partition("-")
        if not low.isdigit():
            continue
        stop = int(high) if high.isdigit() else int(low)
        numbers.extend(range(int(low), min(stop, int(low) + _MAX_RANGE) + 1))
    return tuple(dict.fromkeys(numbers))


def split_sentences(text: str) -> list[Sentence]:
    """Sentences with the markers that follow their final punctuation attached to them."""
    sentences: list[Sentence] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if _is_abbreviation(text, match.start()):
            continue
        _append_sentence(sentences, text, start, match.end())
        start = match.end()
    _append_sentence(sentences, text, start, len(text))
    return sentences


def _is_abbreviation(text: str, dot: int) -> bool:
    if text[dot] != ".":
        return False
    word = re.search(r"([\w.]+)$", text[:dot])
    if not word:
        return False
    token = word.group(1).lower()
    return token in _ABBREVIATIONS or (len(token) == 1 and token.isalpha())


def _append_sentence(out: list[Sentence], text: str, start: int, end: int) -> None:
    span = text[start:end]
    if not span.strip():
        return
    numbers = tuple(n for m in MARKER_RE.finditer(span) for n in marker_numbers(m.group(0)))
    claim = re.sub(r"\s+([.,;:!?])", r"\1", " ".join(MARKER_RE.sub(" ", span).split()))
    out.append(Sentence(start, end, claim, tuple(dict.fromkeys(numbers))))


def is_abstention(text: str) -> bool:
    """True for the abstain sentence (or a bare "I don't know"), whatever its quotes/markers."""
    norm = " ".join(MARKER_RE.sub(" ", text).replace("’", "'").lower().split()).strip(' .!"')
    core = ABSTAIN_TEXT.lower().rstrip(".")
    return norm.startswith(core) or norm in ("i don't know", "i do not know")


def cite(
    answer: str,
    blocks: Sequence[ContextBlock],
    *,
    scorer: SupportScorer | None = None,
    policy: CitationPolicy | None = None,
) -> CitedAnswer:
    """Verify the markers in ``answer`` against ``blocks``; attribute sentences left without one."""
    scorer = scorer or LexicalSupport()
    policy = policy or CitationPolicy()
    sentences = split_sentences(answer)
    if is_abstention(answer):
        dropped = sorted({n for s in sentences for n in s.numbers})
        return CitedAnswer(ABSTAIN_TEXT, (), tuple(dropped), abstained=True)
    marked = any(s.numbers for s in sentences)
    found: dict[int, Citation] = {}
    flagged: set[int] = set()
    parts: list[str] = []
    cursor = 0
    for sentence in sentences:
        span, citations, rejected = _cite_sentence(
            answer[sentence.start : sentence.end], sentence, blocks, scorer, policy, marked
        )
        parts += [answer[cursor : sentence.start], span]
        cursor = sentence.end
        flagged |= rejected
        for citation in citations:
            _keep_best(found, citation)
    parts.append(answer[cursor:])
    return CitedAnswer(_tidy("".join(parts)), _ordered(found), tuple(sorted(flagged)), abstained=False)


def _cite_sentence(
    span: str,
    sentence: Sentence,
    blocks: Sequence[ContextBlock],
    scorer: SupportScorer,
    policy: CitationPolicy,
    marked: bool,
) -> tuple[str, list[Citation], set[int]]:
    """One sentence's rewritten text, its citations and the marker numbers it lost.

    Every passage is scored against the sentence once. A marker to a passage that supports the
    sentence clearly less (``policy.better_by``) than another passage is treated as wrong: the
    citation moves to the better one, marked as attributed.
    """
    support = scorer.score(sentence.claim, [b.text for b in blocks]) if blocks else []
    scores = {b.number: s for b, s in zip(blocks, support, strict=True)}
    verified, rejected = _verify(sentence, {b.number: b for b in blocks}, scores, scorer, policy)
    if verified and max(scores.values()) - max(scores[c.number] for c in verified) >= policy.better_by:
        rejected |= {c.number for c in verified}
        verified = []
    keep = {c.number for c in verified}
    span = MARKER_RE.sub(partial(_marker, keep=keep), span)
    if keep or (marked and not sentence.numbers):  # cited, or left uncited on purpose
        return span, verified, rejected
    attributed = _attribute(sentence, blocks, scores, scorer, policy)
    if attributed is None:
        return span, verified, rejected
    return _insert_marker(span, attributed.number), [attributed], rejected


def _verify(
    sentence: Sentence,
    by_number: dict[int, ContextBlock],
    scores: dict[int, float],
    scorer: SupportScorer,
    policy: CitationPolicy,
) -> tuple[list[Citation], set[int]]:
    """Citations for the sentence's markers that hold, and the numbers that do not."""
    rejected = {n for n in sentence.numbers if n not in by_number}
    verified: list[Citation] = []
    for number in (n for n in sentence.numbers if n in by_number):
        if scores[number] < policy.min_support:
            rejected.add(number)
        else:
            verified.append(_citation(by_number[number], sentence.claim, scores[number], scorer))
    return verified, rejected


def _attribute(
    sentence: Sentence,
    blocks: Sequence[ContextBlock],
    scores: dict[int, float],
    scorer: SupportScorer,
    policy: CitationPolicy,
) -> Citation | None:
    """The best-supporting passage for an uncited sentence, when it clears the threshold."""
    if not blocks or len(content_words(sentence.claim)) < policy.min_claim_words:
        return None
    best = max(range(len(blocks)), key=lambda i: (scores[blocks[i].number], -i))
    support = scores[blocks[best].number]
    if support < policy.min_attribution:
        return None
    return replace(_citation(blocks[best], sentence.claim, support, scorer), attributed=True)


def _marker(match: re.Match[str], keep: set[int]) -> str:
    kept = [n for n in marker_numbers(match.group(0)) if n in keep]
    return "".join(f"[{n}]" for n in kept)


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+([.,;:!?])", r"\1", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


def _insert_marker(span: str, number: int) -> str:
    """``"It is 40 EUR."`` -> ``"It is 40 EUR [2]."``; keeps trailing punctuation and space."""
    body = span.rstrip()
    trail = span[len(body) :]
    match = re.search(r"[.!?]+[\"'”’)]*$", body)
    cut = match.start() if match else len(body)
    return f"{body[:cut].rstrip()} [{number}]{body[cut:]}{trail}"


def _citation(block: ContextBlock, claim: str, support: float, scorer: SupportScorer) -> Citation:
    chunk = block.hit.chunk
    return Citation(
        number=block.number,
        source=chunk.source,
        title=chunk.title,
        section=chunk.section,
        page=chunk.page,
        snippet=best_snippet(claim, block.text, scorer),
        support=round(support, 3),
    )


def best_snippet(claim: str, passage: str, scorer: SupportScorer | None = None) -> str:
    """The passage sentence that best supports ``claim`` (ties: the tighter lexical match)."""
    candidates = [passage[s.start : s.end].strip() for s in split_sentences(passage)]
    candidates = [c for c in candidates if c] or [passage.strip()]
    scores = (scorer or LexicalSupport()).score(claim, candidates)
    best = max(range(len(candidates)), key=lambda i: (scores[i], overlap_f1(claim, candidates[i])))
    return candidates[best]


def _keep_best(found: dict[int, Citation], citation: Citation) -> None:
    current = found.get(citation.number)
    if current is None or citation.support > current.support:
        found[citation.number] = citation


def _ordered(found: dict[int, Citation]) -> tuple[Citation, ...]:
    return tuple(found[n] for n in sorted(found))
