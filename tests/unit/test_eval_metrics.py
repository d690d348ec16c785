"""Metric functions against hand-computed cases."""

from __future__ import annotations

import math

import pytest

from evaluation.metrics import (
    abstention_scores,
    best_over_golds,
    contains_gold,
    exact_match,
    ndcg_at_k,
    normalize_answer,
    paired_difference,
    percentile,
    ranking_scores,
    recall_at_k,
    reciprocal_rank,
    token_f1,
)


def test_ndcg_binary_relevance_by_hand() -> None:
    # relevant at ranks 2 and 3: DCG = 1/log2(3) + 1/log2(4); ideal = 1 + 1/log2(3)
    dcg = 1 / math.log2(3) + 0.5
    ideal = 1 + 1 / math.log2(3)
    assert ndcg_at_k(["x", "d2", "d3"], {"d2": 1, "d3": 1}) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(["x", "d2", "d3"], {"d2": 1, "d3": 1}) == pytest.approx(0.693426, abs=1e-6)


def test_ndcg_graded_relevance_uses_linear_gain() -> None:
    # ranked a (1), b (2): DCG = 1 + 2/log2(3); ideal b, a = 2 + 1/log2(3)
    expected = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert ndcg_at_k(["a", "b"], {"a": 1, "b": 2}) == pytest.approx(expected)
    assert ndcg_at_k(["b", "a"], {"a": 1, "b": 2}) == pytest.approx(1.0)


def test_ndcg_ignores_results_past_k_and_zero_grades() -> None:
    ranked = [f"n{i}" for i in range(10)] + ["rel"]
    assert ndcg_at_k(ranked, {"rel": 1}, 10) == 0.0
    assert ndcg_at_k(["z"], {"z": 0}) == 0.0  # a zero grade is not relevant
    assert ndcg_at_k([], {"a": 1}) == 0.0


def test_ideal_dcg_is_cut_at_k() -> None:
    # 3 relevant docs, k=2: ideal is 1 + 1/log2(3); finding two of them at ranks 1-2 is perfect
    assert ndcg_at_k(["a", "b"], {"a": 1, "b": 1, "c": 1}, k=2) == pytest.approx(1.0)


def test_recall_and_reciprocal_rank() -> None:
    qrels = {"a": 1, "b": 1, "c": 0}
    ranked = ["x", "y", "a", "c"]
    assert recall_at_k(ranked, qrels, 10) == 0.5
    assert recall_at_k(ranked, qrels, 2) == 0.0
    assert recall_at_k(ranked, {}, 10) == 0.0
    assert reciprocal_rank(ranked, qrels) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranked, qrels, k=2) == 0.0
    assert reciprocal_rank(["c"], qrels) == 0.0


def test_ranking_scores_of_a_perfect_ranking() -> None:
    scores = ranking_scores(["a", "b"], {"a": 1, "b": 1})
    assert scores == {"ndcg@10": 1.0, "recall@10": 1.0, "recall@100": 1.0, "mrr@10": 1.0}


def test_squad_normalisation() -> None:
    assert normalize_answer("The  Norman's, conquest!") == "normans conquest"
    assert normalize_answer("an apple a day") == "apple day"
    assert exact_match("the France.", "France") == 1.0
    assert exact_match("in France", "France") == 0.0


def test_token_f1_by_hand() -> None:
    assert token_f1("in northern France", "France") == pytest.approx(0.5)  # P 1/3, R 1
    assert token_f1("10th and 11th centuries", "10th century") == pytest.approx(
        2 * (1 / 4) * (1 / 2) / (3 / 4)
    )
    assert token_f1("", "") == 1.0
    assert token_f1("something", "") == 0.0
    assert token_f1("", "France") == 0.0
    assert token_f1("Paris", "France") == 0.0


def test_best_over_golds_and_unanswerable() -> None:
    assert best_over_golds("France", ["Normandy", "France"]) == (1.0, 1.0)
    assert best_over_golds("", []) == (1.0, 1.0)  # abstaining on an unanswerable question
    assert best_over_golds("Paris", []) == (0.0, 0.0)
    assert best_over_golds("", ["France"]) == (0.0, 0.0)


def test_contains_gold_needs_whole_words() -> None:
    assert contains_gold("Normandy is in France.", ["france"])
    assert not contains_gold("Francesca", ["France"])
    assert not contains_gold("anything", [""])


def test_abstention_precision_and_recall() -> None:
    scores = abstention_scores([True, True, False, False], [True, False, True, False])
    assert scores == {"precision": 0.5, "recall": 0.5, "f1": 0.5}
    none = abstention_scores([False, False], [True, False])
    assert none["precision"] is None and none["recall"] == 0.0 and none["f1"] is None
    assert abstention_scores([True], [False])["recall"] is None
    with pytest.raises(ValueError):
        abstention_scores([True], [])


def test_percentile_interpolates() -> None:
    assert percentile([4, 1, 3, 2], 50) == 2.5
    assert percentile([1, 2, 3, 4], 95) == pytest.approx(3.85)
    assert percentile([7], 95) == 7
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_paired_difference_by_hand() -> None:
    # diffs 1, 0, 0: mean 1/3, sample variance 1/3, standard error sqrt(1/3 / 3) = 1/3
    avg, se = paired_difference([1, 0, 1], [0, 0, 1])
    assert avg == pytest.approx(1 / 3)
    assert se == pytest.approx(1 / 3)
    assert paired_difference([1.0], [0.0]) == (1.0, 0.0)
    with pytest.raises(ValueError):
        paired_difference([], [])
