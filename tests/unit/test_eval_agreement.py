"""The judge checked: Cohen's kappa of its grades against gold, on items that have gold."""

from __future__ import annotations

from typing import Any

import pytest
from eval_records import Said, record

from evaluation.agreement import cohen_kappa, judge_agreement


def test_cohen_kappa_is_agreement_beyond_chance() -> None:
    assert cohen_kappa([True, False, True, False], [True, False, True, False]) == 1.0
    assert cohen_kappa([True, True, False, False], [True, False, True, False]) == 0.0
    # 20 items: both yes 8, both no 6, judge-only yes 4, gold-only yes 2
    # -> observed .7, chance .6*.5 + .4*.5 = .5, kappa (.7 - .5) / (1 - .5) = .4
    judge = [True] * 8 + [False] * 6 + [True] * 4 + [False] * 2
    gold = [True] * 8 + [False] * 6 + [False] * 4 + [True] * 2
    assert cohen_kappa(judge, gold) == pytest.approx(0.4)
    assert cohen_kappa([True, True], [True, True]) is None  # one class only: chance agreement is total
    assert cohen_kappa([], []) is None


def grade(qid: str, generator: str, score: int | None) -> dict[str, Any]:
    return {"id": f"{qid}|{generator}", "question": qid, "generator": generator, "score": score}


def test_judge_agreement_uses_graded_items_with_gold_only() -> None:
    records = [record(f"q{i}", {"slm": Said(i % 2 == 0)}) for i in range(6)]
    records.append(record("u", {"slm": Said(True)}, unanswerable=True))  # gold: marked unanswerable
    nogold = record("n", {"slm": Said(True)})
    nogold["gold"] = []  # answers unknown and not marked unanswerable: no gold to check against
    records.append(nogold)
    grades = [grade(f"q{i}", "slm", 2 if i % 2 == 0 else 0) for i in range(6)]
    grades += [grade("u", "slm", 2), grade("n", "slm", 0), grade("q9", "slm", None)]
    result = judge_agreement(records, grades, ["slm"])
    slm = result["per_generator"]["slm"]
    assert (slm["kappa"], slm["agreement"], slm["n"]) == (1.0, 1.0, 7)
    assert result["all"]["n"] == 7


def test_a_partly_correct_grade_counts_as_not_correct() -> None:
    records = [record("q0", {"slm": Said(True)}), record("q1", {"slm": Said(False)})]
    result = judge_agreement(records, [grade("q0", "slm", 1), grade("q1", "slm", 0)], ["slm"])
    assert result["per_generator"]["slm"]["agreement"] == 0.5
