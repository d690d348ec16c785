"""The conversation carried into a follow-up question: the same rules for the web chat and Slack.

Each earlier turn contributes the user's question and one answer (without citation markers, which
would point at passages of another retrieval). The answer service then decides what each
generator may see of it (``chat.service.history_for``: a hosted model gets the questions only).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from chat.citations import MARKER_RE
from core.domain import Answer
from core.prompt import Turn

HISTORY_TURNS = 4
"""Earlier turns sent with a follow-up; the prompt builder drops the oldest if they do not fit."""

_MARKERS = re.compile(rf"\s*{MARKER_RE.pattern}")


def carried_answer(answers: Sequence[Answer]) -> Answer | None:
    """The answer a follow-up builds on: the first (in generator order) that has text, did not
    fail and did not abstain; else the first that has text; None when none has."""
    usable = [a for a in answers if a.text and not a.error]
    return next((a for a in usable if not a.abstained), usable[0] if usable else None)


def without_markers(text: str) -> str:
    """``text`` with its ``[1]``-style citation markers removed and whitespace collapsed."""
    return " ".join(_MARKERS.sub("", text).split())


def conversation(
    turns: Iterable[tuple[str, Answer | None]], *, max_turns: int = HISTORY_TURNS
) -> tuple[Turn, ...]:
    """History turns for the last ``max_turns`` of (question, carried answer) pairs."""
    out: list[Turn] = []
    for question, answer in list(turns)[-max_turns:] if max_turns > 0 else []:
        out.append(Turn("user", question))
        if answer is not None and answer.text:
            out.append(Turn("assistant", without_markers(answer.text)))
    return tuple(out)
