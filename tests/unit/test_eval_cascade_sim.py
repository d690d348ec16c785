"""Cascades simulated from recorded answers: which step serves, what is added up, the Pareto
front, the recommendation and the issue's goal checks."""

from __future__ import annotations

import pytest

from evaluation.answers import answers_from_records
from evaluation.cascade_sim import (
    Step,
    cascade_section,
    cascades,
    goal_checks,
    pareto_front,
    recommend,
    simulate,
    snippet,
)
from tests.unit.eval_records import Said, record

SMALL_SURE_RIGHT = Step(True, 0.9, 1.0, 0.0, False)
SMALL_UNSURE_WRONG = Step(False, 0.2, 1.0, 0.0, False)
SMALL_SURE_WRONG = Step(False, 0.8, 1.0, 0.0, False)
LARGE_RIGHT = Step(True, 0.6, 3.0, 0.0, False)
HOSTED_RIGHT = Step(True, None, 2.0, 0.002, True)


def test_the_first_step_clearing_its_threshold_is_served_and_every_step_run_is_added_up() -> None:
    questions = [
        [SMALL_SURE_RIGHT, LARGE_RIGHT, HOSTED_RIGHT],  # served by step 1: 1 s
        [SMALL_UNSURE_WRONG, LARGE_RIGHT, HOSTED_RIGHT],  # step 2 (0.6 >= 0.5): 1 + 3 s
        [SMALL_UNSURE_WRONG, Step(False, 0.1, 3.0, 0.0, False), HOSTED_RIGHT],  # step 3: 1 + 3 + 2 s, $0.002
        [SMALL_SURE_WRONG, LARGE_RIGHT, HOSTED_RIGHT],  # step 1 is sure and wrong
    ]
    point = simulate(["slm", "slm-large", "llm"], [0.7, 0.5], questions)
    assert point["quality"]["value"] == 0.75
    assert point["compute_s"] == pytest.approx((1 + 4 + 4 + 1) / 4)  # the hosted step's 2 s are not ours
    assert point["latency_mean_s"] == pytest.approx((1 + 4 + 6 + 1) / 4)
    assert point["latency_p95_s"] == 6.0
    assert point["cost_usd_per_1k"] == pytest.approx(1000 * 0.002 / 4)
    assert point["off_premises"]["value"] == 0.25
    assert point["reached"] == {"slm": 1.0, "slm-large": 0.5, "llm": 0.25}
    assert point["served"] == {"slm": 0.5, "slm-large": 0.25, "llm": 0.25}


def test_the_last_step_is_served_whatever_its_confidence() -> None:
    point = simulate(["slm", "slm-large"], [0.95], [[SMALL_SURE_RIGHT, Step(True, 0.01, 3.0, 0.0, False)]])
    assert point["served"] == {"slm": 0.0, "slm-large": 1.0} and point["quality"]["value"] == 1.0


def test_cascades_keep_the_order_of_cost() -> None:
    assert cascades(["a", "b", "c"]) == [("a", "b"), ("a", "c"), ("b", "c"), ("a", "b", "c")]


def _point(name: str, quality: float, compute: float, cost: float = 0.0) -> dict[str, object]:
    return {
        "steps": [name],
        "thresholds": [],
        "quality": {"value": quality},
        "compute_s": compute,
        "cost_usd_per_1k": cost,
        "latency_mean_s": compute,
    }


def test_the_pareto_front_keeps_only_points_nothing_beats() -> None:
    points = [
        _point("cheap", 0.5, 1.0),
        _point("dear", 0.8, 3.0),
        _point("worse", 0.5, 2.0),  # as good as cheap, more compute
        _point("mid", 0.7, 2.0),
        _point("twin", 0.7, 2.0),  # equal to mid: both stay
        _point("paid", 0.8, 1.5, cost=1.0),  # less compute than dear, but costs money
    ]
    front = [p["steps"][0] for p in pareto_front(points)]
    assert front == ["cheap", "paid", "mid", "twin", "dear"]


def test_the_recommendation_is_the_cheapest_within_two_points_of_the_strongest() -> None:
    singles = [_point("slm", 0.5, 1.0), _point("slm-large", 0.7, 3.0)]
    points = [_point("c1", 0.685, 2.0), _point("c2", 0.69, 2.5), _point("c3", 0.67, 1.5)]
    rec = recommend(singles, points)
    assert rec is not None and rec["strongest"] == "slm-large" and rec["choice"]["steps"] == ["c1"]
    assert recommend(singles, [_point("c3", 0.67, 1.5)])["choice"]["steps"] == ["slm-large"]  # type: ignore[index]


def test_the_snippet_is_a_generators_file_entry() -> None:
    text = snippet({"steps": ["slm", "slm-large"], "thresholds": [0.6]})
    assert "kind: cascade" in text and "steps: [slm, slm-large]" in text and "thresholds: [0.60]" in text
    assert "use the generator slm" in snippet({"steps": ["slm"], "thresholds": []})


def _pair(slm_p: float, slm_right: bool, large_right: bool) -> dict[str, Said]:
    return {
        "slm": Said(slm_right, {"self_check": slm_p}, total_s=1.0),
        "slm-large": Said(large_right, {"self_check": 0.5}, total_s=3.0),
    }


def test_the_goal_check_finds_the_threshold_escalating_the_fewest() -> None:
    # 10 questions: slm is right and sure on 5, wrong and unsure on 5; slm-large right on 8
    answers = [_pair(0.9, True, i != 0) for i in range(5)] + [_pair(0.1, False, i != 0) for i in range(5)]
    data = answers_from_records([record(f"q{i}", a) for i, a in enumerate(answers)], "d")
    probabilities = {
        "slm": {f"d:q{i}": (0.9 if i < 5 else 0.1) for i in range(10)},
        "slm-large": {f"d:q{i}": 0.5 for i in range(10)},
    }
    confidence = {"generators": {g: {"probabilities": p} for g, p in probabilities.items()}}
    section = cascade_section(data, confidence)
    assert [s["quality"]["value"] for s in section["singles"]] == [0.5, 0.8]
    (goal,) = section["goals"]
    assert goal["met"] and goal["best"]["reached"]["slm-large"] == 0.5
    assert goal["best"]["quality"]["value"] == 0.9  # slm right where slm-large was wrong
    assert section["recommendation"]["choice"]["steps"] == ["slm", "slm-large"]
    assert section["recommendation"]["choice"]["compute_s"] == pytest.approx(2.5)


def test_goals_not_met_and_the_hosted_goal() -> None:
    singles = [
        {**_point("slm", 0.5, 1.0), "off_premises": {"value": 0.0}},
        {**_point("slm-large", 0.8, 3.0), "off_premises": {"value": 0.0}},
        {**_point("llm", 0.9, 0.0, 1.0), "off_premises": {"value": 1.0}},
    ]
    pair = {
        **_point("x", 0.79, 2.0),
        "steps": ["slm", "slm-large"],
        "reached": {"slm": 1.0, "slm-large": 0.7},
        "off_premises": {"value": 0.0},
    }
    hosted = {**_point("y", 0.89, 2.0, 0.4), "steps": ["slm", "llm"], "off_premises": {"value": 0.4}}
    checks = goal_checks(singles, [pair, hosted])
    assert [c["met"] for c in checks] == [False, True]
    assert checks[0]["best"]["steps"] == ["slm", "slm-large"]  # none kept slm-large under 60%: the closest
    assert "llm" in checks[1]["goal"]


def test_a_generator_whose_every_answer_failed_is_left_out() -> None:
    records = [record(f"q{i}", {"slm": Said(True), "llm": Said(False, error="down")}) for i in range(3)]
    section = cascade_section(answers_from_records(records, "d"), {"generators": {}}, ["slm", "llm"])
    assert section["order"] == ["slm"] and section["points"] == [] and section["singles"][0]["questions"] == 3
