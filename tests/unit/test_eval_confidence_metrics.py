"""Confidence metrics against hand-computed cases: AUROC with ties, ECE bins, risk-coverage,
abstention precision and recall, the confidence gate, and the intervals."""

from __future__ import annotations

import pytest

from evaluation import confidence_metrics as cm


def test_auroc_counts_ties_as_half() -> None:
    # right: 1.0; wrong: 1.0 (tie: 0.5) and 0.0 (below: 1) -> (0.5 + 1) / 2
    assert cm.auroc([1.0, 1.0, 0.0], [True, False, False]) == pytest.approx(0.75)


def test_auroc_perfect_inverted_and_undefined() -> None:
    assert cm.auroc([0.9, 0.8, 0.2, 0.1], [True, True, False, False]) == 1.0
    assert cm.auroc([0.9, 0.8, 0.2, 0.1], [False, False, True, True]) == 0.0
    assert cm.auroc([0.9, 0.8], [True, True]) is None


def test_signal_auroc_says_which_way_the_signal_points() -> None:
    lower = cm.signal_auroc([0.1, 0.2, 0.8, 0.9] * 5, [True, True, False, False] * 5, resamples=200)
    assert lower["auroc"] == 0.0 and lower["direction"] == "lower is right" and lower["n"] == 20
    assert lower["ci95"] == (0.0, 0.0)


def test_ece_uses_ten_equal_width_bins_and_puts_one_in_the_last() -> None:
    # bin 0: p 0.05, 0 right -> 1/4 * 0.05; bin 1: p 0.15 twice, 1 of 2 right -> 2/4 * 0.35;
    # bin 9: p 0.95, right -> 1/4 * 0.05. Then 1.0 and 0.9 share bin 9: mean 0.95, both right
    error = cm.expected_calibration_error([0.05, 0.15, 0.15, 0.95], [False, True, False, True])
    assert error == pytest.approx(0.0125 + 0.175 + 0.0125)
    assert cm.expected_calibration_error([1.0, 0.9], [True, True]) == pytest.approx(0.05)
    assert cm.expected_calibration_error([0.7] * 10, [True] * 7 + [False] * 3) == pytest.approx(0.0)
    assert cm.expected_calibration_error([], []) is None


def test_risk_coverage_answers_the_most_confident_first() -> None:
    probabilities = [0.9, 0.1, 0.8, 0.2, 0.7, 0.3, 0.6, 0.4, 0.5, 0.55]
    labels = [True, False, True, False, True, True, False, False, True, False]
    points = {p["coverage"]: p for p in cm.risk_coverage(probabilities, labels)}
    assert points[1.0]["value"] == 0.5 and points[1.0]["answered"] == 10
    assert points[0.3]["value"] == 1.0 and points[0.3]["answered"] == 3  # 0.9, 0.8, 0.7
    assert points[0.5]["value"] == 0.6  # 0.9 0.8 0.7 0.6(wrong) 0.55(wrong)
    assert points[0.1]["answered"] == 1 and points[0.1]["ci95"] == cm.wilson_interval(1, 1)


def test_risk_coverage_keeps_the_order_of_tied_questions() -> None:
    points = cm.risk_coverage([0.5, 0.5, 0.5, 0.5], [False, True, True, True], coverages=(0.5,))
    assert points[0]["value"] == 0.5  # the first two in order, not the right ones


def test_abstention_precision_and_recall() -> None:
    scores = cm.abstention([True, True, False, False, True], [True, False, True, False, True])
    assert scores["abstentions"] == 3
    assert scores["precision"]["value"] == pytest.approx(2 / 3, abs=1e-4)
    assert scores["recall"]["value"] == pytest.approx(2 / 3, abs=1e-4)
    nothing = cm.abstention([False, False], [True, False])
    assert nothing["precision"]["value"] is None and nothing["recall"]["value"] == 0.0


def test_the_gate_takes_the_highest_recall_at_precision_point_eight() -> None:
    unanswerable = [True, True, True, True, False, False, False, False, False, False]
    abstained = [True, False, False, False, False, False, False, False, False, False]
    probabilities = [0.9, 0.1, 0.2, 0.6, 0.15, 0.7, 0.8, 0.9, 0.95, 0.85]
    gate = cm.best_gate(abstained, unanswerable, probabilities)
    # t=0.2 abstains on 0.1 and 0.15 (+ the model's own): 2 of 3 right, precision 0.67 < 0.8;
    # t=0.15 abstains on 0.1: 2 of 2 right; t=0.6 adds 0.15 and 0.2: 3 of 4, 0.75; t=0.7: 4 of 5 = 0.8
    assert gate is not None
    assert gate["threshold"] == 0.7
    assert gate["recall"]["value"] == 1.0 and gate["precision"]["value"] == 0.8


def test_no_gate_when_no_threshold_reaches_the_precision() -> None:
    assert cm.best_gate([False, False], [True, False], [0.9, 0.1]) is None


def test_wilson_interval_matches_the_textbook_value() -> None:
    assert cm.wilson_interval(5, 10) == (0.2366, 0.7634)
    assert cm.wilson_interval(0, 0) is None


def test_bootstrap_is_deterministic_and_brackets_the_estimate() -> None:
    scores = [0.1 * (i % 10) for i in range(40)]
    labels = [i % 10 >= 4 or i % 7 == 0 for i in range(40)]
    first = cm.signal_auroc(scores, labels)
    assert first == cm.signal_auroc(scores, labels)
    low, high = first["ci95"]
    assert low < first["auroc"] < high
