"""Follow-up questions become standalone queries before retrieval.

"And for contractors?" after "How many vacation days do I get?" must retrieve vacation passages.
The rewrite is for retrieval only; generators still see the conversation as it was.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from chat.prompt import Turn

_FOLLOW_UP_START = re.compile(
    r"^(and|but|also|what about|how about|what if|then|so|or|same for|and if)\b", re.I
)
_REFERRING = re.compile(
    r"\b(it|its|that|this|these|those|they|them|their|there|he|she|him|her|one|ones|same|"
    r"above|previous|former|latter)\b",
    re.I,
)
SHORT_QUESTION_WORDS = 6
REFERRING_MAX_WORDS = 12


class QueryRewriter(Protocol):
    """Turns the latest question plus history into a query that stands on its own."""

    def standalone(self, question: str, history: Sequence[Turn]) -> str: ...


class HeuristicRewriter:
    """Deterministic and local: a follow-up is prefixed with the previous user question.

    A question counts as a follow-up when it opens like one ("and…", "what about…"), refers back
    ("it", "that", "they"…), or is very short. Nothing is sent anywhere.
    """

    def standalone(self, question: str, history: Sequence[Turn]) -> str:
        question = question.strip()
        previous = [t.content.strip() for t in history if t.role == "user" and t.content.strip()]
        if not previous or not is_follow_up(question):
            return question
        return f"{previous[-1]} {question}"


def is_follow_up(question: str) -> bool:
    """A short question, one that opens like a follow-up, or a medium one that refers back."""
    words = question.split()
    return (
        len(words) <= SHORT_QUESTION_WORDS
        or bool(_FOLLOW_UP_START.match(question))
        or (len(words) <= REFERRING_MAX_WORDS and bool(_REFERRING.search(question)))
    )
