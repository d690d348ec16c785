"""The confidence badge, cascade line and "not sure" marking that every front end shows (chat/badges.py)."""

from __future__ import annotations

import json

from fakes import make_answer

from chat.badges import UNCALIBRATED, cascade_line, confidence_badge, not_sure_line
from chat.results import answer_json
from core.domain import ConfidenceLevel, Escalation


def test_a_high_confidence_answer_shows_its_level_probability_and_reasons() -> None:
    badge = confidence_badge(make_answer(probability=0.857))
    assert badge is not None
    assert (badge.text, badge.probability, badge.tone) == ("High confidence · 0.86", "0.86", "good")
    assert badge.detail == "the top passage states it; 1 citation verified"
    assert badge.tooltip == "Why: the top passage states it; 1 citation verified\nCalibration: test fit"


def test_a_low_confidence_answer_keeps_its_text_and_is_marked_a_warning() -> None:
    answer = make_answer("31 days [1].", level=ConfidenceLevel.LOW, probability=0.31)
    badge = confidence_badge(answer)
    assert badge is not None and badge.tone == "warning"
    assert badge.text == "Low confidence · 0.31 — check the sources"
    assert badge.label == "Low confidence · 0.31"  # what fits on a chip; the advice follows
    assert answer.text == "31 days [1]." and not_sure_line(answer) is None  # flagged, not hidden


def test_a_medium_answer_is_neutral_and_only_the_main_reasons_are_shown() -> None:
    reasons = ("a", "b", "c", "d")
    badge = confidence_badge(make_answer(level=ConfidenceLevel.MEDIUM, probability=0.6, reasons=reasons))
    assert badge is not None and (badge.text, badge.tone) == ("Medium confidence · 0.60", "neutral")
    assert badge.detail == "a; b; c"


def test_an_uncalibrated_model_says_so_instead_of_a_probability() -> None:
    for answer in (
        make_answer(level=ConfidenceLevel.UNKNOWN, probability=None, reasons=()),
        make_answer(level=ConfidenceLevel.HIGH, probability=None),  # no probability: not calibrated
    ):
        badge = confidence_badge(answer)
        assert badge is not None
        assert (badge.text, badge.probability, badge.tone) == (UNCALIBRATED, "", "muted")
        assert badge.level is ConfidenceLevel.UNKNOWN


def test_errors_and_answers_without_a_confidence_get_no_badge() -> None:
    assert confidence_badge(make_answer(error="the model is down")) is None
    assert confidence_badge(make_answer(level=None)) is None


def test_a_withheld_answer_says_it_is_not_sure_and_why() -> None:
    gated = make_answer(
        "Not sure.", level=ConfidenceLevel.LOW, probability=0.21, withheld_text="31 days [1]."
    )
    line = not_sure_line(gated)
    assert line == (
        "Not sure: the model's answer was withheld (confidence 0.21 is below this model's "
        "threshold). Read the sources instead."
    )


STEPS = (
    Escalation("slm", "Small local model", 0.42, "escalated: 0.42 < 0.60", 2.3, 0.0),
    Escalation("slm-large", "Larger local model", 0.81, "served", 4.8, 0.0),
)


def test_a_cascade_says_who_answered_who_was_tried_and_what_it_cost() -> None:
    answer = make_answer(generator="cascade", steps=STEPS)
    assert cascade_line(answer) == (
        "Answered by Larger local model after Small local model (escalated: 0.42 < 0.60) "
        "· 2 steps, 7.1 s, $0.0000"
    )
    assert cascade_line(make_answer()) is None


def test_a_cascade_where_no_step_answered_lists_every_step() -> None:
    failed = (
        Escalation("slm", "Small", 0.2, "escalated: 0.20 < 0.60", 1.0),
        Escalation("llm", "Hosted", None, "skipped: may see no passage"),
    )
    line = cascade_line(make_answer(steps=failed))
    assert line == (
        "No step answered after Small (escalated: 0.20 < 0.60), Hosted (skipped: may see no passage) "
        "· 2 steps, 1.0 s, $0.0000"
    )


def test_json_carries_the_confidence_steps_and_withheld_text() -> None:
    answer = make_answer(probability=0.8612, steps=STEPS, withheld_text="31 days")
    data = json.loads(json.dumps(answer_json(answer)))
    assert data["confidence"]["level"] == "high" and data["confidence"]["probability"] == 0.8612
    assert data["steps"][0] == {
        "generator": "slm",
        "label": "Small local model",
        "probability": 0.42,
        "outcome": "escalated: 0.42 < 0.60",
        "seconds": 2.3,
        "cost_usd": 0.0,
        "core_s": None,
    }
    assert data["withheld_text"] == "31 days"
