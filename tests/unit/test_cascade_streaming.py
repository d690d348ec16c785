"""The web chat's stream consumer and a cascade column (issue 23): when the cascade asks its next
model, the column says so and drops the previous model's words instead of running them together."""

from __future__ import annotations

from cascade_parts import CAROL, LEAVE, CountingGenerator, service_of

from chat.cascade import CascadeSlot
from chat.results import Question, Retrieval
from chat.service import GeneratorSlot
from core.domain import Answer
from ui.streaming import LiveTurn, Throttle, run_stream


class RecordingView:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def retrieved(self, retrieval: Retrieval) -> None:
        self.calls.append(("retrieved", str(len(retrieval.hits))))

    def status(self, name: str, text: str) -> None:
        self.calls.append(("status", f"{name}: {text}"))

    def partial(self, name: str, text: str) -> None:
        self.calls.append(("partial", f"{name}: {text}"))

    def finished(self, answer: Answer) -> None:
        self.calls.append(("finished", answer.generator))


def test_a_cascade_column_shows_checking_with_the_next_model_and_only_its_words() -> None:
    slm, big = CountingGenerator("slm", "Maybe 31 days [1]."), CountingGenerator("slm-large", "4 weeks [1].")
    steps = (GeneratorSlot("slm", slm), GeneratorSlot("slm-large", big))
    svc = service_of([LEAVE], [CascadeSlot("cascade", steps, (0.6,), "Cascade")], slm=0.2)
    live, view = LiveTurn(("cascade",)), RecordingView()
    run_stream(svc, Question("secondary carer leave", CAROL), live, view, throttle=Throttle(interval=0.0))
    assert live.texts["cascade"] == big.reply  # not the small model's words followed by these
    assert ("status", "cascade: Checking with Fake slm-large…") in view.calls
    drawn = [text for kind, text in view.calls if kind == "partial"]
    assert "cascade: Maybe" in drawn  # the first step streamed in the column
    assert drawn[-1] == f"cascade: {big.reply}"
    assert view.calls[-1] == ("finished", "cascade")
