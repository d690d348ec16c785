"""How well a passage supports a claim: lexical overlap by default, embeddings when injected.

Pure functions, testable without any model: an embedding scorer takes the embedding function
as a plain callable (e.g. a sentence-transformers model's ``encode``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Protocol

_WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_STOPWORD_TEXT = """
    a about above according after again against all also am an and any are as at based be
    because been before being below between both but by can could did do document documents
    does doing down during each few for from further had has have having he her here hers
    herself him himself his how i if in into is it its itself just may me might more most must
    my myself no nor not now of off on once only or other our ours ourselves out over own
    passage passages per same shall she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up upon very via was
    we were what when where which while who whom why will with would you your yours yourself
    yourselves
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())


def content_words(text: str) -> set[str]:
    """Lower-cased words minus stop words, with plural and possessive endings folded."""
    words = (_fold(w) for w in _WORD_RE.findall(text.lower()))
    return {w for w in words if w and w not in STOPWORDS}


def _fold(word: str) -> str:
    word = word.removesuffix("'s")
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def overlap_f1(claim: str, text: str) -> float:
    """F1 of the content words of ``claim`` and ``text`` (0 when either has none)."""
    a, b = content_words(claim), content_words(text)
    common = len(a & b)
    if not common:
        return 0.0
    precision, recall = common / len(b), common / len(a)
    return 2 * precision * recall / (precision + recall)


class SupportScorer(Protocol):
    """Scores how well each text supports a claim, in [0, 1]."""

    def score(self, claim: str, texts: Sequence[str]) -> list[float]:
        """One score per text."""
        ...


class LexicalSupport:
    """Share of the claim's content words found in the text; numbers count as words.

    Scored against several texts at once, each word weighs by how few of them hold it (an
    inverse document frequency over the texts given): "anchor" in "The anchor days are Tuesday
    and Thursday" tells the passage that answers from a calendar that only lists weekdays. A
    single text gets plain recall.
    """

    def score(self, claim: str, texts: Sequence[str]) -> list[float]:
        """One weighted recall per text; a claim without content words scores 0 everywhere."""
        words = content_words(claim)
        if not words:
            return [0.0 for _ in texts]
        held = [words & content_words(t) for t in texts]
        count = len(texts)
        weight = {w: math.log(1 + count / max(1, sum(w in h for h in held))) for w in words}
        total = sum(weight.values())
        return [sum(weight[w] for w in h) / total for h in held]
