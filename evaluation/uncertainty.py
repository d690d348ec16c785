"""95% intervals for every figure of a generator's summary.

Shares of counted questions (correct, exact match, contains a gold answer, abstention precision
and recall) get the Wilson score interval, as in the confidence section: it stays honest at 0 of
n and n of n, where a bootstrap collapses to a point. Every other figure (F1, citation shares,
latency percentiles, tokens, cost) gets a bootstrap over the questions: each resample draws the
questions with replacement and recomputes the whole summary (:func:`evaluation.scoring.summarize`);
the 2.5th and 97.5th percentiles of the resampled values, with a fixed seed so reruns agree.
Counts (questions, errors) have none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from evaluation.confidence_metrics import BOOTSTRAP, SEED, wilson_interval
from evaluation.costs import Pricing
from evaluation.scoring import summarize

COUNTS = frozenset({"questions", "errors", "answerable", "unanswerable"})


def summary_intervals(
    records: Sequence[dict[str, Any]],
    generator: str,
    prices: Pricing | None = None,
    *,
    resamples: int = BOOTSTRAP,
    seed: int = SEED,
) -> dict[str, list[float] | None]:
    """Per summary key (counts left out): its 95% bootstrap interval over the questions, None
    where fewer than 2 questions were asked or the metric was undefined in most resamples."""
    rows = [r for r in records if generator in r["answers"]]
    keys = [k for k, v in summarize(rows, generator, prices).items() if k not in COUNTS]
    if len(rows) < 2:
        return dict.fromkeys(keys)
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {k: [] for k in keys}
    for _ in range(resamples):
        picked = [rows[i] for i in rng.integers(0, len(rows), len(rows))]
        for key, value in summarize(picked, generator, prices).items():
            if key in draws and value is not None:
                draws[key].append(float(value))
    return {k: _interval(v) if len(v) >= resamples // 2 else None for k, v in draws.items()}


def column_intervals(
    rows: Sequence[Mapping[str, Any]],
    means: Sequence[str],
    percentiles: Mapping[str, tuple[str, float]] | None = None,
    *,
    resamples: int = BOOTSTRAP,
    seed: int = SEED,
) -> dict[str, list[float] | None]:
    """Bootstrap intervals of per-row columns: the mean of each key in ``means``, and for each
    ``key: (column, q)`` in ``percentiles`` the column's q-th percentile (as
    :func:`evaluation.metrics.percentile`); None for fewer than 2 rows."""
    percentiles = percentiles or {}
    if len(rows) < 2:
        return dict.fromkeys([*means, *percentiles])
    picks = np.random.default_rng(seed).integers(0, len(rows), (resamples, len(rows)))
    out: dict[str, list[float] | None] = {}
    for key in means:
        out[key] = _interval(np.asarray([float(r[key]) for r in rows])[picks].mean(axis=1))
    for key, (column, q) in percentiles.items():
        out[key] = _interval(np.percentile(np.asarray([float(r[column]) for r in rows])[picks], q, axis=1))
    return out


def _interval(values: Sequence[float] | np.ndarray) -> list[float]:
    low, high = np.percentile(values, [2.5, 97.5])
    return [round(float(low), 6), round(float(high), 6)]


def with_intervals(
    records: Sequence[dict[str, Any]],
    generator: str,
    prices: Pricing | None = None,
    *,
    resamples: int = BOOTSTRAP,
) -> dict[str, Any]:
    """The generator's summary with ``ci95``: each metric's interval by key."""
    intervals = summary_intervals(records, generator, prices, resamples=resamples)
    return {**summarize(records, generator, prices), "ci95": intervals | share_intervals(records, generator)}


def share_intervals(records: Sequence[dict[str, Any]], generator: str) -> dict[str, list[float] | None]:
    """Wilson intervals of the summary's shares of counted questions."""
    rows = [(r, r["answers"][generator]["scores"]) for r in records if generator in r["answers"]]
    answerable = [s for r, s in rows if not r["unanswerable"]]
    abstained = [r for r, s in rows if s["abstained"]]
    unanswerable = [s for r, s in rows if r["unanswerable"]]

    def wilson(hits: int, total: int) -> list[float] | None:
        interval = wilson_interval(hits, total)
        return None if interval is None else list(interval)

    return {
        "correct": wilson(sum(bool(s["correct"]) for _, s in rows), len(rows)),
        "em": wilson(sum(s["em"] == 1.0 for _, s in rows), len(rows)),
        "answerable_em": wilson(sum(s["em"] == 1.0 for s in answerable), len(answerable)),
        "answerable_contains": wilson(sum(bool(s["contains"]) for s in answerable), len(answerable)),
        "abstention_precision": wilson(sum(bool(r["unanswerable"]) for r in abstained), len(abstained)),
        "abstention_recall": wilson(sum(bool(s["abstained"]) for s in unanswerable), len(unanswerable)),
    }
