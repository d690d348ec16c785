"""The quality filters a generated question must pass, each a small pure check.

- ``span``: the gold answer occurs in the passage (both SQuAD-normalised: case, punctuation,
  articles and spacing do not matter);
- ``leak``: the gold answer is not part of the question itself ("What is the name of the incident
  lead?" -> "Incident Lead"): a passage that names a role but not who holds it;
- ``standalone``: the question does not point at the passage ("according to the text", "in this
  document", "the passage"), which a user of the chat could never say;
- ``round_trip``: the writer, asked the question with the passage alone, answers with the gold
  (it contains the gold, or reaches a token F1 of :data:`ROUND_TRIP_F1`);
- ``swapped`` (unanswerable questions): the rewritten question drops a name, place, number or date
  of the answerable one it came from and brings in one that no passage of the index contains, so
  no passage can answer it;
- ``distinct``: no earlier kept question is a near-duplicate (cosine similarity of the
  embedder's query vectors at least :data:`DUPLICATE_COSINE`, or, for an embedder-less check,
  the same normalised words).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from chat.citations import is_abstention
from core.protocols import Embedder
from evaluation.metrics import contains_gold, normalize_answer, token_f1

FILTERS = ("parsed", "span", "leak", "standalone", "round_trip", "distinct")
"""Answerable questions' filters, in the order they run (``parsed``: the reply had the lines)."""
UNANSWERABLE_FILTERS = ("parsed", "standalone", "swapped", "reaches", "distinct")
"""Unanswerable questions' filters: ``swapped`` (it asks about a name, place, number or date that
no passage contains, instead of one its answerable question named) and ``reaches`` (retrieval
over the whole index finds the document it was written from)."""

ROUND_TRIP_F1 = 0.5
DUPLICATE_COSINE = 0.92
_NAMES_PASSAGE_RE = re.compile(
    r"\b(?:according to|based on|in|from|per|by|within|of)\s+(?:the|this|that|these|above|given|provided)"
    r"\s+(?:\w+\s+)?(?:text|passage|document|documents|excerpt|paragraph|context|article|section|snippet)s?\b"
    r"|\b(?:the|this)\s+(?:given|provided|above)\s+(?:text|passage|document|excerpt|context)\b"
    r"|\b(?:passage|excerpt|snippet)\b"
    r"|\b(?:this|these)\s+(?:\w+\s+)?(?:text|document|policy|policies|guide|handbook|memo|e-?mail|page|file|"
    r"sheet|spreadsheet|table|report|runbook|minutes|notes|procedure|article|section)s?\b",
    re.I,
)
"""A question that points at its passage: "according to the text", "in the provided document", or
a document it calls "this" ("When does this policy take effect?", "Who reviewed this document?"):
asked in the chat, with no passage in front of the asker, it has no one answer."""


_ENTITY_RE = re.compile(r"\b(?:\d[\d,.:/-]*\d|\d|[A-Z][\w'’&-]*)")
_WORD_RE = re.compile(r"\d[\d,.:/-]*\d|[\w'’&-]+")
_QUESTION_WORDS = (
    "what who whom whose when where which why how is are was were do does did can could should "
    "will would may might must the a an in on at for of to if i my our we"
)
_NOT_NAMES = frozenset(_QUESTION_WORDS.split())
"""Capitalised at the start of a question, but no name."""


def _token(word: str) -> str:
    word = word.lower().strip("'’-&.,:/")
    for possessive in ("'s", "’s"):
        word = word.removesuffix(possessive)
    return word.replace(",", "") if word[:1].isdigit() else word


def names(question: str) -> set[str]:
    """The names, places, numbers and dates of a question (capitalised words and numbers, lowered)."""
    found = {_token(m.group(0)) for m in _ENTITY_RE.finditer(question)}
    return {t for t in found if t and t not in _NOT_NAMES}


def index_words(texts: Iterable[str]) -> frozenset[str]:
    """Every word of ``texts``, as :func:`names` writes them (for :func:`swapped`)."""
    return frozenset(_token(w) for text in texts for w in _WORD_RE.findall(text))


def swapped(original: str, rewritten: str, words: frozenset[str]) -> bool:
    """Whether ``rewritten`` drops a name of ``original`` and brings in one found in no passage."""
    before, after = names(original), names(rewritten)
    return bool(before - after) and any(n not in words for n in after - before)


def span_found(answer: str, passage: str) -> bool:
    """Whether the normalised answer occurs in the normalised passage, on word boundaries."""
    gold = normalize_answer(answer)
    return bool(gold) and f" {gold} " in f" {normalize_answer(passage)} "


def leaks(answer: str, question: str) -> bool:
    """Whether the normalised answer occurs in the normalised question, on word boundaries."""
    gold = normalize_answer(answer)
    return bool(gold) and f" {gold} " in f" {normalize_answer(question)} "


def names_passage(question: str) -> bool:
    """Whether the question points at its passage instead of its subject."""
    return _NAMES_PASSAGE_RE.search(question) is not None


_DECLINES_RE = re.compile(
    r"\b(?:not|never|no information)\b[^.]{0,40}\b(?:mentioned|stated|provided|specified|given|found|"
    r"contained|included|covered|available)\b[^.]{0,30}\b(?:documents?|passages?|context|sources?)\b"
    r"|\b(?:documents?|passages?)\s+(?:do(?:es)?\s+not|don't|doesn't)\s+(?:say|state|mention|contain|include|specify)",
    re.I,
)


def declines(reply: str) -> bool:
    """Whether an answer says the passages do not hold it: docduet's abstain sentence, or the
    model's own words for it ("... is not mentioned in the documents")."""
    return is_abstention(reply) or _DECLINES_RE.search(reply) is not None


def round_trip_matches(reply: str, gold: str) -> bool:
    """Whether the writer's own answer from the passage alone agrees with the gold answer."""
    return contains_gold(reply, [gold]) or token_f1(reply, gold) >= ROUND_TRIP_F1


class NearDuplicates:
    """Remembers kept questions; :meth:`admit` refuses one too close to any of them."""

    def __init__(self, embedder: Embedder | None, threshold: float = DUPLICATE_COSINE) -> None:
        self._embedder = embedder
        self._threshold = threshold
        self._vectors: list[Sequence[float]] = []
        self._keys: set[str] = set()

    def admit(self, question: str) -> bool:
        """Keep ``question`` and return True, unless it nearly repeats a kept one."""
        key = " ".join(sorted(set(normalize_answer(question).split())))
        if key in self._keys:
            return False
        vector: Sequence[float] | None = None
        if self._embedder is not None:
            vector = self._embedder.embed_query(question)
            if any(_cosine(vector, kept) >= self._threshold for kept in self._vectors):
                return False
            self._vectors.append(vector)
        self._keys.add(key)
        return True


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norm = (sum(x * x for x in a) * sum(y * y for y in b)) ** 0.5
    return dot / norm if norm else 0.0
