"""The decision an admin can apply: the sentence, the table and the generators-file snippet."""

from __future__ import annotations

from typing import Any

import yaml
from eval_records import Said, record

from evaluation.decision import decide
from evaluation.paired import all_pairs

COST = {"slm": 0.5, "mid": 1.0, "llm": 2.0}
LATENCY = {"slm": 1.0, "mid": 1.5, "llm": 2.0}


def qa(rights: dict[str, list[bool]]) -> dict[str, Any]:
    """A qa section: one record per question, each generator right or not as given."""
    names = list(rights)
    n = len(rights[names[0]])
    records = [
        record(f"q{i}", {g: Said(rights[g][i], off_premises=g == "llm") for g in names}) for i in range(n)
    ]
    summary = {
        g: {
            "questions": n,
            "errors": 0,
            "correct": sum(rights[g]) / n,
            "latency_p50_s": LATENCY[g],
            "compute_s_mean": LATENCY[g] if g != "llm" else 0.0,
            "total_usd_per_1k": COST[g],
            "total_usd_per_month": COST[g] * 10,
            "ci95": {"correct": [0.1, 0.9]},
        }
        for g in names
    }
    return {
        "generators": names,
        "labels": {"slm": "Small local model · Qwen 0.5B", "mid": "mid", "llm": "Hosted model"},
        "questions": n,
        "summary": summary,
        "records": records,
        "pairs": all_pairs(records, names, resamples=300),
        "specs": {
            "slm": {
                "id": "slm",
                "kind": "llama_cpp",
                "model": "/home/me/qwen",
                "on_premises": True,
                "threads": 2,
            }
        },
        "pricing": {"per_month": 10_000},
    }


def test_equivalent_on_enough_questions_the_cheaper_local_model_is_chosen() -> None:
    decision = decide(qa({"slm": [True] * 70 + [False] * 30, "llm": [True] * 70 + [False] * 30}))
    assert decision is not None and decision["choice"] == "slm" and decision["reference"] == "llm"
    assert decision["headline"] == (
        "Use `slm`: on these 100 questions it is within 0.0 points of `llm` [+0.0, +0.0] at 25% of its cost "
        "and 50% of its latency, sending nothing off the premises."
    )


def test_a_clearly_better_dearer_model_is_chosen_with_its_interval() -> None:
    decision = decide(qa({"slm": [False] * 15 + [True] * 5, "llm": [True] * 20}))
    assert decision is not None and decision["choice"] == "llm"
    assert decision["headline"].startswith(
        "Use `llm`: on these 20 questions it answers 75.0 points more correctly"
    )
    assert "at 400% of its cost" in decision["headline"]
    assert decision["headline"].endswith("sending passages off the premises for 100.0% of the questions.")


def test_an_underpowered_comparison_says_so_and_how_many_questions_would_decide() -> None:
    slm = [True] * 8 + [False] * 12
    llm = [True] * 8 + [True] * 4 + [False] * 8  # llm ahead on 4 questions of 20: p = 0.125
    decision = decide(qa({"slm": slm, "llm": llm}))
    assert decision is not None and decision["choice"] == "slm"
    text = decision["headline"]
    assert text.startswith("No decision yet: on these 20 questions `slm` and `llm` cannot be told apart")
    assert "McNemar p = 0.12" in text and "the test had too little power, and about" in text
    assert "Until then `slm` is the cheaper choice, at 25% of its cost" in text
    assert "within" not in text and "better" not in text


def test_the_cheapest_generator_beaten_by_another_is_passed_over() -> None:
    rights = {
        "slm": [False] * 20,
        "mid": [True] * 16 + [False] * 4,
        "llm": [True] * 20,
    }
    decision = decide(qa(rights))
    assert decision is not None and decision["choice"] == "mid" and decision["reference"] == "llm"
    rows = decision["table"]["rows"]
    assert [r[0].split(" ")[0] for r in rows] == ["mid", "slm", "llm"]  # the choice first
    assert rows[0][2] == "(choice)" and rows[1][4] == "0 / 4 / 16"  # slm vs mid: wins / ties / losses
    assert rows[2][0] == "llm (Hosted model)" and rows[2][9] == "100.0%"
    assert decision["table"]["header"][8] == "cost per month at 10,000 questions"


def test_the_snippet_is_a_generators_file_entry_and_carries_a_recommended_cascade() -> None:
    section = qa({"slm": [True] * 10, "llm": [True] * 10})
    plain = decide(section)
    assert plain is not None and plain["cascade"] is None
    parsed = yaml.safe_load(plain["snippet"])
    assert parsed["generators"] == [
        {"id": "slm", "kind": "llama_cpp", "on_premises": True, "model": "<path>/qwen", "threads": 2}
    ]
    point = {
        "steps": ["slm", "llm"],
        "thresholds": [0.6],
        "quality": {"value": 0.9, "ci95": [0.8, 0.95]},
        "compute_s": 1.0,
        "cost_usd_per_1k": 0.5,
    }
    strongest = {"steps": ["llm"], "compute_s": 0.0, "cost_usd_per_1k": 2.0}
    cascade = {
        "singles": [strongest],
        "recommendation": {
            "strongest": "llm",
            "choice": point,
            "snippet": "  - id: cascade\n    kind: cascade\n",
        },
    }
    with_cascade = decide(section, cascade)
    assert with_cascade is not None and "  - id: cascade" in with_cascade["snippet"]
    assert with_cascade["cascade"].startswith(
        "The cascade slm → llm (thresholds 0.60) reaches 90.0% correct [80, 95], "
        "within 2 points of `llm` alone"
    )
    assert "at 1.0 s of compute against 0 s and 25% of its money" in with_cascade["cascade"]


def test_no_usable_generator_means_no_decision() -> None:
    section = qa({"slm": [True] * 3})
    section["summary"]["slm"]["errors"] = 3
    assert decide(section) is None
