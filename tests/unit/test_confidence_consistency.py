"""The consistency signal: sampled answers drawn after the answer, and how far they agree with it."""

from __future__ import annotations

from typing import Any

import pytest

from backends.llama_cpp.afterwards import MAX_SAMPLE_TOKENS, TEMPERATURE, draw_samples
from backends.llama_cpp.generator import LlamaCppOptions
from chat.confidence import measure
from chat.confidence.signals import agreement, consistency
from core.domain import Usage
from core.prompt import ABSTAIN_TEXT
from core.protocols import GenerationResult


def test_agreement_is_the_word_f1_without_citation_markers_and_abstentions_agree_only_with_each_other() -> (
    None
):
    assert agreement("27 days [1].", "27 days") == 1.0
    assert agreement("27 days of leave [1]", "27 days [2]") == pytest.approx(2 * 0.5 * 1 / 1.5)
    assert agreement("31 days", "27 weeks") == 0.0
    assert agreement(ABSTAIN_TEXT, ABSTAIN_TEXT.lower()) == 1.0
    assert agreement(ABSTAIN_TEXT, "27 days") == 0.0 and agreement("27 days", ABSTAIN_TEXT) == 0.0
    assert agreement("", "") == 1.0 and agreement("...", "27") == 0.0
    assert consistency("27 days [1]", ["27 days", "31 days", ABSTAIN_TEXT]) == pytest.approx(
        (1 + 0.5 + 0) / 3
    )


def test_measure_gives_consistency_only_when_samples_were_drawn() -> None:
    drawn = GenerationResult("27 days [1].", Usage(700, 4, 0.0), samples=("27 days", "31 days"))
    signals = dict(measure(hits=[], result=drawn, citations=(), dropped_markers=0, abstained=False))
    assert signals["consistency"] == pytest.approx(0.75)
    none = GenerationResult("27 days [1].", Usage(700, 4, 0.0))
    assert "consistency" not in dict(
        measure(hits=[], result=none, citations=(), dropped_markers=0, abstained=False)
    )


class _Llama:
    """Records each call; answers from a script, or raises."""

    def __init__(self, replies: list[str], fail_at: int | None = None) -> None:
        self.replies, self.fail_at, self.calls = replies, fail_at, []  # type: ignore[var-annotated]

    def _reply(self, kwargs: dict[str, Any]) -> str:
        self.calls.append(kwargs)
        if self.fail_at is not None and len(self.calls) > self.fail_at:
            raise RuntimeError("llama_decode returned -3")
        return self.replies[len(self.calls) - 1]

    def create_chat_completion(self, **kwargs: Any) -> dict[str, Any]:
        return {"choices": [{"message": {"content": f" {self._reply(kwargs)} "}}]}

    def create_completion(self, text: str, **kwargs: Any) -> dict[str, Any]:
        return {"choices": [{"text": self._reply({"text": text, **kwargs})}]}


def test_samples_are_drawn_with_fixed_seeds_a_higher_temperature_and_a_token_cap() -> None:
    llama = _Llama(["27 days", "31 days", "27 days"])
    messages = [{"role": "user", "content": "How many days?"}]
    drawn = draw_samples(llama, count=3, messages=messages, text=None, max_tokens=400)
    assert drawn == ("27 days", "31 days", "27 days")
    assert [c["seed"] for c in llama.calls] == [0, 1, 2]
    assert {c["temperature"] for c in llama.calls} == {TEMPERATURE} and TEMPERATURE > 0
    assert {c["max_tokens"] for c in llama.calls} == {MAX_SAMPLE_TOKENS}
    assert all(c["messages"] == messages for c in llama.calls)
    completion = _Llama(["27 days"])
    assert draw_samples(completion, count=1, messages=None, text="Q: ?\nA:", max_tokens=20, stop=["\n"]) == (
        "27 days",
    )
    assert completion.calls[0]["text"] == "Q: ?\nA:" and completion.calls[0]["max_tokens"] == 20


def test_a_failed_sample_costs_the_signal_not_the_answer(caplog: pytest.LogCaptureFixture) -> None:
    llama = _Llama(["27 days", "x"], fail_at=1)
    assert draw_samples(llama, count=2, messages=[], text=None, max_tokens=50, name="slm") == ()
    assert "slm: drawing samples failed" in caplog.text


def test_the_samples_option_is_off_by_default_and_bounded() -> None:
    assert LlamaCppOptions(model="m").samples == 0
    assert LlamaCppOptions(model="m", samples=4).samples == 4
    with pytest.raises(ValueError):
        LlamaCppOptions(model="m", samples=9)
