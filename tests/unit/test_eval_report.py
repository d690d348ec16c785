"""The recommendation drawn from numbers, and the HTML report rendered from results alone."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

from evaluation.decision import decide
from evaluation.paired import all_pairs
from evaluation.recommend import qa_advice, recommend, retrieval_advice
from evaluation.report import render_report, write_outputs


def retrieval_section(default_alpha: float, per_method: dict[str, list[float]]) -> dict[str, Any]:
    alphas = {"bm25": 0.0, "vector": 1.0, "hybrid@0.5": 0.5, "hybrid@0.75": 0.75}
    n = len(next(iter(per_method.values())))
    per_query = [
        {"id": str(i), "methods": {m: {"ndcg@10": v[i]} for m, v in per_method.items()}} for i in range(n)
    ]
    methods = [
        {
            "name": m,
            "alpha": alphas[m],
            "queries": n,
            "ndcg@10": sum(v) / n,
            "recall@10": 0.5,
            "recall@100": 0.9,
            "mrr@10": 0.4,
            "latency_p50_s": 0.01,
            "latency_p95_s": 0.02,
        }
        for m, v in per_method.items()
    ]
    return {
        "queries": n,
        "depth": 100,
        "methods": methods,
        "default_alpha": default_alpha,
        "per_query": per_query,
    }


def test_a_clearly_better_alpha_is_recommended() -> None:
    section = retrieval_section(
        0.5,
        {
            "bm25": [0.5] * 20,
            "vector": [0.4] * 20,
            "hybrid@0.5": [0.5, 0.6] * 10,
            "hybrid@0.75": [0.7, 0.8] * 10,
        },
    )
    advice = " ".join(retrieval_advice(section))
    assert "Set DOCDUET_ALPHA=0.75" in advice
    assert "BM25) reaches nDCG@10 0.500, vector search alone 0.400" in advice


def test_a_difference_within_the_noise_keeps_the_default() -> None:
    section = retrieval_section(
        0.5,
        {
            "bm25": [0.1] * 4,
            "vector": [0.1] * 4,
            "hybrid@0.5": [0.5, 0.9, 0.1, 0.5],
            "hybrid@0.75": [0.9, 0.1, 0.5, 0.6],
        },
    )
    advice = " ".join(retrieval_advice(section))
    assert "Keep the current default alpha 0.5" in advice and "within the noise" in advice


def test_the_default_itself_being_best_says_keep_it() -> None:
    section = retrieval_section(0.5, {"bm25": [0.1] * 3, "vector": [0.2] * 3, "hybrid@0.5": [0.9] * 3})
    assert "is the best method tried" in " ".join(retrieval_advice(section))


def qa_summary(correct: float, *, errors: int = 0, questions: int = 10, cost: float = 0.0) -> dict[str, Any]:
    keys = (
        "em",
        "f1",
        "abstention_recall",
        "abstention_precision",
        "answerable_em",
        "answerable_f1",
        "answerable_contains",
        "citation_precision",
        "citation_recall",
        "attributed_share",
        "abstention_f1",
    )
    return {
        **dict.fromkeys(keys, 0.5),
        "questions": questions,
        "errors": errors,
        "correct": correct,
        "answerable": 6,
        "unanswerable": 4,
        "latency_p50_s": 1.0,
        "latency_p95_s": 2.0,
        "first_token_p50_s": 0.3,
        "first_token_p95_s": 0.6,
        "prompt_tokens_per_1k": 1e5,
        "completion_tokens_per_1k": 1e4,
        "cost_usd_per_1k": cost,
    }


def qa_section(right_slm: list[bool], right_llm: list[bool], llm_error: str | None = None) -> dict[str, Any]:
    records = []
    for i, (a, b) in enumerate(zip(right_slm, right_llm, strict=True)):
        answers = {}
        for name, right in (("slm", a), ("llm", b)):
            error = llm_error if name == "llm" else None
            scores = {"correct": right and not error, "f1": float(right), "error": error, "total_s": 1.0}
            answers[name] = {"answer": {"text": "France" if right else "Paris"}, "scores": scores}
        records.append({"id": f"q{i}", "question": f"Q{i}?", "gold": ["France"], "answers": answers})
    n = len(records)
    llm_errors = n if llm_error else 0
    summary = {
        "slm": qa_summary(sum(right_slm) / n, questions=n),
        "llm": qa_summary(
            0.0 if llm_error else sum(right_llm) / n, errors=llm_errors, questions=n, cost=0.42
        ),
    }
    return {
        "generators": ["slm", "llm"],
        "labels": {"slm": "the local model", "llm": "the hosted model"},
        "questions": n,
        "unanswerable": 0,
        "retrieval_recall": 0.5,
        "summary": summary,
        "records": records,
    }


def test_qa_advice_leads_with_the_clearly_better_model_and_flags_retrieval() -> None:
    text = qa_advice(qa_section([False] * 20, [True] * 20))
    assert text[0].startswith("Use `llm`: on these 20 questions it answers 100.0 points more correctly than")
    assert "at $0.42 of cost against $0 and 100% of its latency" in text[0]
    assert "Retrieval found the passage holding the answer for only 50.0%" in text[-1]
    assert all("the hosted model (llm)" not in p for p in text)  # labels live in the table, once


def test_qa_advice_never_calls_an_underpowered_tie_good_enough() -> None:
    text = " ".join(qa_advice(qa_section([True, False] * 5, [False, True] * 5)))
    assert "good enough" not in text and "not distinguishable" not in text
    assert "No decision yet: on these 10 questions `slm` and `llm` cannot be told apart" in text
    assert "the test had too little power, and about " in text and "more) would decide" in text


def test_an_unconfigured_generator_is_reported_not_compared() -> None:
    text = " ".join(qa_advice(qa_section([True] * 3, [True] * 3, llm_error="set OPENAI_API_KEY")))
    assert "could not be evaluated: every answer failed (set OPENAI_API_KEY)" in text
    assert "better on these" not in text


def test_report_renders_every_section_with_plots(tmp_path: Path) -> None:
    results: dict[str, Any] = {
        "started": "2025-01-01T00:00:00+00:00",
        "wall_s": 12.5,
        "dataset": {"name": "tiny", "kind": "beir", "path": "/x/tiny", "sources": ["Tiny set <CC0>"]},
        "settings": {"alpha": 0.5, "top_k": 5},
        "index": {
            "collection": "DocduetEval_x",
            "documents": 2,
            "written": 2,
            "reused": False,
            "seconds": 1.0,
        },
        "retrieval": retrieval_section(
            0.5, {"bm25": [0.5] * 4, "vector": [0.6] * 4, "hybrid@0.5": [0.7] * 4}
        ),
        "qa": qa_section([True, False, True], [True, True, False]),
        "judge": {
            "endpoint": "http://127.0.0.1:1/v1",
            "summary": {
                "slm": {
                    "judged": 3,
                    "mean_score": 0.5,
                    "skipped": 0,
                    "unparsed": 0,
                    "failed": 0,
                    "kappa": {"kappa": 0.62, "ci95": [0.35, 0.85], "agreement": 0.84, "n": 40},
                }
            },
            "agreement": {"kappa": None, "ci95": None, "agreement": 1.0, "n": 3},
        },
        "feedback": [
            {
                "generator": "slm",
                "answers": 4,
                "wins": 1,
                "good": 2,
                "mean_total_s": 1.5,
                "total_cost_usd": 0.0,
            }
        ],
    }
    results["qa"]["outcomes"] = {"both": ["q0"], "only_slm": ["q2"], "only_llm": ["q1"], "neither": []}
    results["qa"]["pairs"] = all_pairs(results["qa"]["records"], ["slm", "llm"], resamples=200)
    results["qa"]["summary"]["slm"]["ci95"] = {"correct": [0.1, 0.9], "latency_p50_s": [0.5, 1.5]}
    results["decision"] = decide(results["qa"])
    results["retrieval"]["methods"][0]["ci95"] = {"ndcg@10": [0.4, 0.6]}
    results["recommendation"] = recommend(results)
    results_path, report_path = write_outputs(tmp_path / "out", results)
    assert json.loads(results_path.read_text())["dataset"]["name"] == "tiny"
    html = report_path.read_text()
    for heading in (
        "Recommendation",
        "Retrieval",
        "Answers",
        "Where the generators disagree",
        "slm failed, llm did not: 1",
        "llm failed, slm did not: 1",
        "LLM-as-judge",
        "Feedback from people using the chat",
        "Paired comparisons",
        "Generators-file snippet",
        "Data sources and licences",
        "Method notes",
    ):
        assert heading in html, heading
    assert "Tiny set &lt;CC0&gt;" in html  # escaped
    assert "κ 0.62 [0.35–0.85] (agree 84.0%, n 40)" in html  # the judge's agreement with gold
    assert "over all generators κ undefined (one class only) (agree 100.0%, n 3)" in html
    assert "/x/tiny" not in html and "<code>tiny</code>" in html  # no absolute path in a shared report
    assert "0.500 [0.400–0.600]" in html  # retrieval figures too
    assert "50.0% [15–85]" in html  # people's ratings: 2 good of 4, Wilson interval
    assert "66.7% [10–90]" in html and "1.00 s [0.50–1.50]" in html  # figures with their intervals
    assert html.count("the local model") == 1  # a generator's full label once, in the decision table
    images = re.findall(r"data:image/png;base64,([A-Za-z0-9+/=]+)", html)
    assert len(images) == 3
    assert all(base64.b64decode(i).startswith(b"\x89PNG") for i in images)


def test_report_of_a_judge_that_could_not_run() -> None:
    results = {
        "started": "t",
        "wall_s": 1.0,
        "recommendation": ["x"],
        "settings": {},
        "dataset": {"name": "n", "kind": "squad", "path": "p", "sources": []},
        "judge": {"endpoint": "", "summary": {}, "grades": [], "error": "the hosted LLM is not configured"},
    }
    assert "Not run: the hosted LLM is not configured" in render_report(results)
