"""What the answer service returns: per-generator answers, stream events and the comparison."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from core.domain import ANONYMOUS, Answer, Hit, Sensitivity, User
from core.filters import SearchFilters
from core.prompt import Turn

NOT_FOUND_TEXT = "Not found in the documents you can access."

QUEUE_SHOWN_FROM_S = 0.5
"""A wait in line for a model shorter than this is not worth telling the user about."""


def shown_queue_wait(answer: Answer) -> float | None:
    """The seconds ``answer`` waited for its model's turn, when worth showing (else None)."""
    waited = answer.timings.queue_s
    return waited if waited >= QUEUE_SHOWN_FROM_S else None


@dataclass(frozen=True)
class Question:
    """A question as asked: its text, who asks, the conversation so far and optional filters."""

    text: str
    user: User = ANONYMOUS
    history: tuple[Turn, ...] = ()
    filters: SearchFilters | None = None


@dataclass(frozen=True)
class Retrieval:
    """One retrieval shared by every generator."""

    query: str
    hits: tuple[Hit, ...]
    seconds: float


@dataclass(frozen=True)
class GeneratorInfo:
    """What front ends show about a generator: its label, where it runs, what it may read."""

    name: str
    label: str
    off_premises: bool
    max_sensitivity: Sensitivity | None
    endpoint: str
    unavailable: str | None = None


@dataclass(frozen=True)
class Event:
    """A streamed piece: the retrieval that starts it all, a generator's status line (queued,
    reading the passages), a token, or a finished answer.

    A status with ``restart`` (a cascade asking its next model: "checking with …") means the
    column's text so far is replaced: the next model's tokens follow.
    """

    generator: str
    kind: Literal["retrieval", "status", "token", "answer"]
    text: str = ""
    answer: Answer | None = None
    retrieval: Retrieval | None = None
    restart: bool = False


@dataclass(frozen=True)
class Comparison:
    """Both answers to one question, from one retrieval."""

    question: str
    user: str | None
    retrieval: Retrieval
    answers: tuple[Answer, ...]
    wall_s: float

    def answer(self, generator: str) -> Answer:
        """The answer of ``generator``; KeyError naming the generators that did answer."""
        for answer in self.answers:
            if answer.generator == generator:
                return answer
        raise KeyError(f"no answer from {generator!r}; answered: {[a.generator for a in self.answers]}")

    def to_json(self) -> dict[str, object]:
        """A JSON-ready dict: the question, the standalone query, the hits and every answer."""
        return {
            "question": self.question,
            "standalone_query": self.retrieval.query,
            "user": self.user,
            "retrieval": {
                "seconds": round(self.retrieval.seconds, 4),
                "hits": [
                    {
                        "chunk_id": h.chunk.chunk_id,
                        "source": h.chunk.source,
                        "title": h.chunk.title,
                        "section": h.chunk.section,
                        "page": h.chunk.page,
                        "sensitivity": h.chunk.access.sensitivity.value,
                        "score": round(h.score, 4),
                        "similarity": None if h.similarity is None else round(h.similarity, 4),
                    }
                    for h in self.retrieval.hits
                ],
            },
            "answers": [answer_json(a) for a in self.answers],
            "wall_s": round(self.wall_s, 3),
        }


def answer_json(answer: Answer) -> dict[str, object]:
    """One answer as a JSON-ready dict (tuples become lists)."""
    data = asdict(answer)
    data["privacy"]["sent_chunk_ids"] = list(answer.privacy.sent_chunk_ids)
    data["flags"] = [{"kind": f.kind.value, "text": f.text} for f in answer.flags]
    if answer.confidence is not None:
        data["confidence"] = {
            "level": answer.confidence.level.value,
            "probability": answer.confidence.probability,
            "reasons": list(answer.confidence.reasons),
            "signals": dict(answer.confidence.signals),
            "calibration": answer.confidence.calibration,
        }
    return data
