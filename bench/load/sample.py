"""One request of a load run: its outcome, and short countable kinds of error."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from chat.results import Retrieval
from core.domain import Answer


@dataclass
class Sample:
    """One question's outcome."""

    latency_s: float
    error: str | None = None
    passages: int | None = None
    answers: tuple[Answer, ...] = ()
    worker_wait_s: float | None = None
    ack_s: float | None = None
    ahead: int | None = None


class QuietView:
    """The chat page's LiveView without Streamlit: remembers the queue line a column showed."""

    def __init__(self) -> None:
        self.ahead = 0

    def retrieved(self, retrieval: Retrieval) -> None:
        pass

    def status(self, name: str, text: str) -> None:
        match = re.match(r"Queued: (\d+)", text)
        if match:
            self.ahead = max(self.ahead, int(match.group(1)))

    def partial(self, name: str, text: str) -> None:
        pass

    def finished(self, answer: Answer) -> None:
        pass


def error_kind(error: BaseException | str) -> str:
    """A short, countable kind: the exception type and the start of its message, digits masked."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return re.sub(r"\d+(\.\d+)?", "N", " ".join(text.split()))[:100]


def answer_errors(answers: Sequence[Answer], expected: Sequence[str]) -> str | None:
    missing = [n for n in expected if n not in {a.generator for a in answers}]
    if missing:
        return f"no answer from {', '.join(missing)}"
    failed = [a for a in answers if a.error]
    return error_kind(f"{failed[0].generator}: {failed[0].error}") if failed else None
