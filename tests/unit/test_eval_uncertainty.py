"""Every figure of a generator's summary with its 95% bootstrap interval."""

from __future__ import annotations

from eval_rows import row

from evaluation.costs import Pricing
from evaluation.uncertainty import COUNTS, column_intervals, summary_intervals, with_intervals

RECORDS = [
    row(f"q{i}", total_s=1.0 + i % 5, cost=0.001 * (i % 3), correct=i % 3 != 0, unanswerable=i % 4 == 3)
    for i in range(40)
]


def test_every_metric_but_the_counts_gets_an_interval_around_its_value() -> None:
    summary = with_intervals(RECORDS, "slm", Pricing({"slm": 0.001}), resamples=200)
    intervals = summary["ci95"]
    assert set(intervals) == {k for k in summary if k not in COUNTS and k != "ci95"}
    for key, interval in intervals.items():
        if summary[key] is None:
            continue
        assert interval is not None, key
        low, high = interval
        assert low <= summary[key] + 1e-9 and summary[key] - 1e-9 <= high, (key, summary[key], interval)
    low, high = intervals["correct"]
    assert low < 0.67 < high and high - low > 0.1  # 40 questions: an interval of real width
    assert intervals["total_usd_per_month"][1] > intervals["total_usd_per_month"][0] > 0


def test_shares_of_counted_questions_get_wilson_intervals_even_at_none_right() -> None:
    wrong = [row(f"q{i}", 1.0, 0.0, correct=False) for i in range(3)]
    intervals = with_intervals(wrong, "slm", resamples=50)["ci95"]
    assert intervals["correct"] == [0.0, 0.5615]  # a bootstrap would say [0, 0] on 3 questions
    assert intervals["em"] == [0.0, 0.5615] and intervals["abstention_recall"] is None


def test_column_intervals_of_means_and_percentiles() -> None:
    rows = [{"ndcg": i / 10, "seconds": 0.1 * (i % 4)} for i in range(11)]
    got = column_intervals(rows, ["ndcg"], {"p50": ("seconds", 50.0)}, resamples=300)
    low, high = got["ndcg"] or [0, 0]
    assert low < 0.5 < high and 0.2 < high - low < 0.6
    assert got["p50"] is not None and got["p50"][0] <= 0.1 <= got["p50"][1]
    assert column_intervals(rows[:1], ["ndcg"], {"p50": ("seconds", 50.0)}) == {"ndcg": None, "p50": None}


def test_intervals_are_reproducible_and_undefined_on_one_question() -> None:
    assert summary_intervals(RECORDS, "slm", resamples=100) == summary_intervals(
        RECORDS, "slm", resamples=100
    )
    assert set(summary_intervals(RECORDS[:1], "slm").values()) == {None}
