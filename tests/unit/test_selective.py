"""Selective answering (issue 23): below a column's minimum confidence it flags, or abstains and
lists the passages to read instead; an answer without a calibration is never gated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

import pytest
from cascade_parts import BANDS, CAROL, HOTEL, LEAVE, CountingGenerator, service_of
from fakes import make_answer

from chat.results import Question
from chat.selective import Gate, apply_gate
from chat.service import GeneratorSlot
from core.domain import Answer, ConfidenceLevel, Hit, Privacy

QUESTION = Question("How long is secondary carer leave?", CAROL)
REPLY = "Secondary carers get 4 weeks [1]."


def answer_of(gate: Gate | None, hits: Sequence[Hit] = (LEAVE, HOTEL), **probability: float) -> Answer:
    """The ``slm`` column's answer under ``gate``; ``slm=0.31`` calibrates it to 0.31."""
    slot = GeneratorSlot("slm", CountingGenerator("slm", REPLY), gate=gate)
    return service_of(hits, [slot], **probability).compare(QUESTION).answer("slm")


def test_below_the_minimum_a_flagging_column_keeps_the_answer_and_says_why_first() -> None:
    answer = answer_of(Gate(0.6), slm=0.31)
    assert answer.text.startswith("Secondary carers get 4 weeks") and not answer.abstained
    assert answer.confidence is not None and answer.confidence.probability == 0.31
    assert answer.confidence.reasons[0] == "below this column's minimum confidence 0.60"
    assert answer.withheld_text == ""


def test_below_the_minimum_an_abstaining_column_lists_the_passages_it_read() -> None:
    answer = answer_of(Gate(0.6, "abstain"), slm=0.31)
    assert answer.text.splitlines() == [
        "Not sure enough to answer (confidence 0.31 < 0.60). Read these passages instead:",
        "- [1] Doc 1 (doc1.md)",
        "- [2] Doc 3 (doc3.md)",
    ]
    assert answer.abstained and answer.withheld_text.startswith("Secondary carers get 4 weeks")
    # every passage read is a citation, numbered as sent, so every front end links it
    assert [(c.number, c.source) for c in answer.citations] == [(1, "/docs/doc1.md"), (2, "/docs/doc3.md")]
    assert answer.privacy.sent_chunk_ids == ("c1", "c3")
    assert answer.citations[0].snippet  # the model's own verified citation of [1] is kept
    assert answer.confidence is not None and answer.confidence.level is ConfidenceLevel.LOW


@pytest.mark.parametrize("below", ["flag", "abstain"])
def test_an_answer_without_a_calibration_is_never_gated(below: Literal["flag", "abstain"]) -> None:
    answer = answer_of(Gate(0.99, below))
    assert answer.confidence is not None and answer.confidence.probability is None
    assert answer.text.startswith("Secondary carers") and not answer.abstained
    assert not answer.confidence.reasons


def test_an_answer_at_or_above_the_minimum_is_untouched() -> None:
    gated = answer_of(Gate(0.6, "abstain"), slm=0.6)
    plain = answer_of(None, slm=0.6)
    assert gated.text == plain.text and gated.confidence == plain.confidence


def test_an_error_is_never_gated_and_an_abstention_without_passages_only_flagged() -> None:
    error = make_answer(error="the model is down", probability=0.1)
    assert apply_gate(error, (), Gate(0.6, "abstain")) == error
    nothing_read = make_answer(probability=0.1, privacy=Privacy("", False, (), 2))
    flagged = apply_gate(nothing_read, (LEAVE,), Gate(0.6, "abstain"))
    assert flagged.text == nothing_read.text and flagged.confidence is not None
    assert flagged.confidence.reasons[0] == "below this column's minimum confidence 0.60"


def test_a_hosted_column_lists_only_the_passages_it_was_sent() -> None:
    llm = CountingGenerator("llm", REPLY, off_premises=True)
    slot = GeneratorSlot("llm", llm, gate=Gate(0.5, "abstain"))
    answer = service_of([BANDS, LEAVE], [slot], llm=0.2).compare(QUESTION).answer("llm")
    assert answer.text.splitlines()[1:] == ["- [1] Doc 1 (doc1.md)"]
    assert BANDS.chunk.title not in answer.text and [c.source for c in answer.citations] == ["/docs/doc1.md"]


def test_the_gate_rejects_a_minimum_that_is_no_probability() -> None:
    with pytest.raises(ValueError, match="min_confidence is a probability"):
        Gate(1.5)
    assert replace(Gate(0.5), below="abstain").below == "abstain"
