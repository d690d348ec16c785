"""``docduet eval`` on SQuAD 2.0 questions with the real local model (and a loopback hosted one)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from eval_data import eval_set_path

from core.domain import User
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import evaluation_parts, run_ingest
from evaluation.run import EvalOptions, EvalOutcome, run_eval

pytestmark = pytest.mark.integration

SQUAD = eval_set_path("squad2-mini")
# Without the set these tests are skipped with the fetch command (`make eval-data`); CI sets
# DOCDUET_REQUIRE_EVAL_DATA=1, under which they fail instead (tests/eval_data.py).


def evaluate(settings: Settings, options: EvalOptions) -> EvalOutcome:
    """``docduet eval``'s run: the evaluation with its parts from the composition root."""
    with evaluation_parts(settings) as parts:
        return run_eval(settings, options, parts=parts)


def in_unit_range(value: float | None) -> bool:
    return value is None or 0.0 <= value <= 1.0


QUESTIONS = 12
"""Enough for answerable and unanswerable questions (SQuAD 2.0 mixes them); each costs a real answer."""


@pytest.mark.slow
@pytest.mark.eval_data("squad2-mini")
def test_squad_slice_with_the_local_model_resumes(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = make_settings(slm_threads=1, slm_max_tokens=16, embedding_threads=1, top_k=2)
    options = EvalOptions(dataset=SQUAD, out=tmp_path / "out", limit=QUESTIONS, generators=("slm",))
    first = evaluate(settings, options)

    qa = first.results["qa"]
    assert qa["questions"] == QUESTIONS and 0 < qa["unanswerable"] < QUESTIONS
    assert first.results["index"]["documents"] == 131
    s = qa["summary"]["slm"]
    assert s["questions"] == QUESTIONS and s["errors"] == 0
    for key in (
        "em",
        "f1",
        "correct",
        "answerable_f1",
        "abstention_precision",
        "abstention_recall",
        "citation_precision",
        "citation_recall",
        "attributed_share",
    ):
        assert in_unit_range(s[key]), (key, s[key])
    assert s["f1"] >= s["em"]
    assert 0 < s["latency_p50_s"] <= s["latency_p95_s"] < 120
    assert 0 < s["first_token_p50_s"] <= s["latency_p95_s"]
    assert s["prompt_tokens_per_1k"] > s["completion_tokens_per_1k"] > 0
    assert s["cost_usd_per_1k"] == 0.0  # a local model costs nothing per token
    assert in_unit_range(qa["retrieval_recall"]) and qa["retrieval_recall"] > 0.5
    record = qa["records"][0]
    assert record["answers"]["slm"]["answer"]["generator"] == "slm"
    html = first.report_path.read_text()
    assert "Answers" in html and "data:image/png;base64," in html and "CC BY-SA 4.0" in html

    again = evaluate(settings, options)  # everything is in the checkpoint: no model call
    assert again.results["resumed"] == QUESTIONS and again.results["index"]["reused"]
    assert again.results["qa"]["summary"] == qa["summary"]
    assert again.results["wall_s"] < first.results["wall_s"] / 3


@pytest.mark.eval_data("squad2-mini")
def test_both_generators_and_the_judge_on_a_loopback_endpoint(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    llama_server_port: int,
) -> None:
    settings = make_settings(
        slm_threads=1,
        slm_max_tokens=16,
        llm_max_tokens=24,
        embedding_threads=1,
        top_k=2,
        DOCDUET_LLM_BASE_URL=f"http://127.0.0.1:{llama_server_port}/v1",
        llm_model="local",
    )
    options = EvalOptions(dataset=SQUAD, out=tmp_path / "out", limit=3, generators=("slm", "llm"), judge=True)
    outcome = evaluate(settings, options)

    qa = outcome.results["qa"]
    assert set(qa["summary"]) == {"slm", "llm"}
    assert qa["summary"]["llm"]["errors"] == 0, [
        r["answers"]["llm"]["scores"]["error"] for r in qa["records"]
    ]
    assert qa["summary"]["llm"]["cost_usd_per_1k"] > 0  # priced per token, unlike the local model
    assert sum(len(ids) for ids in qa["outcomes"].values()) == 3
    judge = outcome.results["judge"]
    assert judge["endpoint"].startswith("http://127.0.0.1")
    for name in ("slm", "llm"):
        j = judge["summary"][name]
        assert j["judged"] + j["skipped"] + j["unparsed"] + j["failed"] == 3
        assert in_unit_range(j["mean_score"])
    saved = json.loads(outcome.results_path.read_text())
    assert saved["judge"]["grades"] and "Where the generators disagree" in outcome.report_path.read_text()


def test_jsonl_questions_run_against_the_existing_index_as_a_user(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "canteen.md").write_text(
        "# Canteen\n\nThe staff canteen opens at 07:30 and closes at 15:00 on weekdays.\n"
    )
    (docs / "parking.md").write_text(
        "# Parking\n\nVisitors park on level -2 of the west garage, bay 40 to 80.\n"
    )
    settings = make_settings(slm_threads=1, slm_max_tokens=16, embedding_threads=1, top_k=2)
    assert not run_ingest(settings, [docs], progress=NullProgress()).failed  # default group: employees
    questions = tmp_path / "questions.jsonl"
    questions.write_text(
        json.dumps({"id": "open", "question": "When does the staff canteen open?", "answers": ["07:30"],
                    "source": "canteen.md"}) + "\n"
        + json.dumps({"id": "cup", "question": "Who won the 1998 football World Cup?", "answers": []}) + "\n"
    )  # fmt: skip
    employee = User("erin", ("employees",))
    options = EvalOptions(dataset=questions, out=tmp_path / "out", generators=("slm",), user=employee)
    outcome = evaluate(settings, options)

    assert "index" not in outcome.results and outcome.results["dataset"]["documents"] is None
    records = {r["id"]: r for r in outcome.results["qa"]["records"]}
    assert records["open"]["source_retrieved"] is True  # the gold source matched as a path suffix
    assert records["open"]["hits"][0]["source"].endswith("/canteen.md")
    assert records["cup"]["unanswerable"] and outcome.results["qa"]["unanswerable"] == 1
    anonymous = evaluate(settings, EvalOptions(dataset=questions, out=tmp_path / "anon", generators=("slm",)))
    hits = [h for r in anonymous.results["qa"]["records"] for h in r["hits"]]
    assert hits == []  # an anonymous asker reads no employee document
