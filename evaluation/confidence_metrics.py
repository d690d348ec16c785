"""Pure metrics of a confidence score: AUROC, calibration error, risk-coverage and abstention.

Every figure comes with a 95% interval, because the labelled sets are small (a few hundred
answers): a bootstrap percentile interval for AUROC and ECE (fixed seed, so reruns agree), a
Wilson score interval for shares (accuracy at a coverage, abstention precision and recall).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import rankdata

SEED = 20261207
BOOTSTRAP = 1000
COVERAGES = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1)
BINS = 10
Interval = tuple[float, float] | None


def auroc(scores: npt.ArrayLike, labels: npt.ArrayLike) -> float | None:
    """P(a right answer scores above a wrong one), ties counting one half (Mann-Whitney U);
    None without both right and wrong answers."""
    y = np.asarray(labels, dtype=bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if not positives or not negatives:
        return None
    ranks = rankdata(np.asarray(scores, dtype=float))
    u = float(ranks[y].sum()) - positives * (positives + 1) / 2
    return u / (positives * negatives)


def expected_calibration_error(
    probabilities: npt.ArrayLike, labels: npt.ArrayLike, bins: int = BINS
) -> float | None:
    """Sum over equal-width bins of (share of answers in the bin) * |share right - mean probability|.
    The last bin holds 1.0."""
    p = np.asarray(probabilities, dtype=float)
    y = np.asarray(labels, dtype=float)
    if not len(p):
        return None
    which = np.minimum((p * bins).astype(int), bins - 1)
    right = np.bincount(which, weights=y, minlength=bins)
    confident = np.bincount(which, weights=p, minlength=bins)
    return float(np.abs(right - confident).sum() / len(p))  # per bin: n_b/n * |right_b - sum p_b| / n_b


def bootstrap_interval(
    statistic: Callable[[np.ndarray], float | None],
    n: int,
    *,
    resamples: int = BOOTSTRAP,
    seed: int = SEED,
) -> Interval:
    """The 2.5th and 97.5th percentiles of ``statistic(indices)`` over resamples of ``range(n)``
    drawn with replacement; resamples where it is undefined are skipped."""
    if n < 2:
        return None
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(resamples):
        value = statistic(rng.integers(0, n, n))
        if value is not None:
            values.append(value)
    if len(values) < resamples // 2:
        return None
    low, high = np.percentile(values, [2.5, 97.5])
    return (round(float(low), 4), round(float(high), 4))


def wilson_interval(successes: int, total: int, z: float = 1.96) -> Interval:
    """Wilson score interval of a share; None when nothing was counted."""
    if total <= 0:
        return None
    share = successes / total
    centre = (share + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(share * (1 - share) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return (round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4))


def share(successes: int, total: int) -> dict[str, Any]:
    """A share with its count and Wilson interval."""
    return {
        "value": round(successes / total, 4) if total else None,
        "n": total,
        "ci95": wilson_interval(successes, total),
    }


def signal_auroc(scores: Sequence[float], labels: Sequence[bool], **bootstrap: Any) -> dict[str, Any]:
    """A signal's AUROC for right vs wrong, its interval, and which way it points."""
    s, y = np.asarray(scores, dtype=float), np.asarray(labels, dtype=bool)
    value = auroc(s, y)
    return {
        "auroc": None if value is None else round(value, 4),
        "ci95": bootstrap_interval(lambda i: auroc(s[i], y[i]), len(s), **bootstrap),
        "direction": None if value is None else ("higher is right" if value >= 0.5 else "lower is right"),
        "n": len(s),
    }


def ece_with_interval(
    probabilities: Sequence[float], labels: Sequence[bool], **bootstrap: Any
) -> dict[str, Any]:
    """Expected calibration error (10 equal-width bins) with its bootstrap interval."""
    p, y = np.asarray(probabilities, dtype=float), np.asarray(labels, dtype=bool)
    value = expected_calibration_error(p, y)
    return {
        "ece": None if value is None else round(value, 4),
        "ci95": bootstrap_interval(lambda i: expected_calibration_error(p[i], y[i]), len(p), **bootstrap),
        "n": len(p),
    }


def risk_coverage(
    probabilities: Sequence[float], labels: Sequence[bool], coverages: Sequence[float] = COVERAGES
) -> list[dict[str, Any]]:
    """Answer only the most confident share of questions: the share right at each coverage.
    Ties in probability keep the questions' order (a stable sort), so the curve is reproducible."""
    order = sorted(range(len(probabilities)), key=lambda i: -probabilities[i])
    points = []
    for coverage in coverages:
        kept = order[: math.ceil(coverage * len(order) - 1e-9)]
        right = sum(1 for i in kept if labels[i])
        points.append({"coverage": coverage, "answered": len(kept), **share(right, len(kept))})
    return points


def abstention(abstained: Sequence[bool], unanswerable: Sequence[bool]) -> dict[str, Any]:
    """Precision (abstentions that were on unanswerable questions) and recall (unanswerable
    questions abstained on), each with its Wilson interval."""
    both = sum(1 for a, u in zip(abstained, unanswerable, strict=True) if a and u)
    return {
        "abstentions": sum(abstained),
        "precision": share(both, sum(abstained)),
        "recall": share(both, sum(unanswerable)),
    }


def best_gate(
    abstained: Sequence[bool],
    unanswerable: Sequence[bool],
    probabilities: Sequence[float],
    min_precision: float = 0.8,
) -> dict[str, Any] | None:
    """The gate threshold t (abstain also when the probability is below t) with the highest
    abstention recall whose precision is at least ``min_precision``; the lowest such t on a tie.
    None when no threshold (no gate included) reaches that precision."""
    best: tuple[float, float, float] | None = None
    for t in [0.0, *sorted(set(probabilities))]:
        gated = [a or p < t for a, p in zip(abstained, probabilities, strict=True)]
        scores = abstention(gated, unanswerable)
        precision, recall = scores["precision"]["value"], scores["recall"]["value"]
        if precision is None or recall is None or precision < min_precision:
            continue
        if best is None or recall > best[1]:
            best = (t, recall, precision)
    if best is None:
        return None
    t = best[0]
    gated = [a or p < t for a, p in zip(abstained, probabilities, strict=True)]
    return {"threshold": round(t, 4), "min_precision": min_precision, **abstention(gated, unanswerable)}
