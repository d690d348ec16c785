"""An answer service that always gives the same answers, each with a fixed confidence.

The front ends (``docduet compare``, the Slack bot, the web chat) are real; only what computes the
answers is replaced, so a test can check that each front end shows the same confidence for the same
answer (issue 23). :class:`FixedService` stands where :class:`chat.service.AnswerService` does,
:class:`FixedBackend` where the web chat's :class:`ui.backend.LiveBackend` does.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from chat.results import Comparison, Event, GeneratorInfo, Question, Retrieval
from core.domain import (
    Answer,
    Confidence,
    ConfidenceLevel,
    Escalation,
    Privacy,
    Sensitivity,
    Timings,
    Usage,
)
from core.feedback import FeedbackStore
from core.identity import UserDirectory
from core.settings import Settings

MEDIUM = Confidence(
    ConfidenceLevel.MEDIUM,
    0.7349,  # every front end rounds it the same way: 0.73
    ("the top passage states the figure", "2 of 3 passages agree"),
    (("retrieval_top_score", 0.91), ("token_logprob_mean", -0.42)),
    "logistic regression on squad-mini, fitted 2026-12-06",
)
LOW = Confidence(ConfidenceLevel.LOW, 0.314, ("no citation verified",), (), "logistic regression")
HIGH = Confidence(ConfidenceLevel.HIGH, 0.88, ("the self-check says yes",), (), "logistic regression")
SHOWN = {
    "slm": "Medium confidence · 0.73",
    "llm": "Low confidence · 0.31 — check the sources",
    "cascade": "High confidence · 0.88",
}
"""What every front end must show for each answer, word for word."""
REASONS = {"slm": "the top passage states the figure; 2 of 3 passages agree", "llm": "no citation verified"}
LABELS = {"slm": "Small local model", "llm": "Hosted model", "cascade": "Cascade (small model first)"}
STEPS = (
    Escalation("slm", "Small local model", 0.42, "escalated: 0.42 < 0.60", 2.3),
    Escalation("slm-large", "Larger local model", 0.88, "served", 4.8),
)
CASCADE_LINE = (
    "Answered by Larger local model after Small local model (escalated: 0.42 < 0.60) "
    "· 2 steps, 7.1 s, $0.0000"
)
TEXTS = {"slm": ("Up to 25 days [1].", MEDIUM), "llm": ("31 days.", LOW), "cascade": ("27 days.", HIGH)}


def fixed_answer(name: str) -> Answer:
    """The answer ``name`` always gives (the cascade's with the steps it tried)."""
    text, confidence = TEXTS[name]
    return Answer(
        generator=name,
        text=text,
        citations=(),
        timings=Timings(0.01, 0.2, 0.5),
        usage=Usage(120, 6, 0.0),
        privacy=Privacy("/models/fixed.gguf", False, (), 0),
        label=LABELS[name],
        confidence=confidence,
        steps=STEPS if name == "cascade" else (),
    )


class FixedService:
    """What the front ends call on the answer service, answering every question the same way."""

    def __init__(self) -> None:
        self.questions: list[Question] = []

    @property
    def generator_names(self) -> list[str]:
        """The web chat's columns; ``docduet compare`` and Slack ask for ``slm`` and ``llm``."""
        return list(LABELS)

    def label(self, name: str) -> str:
        return LABELS[name]

    def describe(self, name: str) -> GeneratorInfo:
        return GeneratorInfo(name, LABELS[name], False, Sensitivity.CONFIDENTIAL, "/models/fixed.gguf")

    def stream(self, question: Question, names: Sequence[str]) -> Iterator[Event]:
        """A retrieval event, then each answer's text as one token and the finished answer."""
        self.questions.append(question)
        yield Event("", "retrieval", retrieval=Retrieval(question.text, (), 0.01))
        for name in names:
            yield Event(name, "token", text=fixed_answer(name).text)
            yield Event(name, "answer", answer=fixed_answer(name))

    def compare(self, question: Question, names: Sequence[str] | None = None) -> Comparison:
        self.questions.append(question)
        answers = tuple(fixed_answer(n) for n in names or self.generator_names)
        return Comparison(question.text, question.user.name, Retrieval(question.text, (), 0.01), answers, 0.5)


class FixedBackend:
    """The web chat's backend (:class:`ui.backend.ChatBackend`) around :class:`FixedService`."""

    def __init__(self, data_dir: str) -> None:
        self.settings = Settings(data_dir=Path(data_dir))
        self.directory = UserDirectory()  # no users file: everyone is anonymous
        self.feedback = FeedbackStore.in_data_dir(Path(data_dir))
        self.service = FixedService()

    def answerer(self) -> FixedService:
        return self.service

    def columns(self) -> tuple[GeneratorInfo, ...]:
        return tuple(self.service.describe(n) for n in self.service.generator_names)

    def reset(self) -> None:
        pass

    def index_stats(self) -> object:
        raise NotImplementedError("the fixed backend has no index")

    def last_run(self) -> None:
        return None

    def reindex(self, progress: object, *, full: bool = False) -> object:
        raise NotImplementedError("the fixed backend has no index")

    def source_bytes(self, source: str, user: object) -> bytes:
        raise NotImplementedError("the fixed backend has no sources")
