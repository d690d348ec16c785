"""Per-answer scores, their summary per generator and the disagreement groups."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fakes import make_chunk

from chat.results import NOT_FOUND_TEXT, Comparison, Retrieval
from core.domain import Answer, Citation, Hit, Privacy, Sensitivity, Timings, Usage
from core.prompt import ABSTAIN_TEXT
from evaluation.datasets import QAItem
from evaluation.scoring import outcomes, question_record, same_source, score_answer, summarize

ANSWERABLE = QAItem("q1", "Where is Normandy?", ("France", "in France"), "Normans#1")
UNANSWERABLE = QAItem("q2", "Who ruled in 1500?", (), "Normans#1")


def citation(number: int, source: str, support: float = 0.8, attributed: bool = False) -> Citation:
    return Citation(number, source, "Normans", "", None, "snippet", support, attributed)


def answer(
    text: str,
    *,
    generator: str = "slm",
    citations: tuple[Citation, ...] = (),
    flagged: tuple[int, ...] = (),
    abstained: bool = False,
    error: str | None = None,
    total_s: float = 2.0,
    first: float | None = 0.5,
    tokens: tuple[int, int] = (100, 10),
    cost: float = 0.0,
) -> Answer:
    return Answer(
        generator=generator,
        text=text,
        citations=citations,
        timings=Timings(0.01, first, total_s),
        usage=Usage(tokens[0], tokens[1], cost),
        privacy=Privacy("local", False, (), 0),
        abstained=abstained,
        error=error,
        flagged_markers=flagged,
    )


def test_a_cited_correct_answer() -> None:
    s = score_answer(ANSWERABLE, answer("Normandy is in France [1].", citations=(citation(1, "Normans#1"),)))
    assert s["prediction"] == "Normandy is in France."
    # best gold "in France": 2 of the 4 predicted tokens, both gold tokens: F1 = 2 * 0.5 * 1 / 1.5
    assert s["em"] == 0.0 and s["f1"] == pytest.approx(2 / 3)
    assert s["contains"] is True and s["correct"] is True
    assert s["gold_cited"] is True
    assert (s["markers_written"], s["markers_supported"], s["attributed"]) == (1, 1, 0)


def test_a_rejected_marker_lowers_citation_precision() -> None:
    a = answer("France [1].", citations=(citation(1, "Other#2"),), flagged=(3,))
    s = score_answer(ANSWERABLE, a)
    assert s["em"] == 1.0 and s["gold_cited"] is False
    assert (s["markers_written"], s["markers_supported"]) == (2, 1)


def test_shown_citation_precision_checks_every_citation_shown_against_the_gold_source() -> None:
    shown = (citation(1, "Normans#1"), citation(2, "Other#2", attributed=True))
    scored = [
        (ANSWERABLE, answer("France [1][2].", citations=shown)),
        (ANSWERABLE, answer("In France [1].", citations=shown[:1])),
        (UNANSWERABLE, answer("Rollo [2].", citations=shown[1:])),
    ]
    records = [
        {"unanswerable": item.unanswerable, "answers": {"slm": {"scores": score_answer(item, a)}}}
        for item, a in scored
    ]
    assert records[0]["answers"]["slm"]["scores"]["citations_gold"] == 1
    assert summarize(records, "slm")["shown_citation_precision"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "a",
    [
        answer(ABSTAIN_TEXT, abstained=True),
        answer(ABSTAIN_TEXT),  # text only: still an abstention
        answer("I don't know."),
        answer(NOT_FOUND_TEXT, abstained=True),
    ],
)
def test_abstentions_are_right_on_unanswerable_questions(a: Answer) -> None:
    s = score_answer(UNANSWERABLE, a)
    assert s["abstained"] and s["prediction"] == ""
    assert (s["em"], s["f1"], s["correct"]) == (1.0, 1.0, True)
    assert s["contains"] is None and s["gold_cited"] is None
    wrong = score_answer(ANSWERABLE, a)
    assert (wrong["em"], wrong["f1"], wrong["correct"]) == (0.0, 0.0, False)


def test_an_error_is_wrong_and_not_an_abstention() -> None:
    s = score_answer(UNANSWERABLE, answer("", error="the hosted LLM is not configured"))
    assert s["abstained"] is False and s["correct"] is False and s["em"] == 0.0
    assert s["error"].startswith("the hosted LLM")


def test_an_answer_to_an_unanswerable_question_is_wrong() -> None:
    s = score_answer(UNANSWERABLE, answer("King Louis [1].", citations=(citation(1, "Normans#1"),)))
    assert (s["correct"], s["em"], s["f1"]) == (False, 0.0, 0.0)


def test_same_source_accepts_path_suffixes() -> None:
    assert same_source("/data/corpora/hr/policy.docx", "hr/policy.docx")
    assert same_source("Normans#1", "Normans#1")
    assert not same_source("/data/corpora/xhr/policy.docx", "hr/policy.docx")


def make_record(item: QAItem, *answers: Answer) -> dict[str, object]:
    chunk = make_chunk(
        source="Normans#1",
        root="eval",
        title="Normans",
        doc_type="eval",
        modified=datetime.fromtimestamp(0, UTC),
        groups=("public",),
        sensitivity=Sensitivity.PUBLIC,
    )
    comparison = Comparison(
        item.question, None, Retrieval(item.question, (Hit(chunk, 0.9),), 0.01), answers, 1.0
    )
    return question_record(item, comparison)


def test_question_record_and_summary() -> None:
    records = [
        make_record(
            ANSWERABLE,
            answer("France [1].", citations=(citation(1, "Normans#1"),), total_s=1.0),
            answer("Paris.", generator="llm", total_s=3.0, cost=0.002, tokens=(200, 20)),
        ),
        make_record(
            UNANSWERABLE,
            answer(ABSTAIN_TEXT, abstained=True, total_s=2.0, first=None),
            answer("", generator="llm", error="boom"),
        ),
    ]
    assert records[0]["source_retrieved"] is True and records[1]["source_retrieved"] is None
    assert records[0]["hits"] == [{"source": "Normans#1", "score": 0.9, "sensitivity": "public"}]
    slm = summarize(records, "slm")
    assert (slm["questions"], slm["errors"], slm["em"], slm["correct"]) == (2, 0, 1.0, 1.0)
    assert (slm["abstention_precision"], slm["abstention_recall"]) == (1.0, 1.0)
    assert slm["citation_precision"] == 1.0 and slm["citation_recall"] == 1.0
    assert slm["latency_p50_s"] == 1.5 and slm["first_token_p50_s"] == 0.5
    assert slm["prompt_tokens_per_1k"] == 100_000
    llm = summarize(records, "llm")
    assert (llm["errors"], llm["correct"], llm["abstention_recall"]) == (1, 0.0, 0.0)
    assert llm["abstention_precision"] is None and llm["citation_precision"] is None
    assert llm["latency_p50_s"] == 3.0  # the failed answer is left out of latency
    assert llm["cost_usd_per_1k"] == pytest.approx(1.0)
    assert outcomes(records, "slm", "llm") == {
        "both": [],
        "only_slm": ["q1", "q2"],
        "only_llm": [],
        "neither": [],
    }
