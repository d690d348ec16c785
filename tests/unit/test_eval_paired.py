"""Two generators on the same questions: the paired interval, McNemar's test and the verdict."""

from __future__ import annotations

import pytest
from eval_records import Said, record

from evaluation.paired import (
    MIN_EQUIVALENCE,
    all_pairs,
    compare,
    mcnemar_exact,
    paired_interval,
    questions_needed,
)


def records(pattern: list[tuple[bool, bool]]) -> list[dict[str, object]]:
    """One question per (slm right, llm right)."""
    return [record(f"q{i}", {"slm": Said(a), "llm": Said(b)}) for i, (a, b) in enumerate(pattern)]


def test_mcnemar_exact_counts_only_the_discordant_questions() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(0, 6) == pytest.approx(2 / 64)  # two-sided: 2 * 0.5**6
    assert mcnemar_exact(3, 3) == pytest.approx(1.0)


def test_paired_interval_keeps_each_question_s_answers_together() -> None:
    assert paired_interval([True], [False]) is None
    same = paired_interval([True, False] * 10, [True, False] * 10)
    assert same == [0.0, 0.0]  # identical answers: no difference in any resample
    low, high = paired_interval([False] * 10 + [True] * 10, [True] * 20) or [0, 0]
    assert 0.25 <= low < 0.5 < high <= 0.75


def test_a_clear_difference_is_claimed_with_its_questions_listed() -> None:
    pair = compare(records([(False, True)] * 12 + [(True, True)] * 8), "slm", "llm")
    assert pair["verdict"] == "b better" and pair["p_mcnemar"] < 0.001
    assert (pair["wins_a"], pair["ties"], pair["wins_b"], pair["both_right"]) == (0, 8, 12, 8)
    assert pair["only_b"] == [f"q{i}" for i in range(12)] and pair["only_a"] == []
    assert pair["difference"] == pytest.approx(0.6) and "questions_needed" not in pair


def test_an_underpowered_difference_is_undecided_and_says_how_many_questions_would_decide() -> None:
    # 20 questions, llm ahead by 4 of 6 discordant ones: +20 points, p = 0.22
    pattern = [(False, True)] * 5 + [(True, False)] * 1 + [(True, True)] * 7 + [(False, False)] * 7
    pair = compare(records(pattern), "slm", "llm")
    assert pair["verdict"] == "undecided" and pair["p_mcnemar"] > 0.05
    assert pair["ci95"][0] <= 0 < pair["ci95"][1]
    assert pair["questions_needed"] == questions_needed(20, 6, 0.2) > 20


def test_agreement_on_few_questions_is_not_called_equivalent() -> None:
    pair = compare(records([(True, True)] * 10 + [(False, False)] * 10), "slm", "llm")
    assert pair["ci95"] == [0.0, 0.0] and pair["verdict"] == "undecided"
    assert pair["questions_needed"] == MIN_EQUIVALENCE
    big = compare(records([(True, True)] * 40 + [(False, False)] * 40), "slm", "llm")
    assert big["verdict"] == "equivalent"


def test_questions_needed_follows_the_observed_discordant_rate() -> None:
    # Connor (1987): rate 0.3, difference 0.2 -> (1.96*sqrt(.3) + 0.84*sqrt(.26))^2 / 0.04 = 56.4
    assert questions_needed(20, 6, 0.2) == 57
    assert questions_needed(20, 6, -0.2) == 57  # the sign does not matter
    assert questions_needed(100, 30, 0.0) == 461  # 1.96^2 * 0.3 / 0.05^2: an interval within ±5 points
    assert questions_needed(500, 0, 0.0) == 500  # never fewer than already asked
    # 5 questions, all split one way: the exact test needs 6 such (2 x 0.5^6 < 0.05), not the 4 of
    # the normal approximation
    assert questions_needed(5, 5, -1.0) == 6


def test_an_undecided_pair_always_asks_for_more_questions_than_it_had() -> None:
    records = [
        {"id": f"q{i}", "answers": {"a": {"scores": {"correct": False}}, "b": {"scores": {"correct": True}}}}
        for i in range(5)
    ]
    pair = compare(records, "a", "b", resamples=200)
    assert pair["verdict"] == "undecided" and pair["p_mcnemar"] == pytest.approx(0.0625)
    assert pair["questions_needed"] > 5


def test_all_pairs_in_the_generators_order() -> None:
    three = [record(f"q{i}", {"a": Said(True), "b": Said(False), "c": Said(True)}) for i in range(3)]
    assert [(p["a"], p["b"]) for p in all_pairs(three, ["a", "b", "c"], resamples=50)] == [
        ("a", "b"),
        ("a", "c"),
        ("b", "c"),
    ]
