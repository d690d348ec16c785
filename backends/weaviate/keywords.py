"""The keyword (BM25) side of the index: stemmed copies of the searchable text.

Weaviate's BM25 does not stem, so "policies" never matches "policy". Each chunk therefore also
stores ``<field>_stemmed``: its words lower-cased, English stop words dropped and Snowball-stemmed
(PyStemmer's ``english``, i.e. Porter2), joined by single spaces. The query is stemmed by the same
:func:`stem` before the BM25 search; the original fields stay for display.
"""

from __future__ import annotations

import re
import threading

import Stemmer

ANALYZER = "snowball-english-1"
"""Recorded in each collection's metadata; change it whenever :func:`stem` changes its output."""

STEMMED_FIELDS: dict[str, str] = {
    "text": "text_stemmed",
    "title": "title_stemmed",
    "section": "section_stemmed",
}
"""Searchable field -> its stemmed copy, the properties the BM25 half of a search reads."""

STOP_WORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their then "  # noqa: SIM905
    "there these they this to was will with".split()
)
"""Lucene's (and Weaviate's ``en`` preset) English stop words, dropped before stemming: stemmed,
some would no longer be recognised ("this" -> "thi")."""

QUESTION_WORDS = frozenset(
    "which what who whom whose when where why how do does did can could should would shall "  # noqa: SIM905
    "i me my mine we our ours you your yours".split()
)
"""Words that make a sentence a question, dropped from queries only (the indexed text keeps
them): every passage that happens to contain "which" or "how" would otherwise score for it. On
SQuAD-mini's 510 answerable questions this raised BM25 nDCG@10 from 0.822 to 0.854 and hybrid
from 0.866 to 0.877 (bench/retrieval_quality.py). "us", "may" and "will" are not here: "US",
"May" and "will" (a testament) are names as often as question words."""

_WORD = re.compile(r"[^\W_]+")
"""Runs of letters and digits: Weaviate's ``word`` tokenization."""


_LOCAL = threading.local()


def _stemmer() -> Stemmer.Stemmer:
    """One stemmer per thread: PyStemmer's objects (and their caches) are not thread-safe."""
    stemmer = getattr(_LOCAL, "stemmer", None)
    if stemmer is None:
        stemmer = _LOCAL.stemmer = Stemmer.Stemmer("english")
    return stemmer


def stem(text: str) -> str:
    """``text`` as the stemmed fields hold it: stems of its non-stop words, space-separated."""
    words = [w for w in _WORD.findall(text.casefold()) if w not in STOP_WORDS]
    return " ".join(_stemmer().stemWords(words))


def query_terms(query: str) -> str:
    """A question as the BM25 half of a search reads it: :func:`stem` without question words."""
    words = [w for w in _WORD.findall(query.casefold()) if w not in QUESTION_WORDS]
    return stem(" ".join(words))


def stemmed_properties(fields: dict[str, str]) -> dict[str, str]:
    """The stemmed copies of ``fields`` (``{"text": ..., "title": ...}``) under their property names."""
    return {STEMMED_FIELDS[name]: stem(value) for name, value in fields.items() if name in STEMMED_FIELDS}
