"""The conversation of one browser session: turns, verdicts and who is signed in.

Everything lives in a mutable mapping (``st.session_state`` in the app, a dict in tests), so a
failed or interrupted turn never takes the earlier ones with it.
"""

from __future__ import annotations

import uuid
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from chat.history import HISTORY_TURNS, carried_answer, conversation
from chat.results import Retrieval
from core.domain import Answer, Citation, Hit, User
from core.feedback import winner
from core.prompt import Turn

TURNS_KEY = "docduet.turns"
VERDICTS_KEY = "docduet.verdicts"
USER_KEY = "docduet.user"
Status = Literal["done", "failed", "interrupted"]


@dataclass(frozen=True)
class ChatTurn:
    """One question and its answers, as shown in the chat."""

    question: str
    user: str | None
    names: tuple[str, ...]
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    retrieval: Retrieval | None = None
    answers: tuple[Answer, ...] = ()
    status: Status = "done"
    error: str | None = None
    """Why the whole turn failed (the index unreachable, ...); per-answer errors are on answers."""

    def answer(self, name: str) -> Answer | None:
        """The answer of generator ``name``, None when it did not finish."""
        return next((a for a in self.answers if a.generator == name), None)

    @property
    def rateable(self) -> bool:
        """Feedback compares the answers of a finished turn with at least two columns."""
        return self.status == "done" and len(self.answers) == len(self.names) >= 2


def turns(state: MutableMapping[Any, Any]) -> list[ChatTurn]:
    """The session's turns, oldest first (a live list: append to it)."""
    return state.setdefault(TURNS_KEY, [])


def verdicts(state: MutableMapping[Any, Any]) -> dict[str, str]:
    """Verdict given per turn key in this session."""
    return state.setdefault(VERDICTS_KEY, {})


def sign_in(state: MutableMapping[Any, Any], user: User) -> bool:
    """Make ``user`` the session's user; a different user starts a fresh conversation.

    Returns True when another user was signed in before (the page says the history was cleared).
    """
    previous = state.get(USER_KEY)
    if previous == user:
        return False
    state[USER_KEY] = user
    clear(state)
    return previous is not None


def clear(state: MutableMapping[Any, Any]) -> None:
    """Start a fresh conversation."""
    state[TURNS_KEY] = []
    state[VERDICTS_KEY] = {}


def preferred(turn: ChatTurn, verdict: str | None) -> Answer | None:
    """The answer carried into the next question's history.

    The one rated better when rated so; otherwise the first answer (in column order) that has
    text and did not abstain.
    """
    best_one = winner(verdict, turn.names) if verdict else None
    chosen = turn.answer(best_one) if best_one else None
    if chosen is not None and chosen.text and not chosen.error:
        return chosen
    return carried_answer(turn.answers)


def history(
    past: Sequence[ChatTurn], rated: dict[str, str], *, max_turns: int = HISTORY_TURNS
) -> tuple[Turn, ...]:
    """The conversation so far for a follow-up: finished turns only, without citation markers."""
    done = [t for t in past if t.status == "done"]
    return conversation(((t.question, preferred(t, rated.get(t.key))) for t in done), max_turns=max_turns)


def passage(hits: Sequence[Hit], answer: Answer, citation: Citation) -> Hit | None:
    """The retrieved passage a citation points to.

    Citation numbers count the passages *sent* to that generator (a hosted model may have had
    confidential ones withheld), so they are resolved through ``privacy.sent_chunk_ids``.
    """
    sent = answer.privacy.sent_chunk_ids
    if not 1 <= citation.number <= len(sent):
        return None
    chunk_id = sent[citation.number - 1]
    return next((h for h in hits if h.chunk.chunk_id == chunk_id), None)
