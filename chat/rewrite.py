"""Follow-up questions become standalone queries before retrieval.

"And for contractors?" after "How many vacation days do I get?" must retrieve vacation passages.
The rewrite is for retrieval only; generators still see the conversation as it was.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from core.prompt import Turn

_FOLLOW_UP_START = re.compile(
    r"^(and|but|also|what about|how about|what if|then|so|or|same for|and if)\b", re.I
)
_REFERRING = re.compile(
    r"\b(it|its|that|this|these|those|they|them|their|he|she|him|her|one|ones|same|"
    r"above|previous|former|latter)\b",
    re.I,
)
_THERE = re.compile(r"\bthere\b", re.I)
_EXISTENTIAL_THERE = re.compile(r"\b(is|are|was|were|be|been)\s+there\b", re.I)
_QUESTION_START = re.compile(
    r"^(who|whom|whose|what|when|where|which|why|how|is|are|was|were|do|does|did|can|could|"
    r"may|must|should|will|would|has|have|had)\b",
    re.I,
)
FRAGMENT_WORDS = 2
"""Questions this short ("Why?", "How much?") always lean on the conversation."""
SHORT_QUESTION_WORDS = 6
"""Short questions that do not open like a question ("Contractors too?") are follow-ups."""
REFERRING_MAX_WORDS = 12
"""Up to this length, a question that refers back ("Is it paid?") is a follow-up."""


class QueryRewriter(Protocol):
    """Turns the latest question plus history into a query that stands on its own."""

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        """A retrieval query for ``question`` that needs no conversation to be understood."""
        ...


class HeuristicRewriter:
    """Deterministic and local: a follow-up is prefixed with the question it follows up on.

    That is the latest earlier user question that stood on its own, so a chain of follow-ups
    ("And for contractors?", "What about interns?") keeps the topic it started from.
    Nothing is sent anywhere.
    """

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        """``question`` itself, or ``"<topic question> <question>"`` for a follow-up."""
        question = question.strip()
        asked = [t.content.strip() for t in history if t.role == "user" and t.content.strip()]
        if not asked or not is_follow_up(question):
            return question
        return f"{topic_question(asked)} {question}"


def topic_question(asked: Sequence[str]) -> str:
    """The latest of the earlier user questions that stands on its own (else the first one)."""
    for earlier in reversed(asked):
        if not is_follow_up(earlier):
            return earlier
    return asked[0]


def is_follow_up(question: str) -> bool:
    """True when ``question`` probably needs the conversation to be understood.

    That is a fragment ("Why?"), a question opening like a follow-up ("and…", "what about…"),
    a short one that does not open like a question ("For a secondary carer?"), or a medium one
    that refers back ("it", "that", "they"… but not the "there" of "is there").
    """
    question = question.strip()
    words = question.split()
    if len(words) <= FRAGMENT_WORDS or _FOLLOW_UP_START.match(question):
        return True
    if len(words) <= SHORT_QUESTION_WORDS and not _QUESTION_START.match(question):
        return True
    return len(words) <= REFERRING_MAX_WORDS and _refers_back(question)


def _refers_back(question: str) -> bool:
    if _REFERRING.search(question):
        return True
    return bool(_THERE.search(_EXISTENTIAL_THERE.sub(" ", question)))
