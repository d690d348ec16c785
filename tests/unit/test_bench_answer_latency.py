"""``docduet bench``'s answer-latency section (issue 24): its summary and its rows in the table."""

from __future__ import annotations

from typing import Any

from bench.answer_latency import _summary
from bench.run import SECTIONS, markdown
from docduet.commands.bench import SECTIONS as COMMAND_SECTIONS


def run(first: float, later: float, total: float) -> dict[str, Any]:
    return {"first": {"first_token_s": first, "total_s": total}, "later_first_token_p50_s": later,
            "later_total_p50_s": total}  # fmt: skip


REPORT = {
    "when": "2026-12-07T04:00:00+00:00",
    "machine": {"cpus": 2, "python": "3.11.7"},
    "quick": True,
    "answer_latency": {"per_model": {"slm": {
        "cold": run(9.0, 2.5, 4.0), "warm": run(2.6, 2.4, 3.9), "raw": run(2.2, 2.0, 2.8),
        "ratios": {"cold_first_over_warm_first": 3.46, "warm_first_over_warm_later": 1.08,
                   "docduet_over_raw_later_first_token": 1.2},
    }}},
}  # fmt: skip


def test_the_first_question_is_set_apart_from_the_median_of_the_later_ones() -> None:
    rows = [{"first_token_s": 9.0, "total_s": 12.0}, {"first_token_s": 2.0, "total_s": 3.0},
            {"first_token_s": None, "total_s": 5.0}, {"first_token_s": 4.0, "total_s": 4.0}]  # fmt: skip
    summary = _summary(rows)
    assert summary["first"] == {"first_token_s": 9.0, "total_s": 12.0}
    assert summary["later_first_token_p50_s"] == 3.0  # an answer without text has no first token
    assert summary["later_total_p50_s"] == 4.0
    assert _summary(rows[:1])["later_total_p50_s"] == 12.0  # one question: it is also "later"


def test_the_table_compares_cold_warm_and_the_raw_model() -> None:
    text = markdown(REPORT)
    assert "| slm answer, 1st question cold: first token s | 9.00 | warm 2.60 | 3.46 | - |" in text
    warm = "| slm answer, 1st question warm: first token s | 2.60 | later questions p50 2.40 | 1.08 |"
    assert warm in text
    assert "| slm answer, later p50: first token s (end to end) | 2.40 | raw model 2.00 | 1.2 | - |" in text
    assert '"answer_latency"' in text  # the detail


def test_docduet_bench_knows_the_section() -> None:
    assert "answer_latency" in SECTIONS and COMMAND_SECTIONS == SECTIONS


def test_the_table_shows_the_columns_side_by_side_against_each_alone() -> None:
    together = {"slm+slm-large": {
        "all_done_p50_s": 7.5,
        "per_generator": {"slm": {"first_token_p50_s": 3.1, "total_p50_s": 4.0, "correct": 3},
                          "slm-large": {"first_token_p50_s": 6.0, "total_p50_s": 7.4, "correct": 3}},
        "rows": [],
    }}  # fmt: skip
    text = markdown(REPORT | {"answer_latency": REPORT["answer_latency"] | {"side_by_side": together}})
    assert "| slm answer beside slm+slm-large, p50: first token s | 3.10 | alone 2.40 | - | - |" in text
    assert "| slm-large answer beside slm+slm-large, p50: first token s | 6.00 | alone - | - | - |" in text
    assert "| slm+slm-large side by side, p50: all columns done s | 7.50 | - | - | - |" in text


def test_a_group_asked_at_once_is_a_row_of_its_own_beside_the_one_asked_in_turns() -> None:
    def group(done: float) -> dict[str, object]:
        return {"all_done_p50_s": done, "rows": [], "per_generator": {
            "slm": {"first_token_p50_s": 3.0, "total_p50_s": 4.0, "correct": 3}}}  # fmt: skip

    together = {"slm+slm-large": group(28.0), "slm+slm-large at once": group(35.4)}
    text = markdown(REPORT | {"answer_latency": REPORT["answer_latency"] | {"side_by_side": together}})
    assert "| slm+slm-large side by side, p50: all columns done s | 28.00 | - | - | - |" in text
    assert "| slm+slm-large at once side by side, p50: all columns done s | 35.40 | - | - | - |" in text
