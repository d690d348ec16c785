"""Two generators on the same questions: paired bootstrap, McNemar's exact test, and a verdict.

Each pair is compared on the questions both were asked (a failed answer counts as wrong, as in
the summary). The difference in share correct gets a paired bootstrap interval (the questions
resampled together, so both answers to a question stay paired); McNemar's exact test looks only
at the discordant questions (one right, the other wrong). A difference is claimed only when both
agree (interval clear of 0 and p < 0.05); the two are called equivalent only when the interval
lies within ±TOLERANCE and at least MIN_EQUIVALENCE questions were asked; otherwise the test had
too little power, and :func:`questions_needed` says how many questions would decide it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.stats import binomtest, norm

from evaluation.confidence_metrics import BOOTSTRAP, SEED

ALPHA = 0.05
POWER = 0.8
TOLERANCE = 0.05
"""Two generators within 5 points of each other (interval included) are equivalent for a decision."""
MIN_DISCORDANT = 6
"""The fewest split questions (one right, the other wrong, all the same way) for which McNemar's
exact test gives p < 0.05 (2 x 0.5^6 = 0.031)."""
MIN_EQUIVALENCE = math.ceil(3 / TOLERANCE)
"""Rule of three: with no disagreement in n questions, the disagreement rate's 95% upper bound is
3/n; below 60 questions it could still exceed TOLERANCE."""


def correct_vector(records: Sequence[dict[str, Any]], generator: str) -> dict[str, bool]:
    """Question id -> whether ``generator`` answered it correctly (failures are wrong)."""
    return {
        r["id"]: bool(r["answers"][generator]["scores"]["correct"])
        for r in records
        if generator in r["answers"]
    }


def paired_interval(
    a: Sequence[bool], b: Sequence[bool], *, resamples: int = BOOTSTRAP, seed: int = SEED
) -> list[float] | None:
    """95% paired bootstrap interval of mean(b) - mean(a); None for fewer than 2 pairs."""
    if len(a) < 2:
        return None
    diffs = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    rng = np.random.default_rng(seed)
    means = diffs[rng.integers(0, len(diffs), (resamples, len(diffs)))].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return [round(float(low), 6), round(float(high), 6)]


def mcnemar_exact(only_a: int, only_b: int) -> float:
    """Two-sided exact McNemar p-value: the discordant questions as a fair coin's tosses."""
    discordant = only_a + only_b
    return 1.0 if discordant == 0 else float(binomtest(only_a, discordant, 0.5).pvalue)


def questions_needed(
    n: int, discordant: int, difference: float, *, alpha: float = ALPHA, power: float = POWER
) -> int:
    """Questions (in all) that would decide at the observed discordant rate.

    A difference of at least TOLERANCE: the questions for McNemar's test to find it with ``power``
    (Connor 1987). A smaller one: the questions for the interval to fit within ±TOLERANCE. Never
    fewer than MIN_EQUIVALENCE for a tie, nor than ``n``."""
    if n <= 0:
        return MIN_EQUIVALENCE
    rate, d = discordant / n, abs(difference)
    z_a, z_b = float(norm.ppf(1 - alpha / 2)), float(norm.ppf(power))
    if d >= TOLERANCE:
        needed = (z_a * math.sqrt(rate) + z_b * math.sqrt(max(rate - d * d, 0.0))) ** 2 / (d * d)
        # the normal approximation undershoots at small counts: McNemar's exact test needs at least
        # MIN_DISCORDANT questions that split (all one way) to reach p < ALPHA
        needed = max(needed, MIN_DISCORDANT / rate if rate > 0 else needed)
    else:
        needed = max(z_a * z_a * max(rate - d * d, 0.0) / (TOLERANCE - d) ** 2, MIN_EQUIVALENCE)
    return max(n, math.ceil(needed))


def compare(
    records: Sequence[dict[str, Any]], a: str, b: str, *, resamples: int = BOOTSTRAP
) -> dict[str, Any]:
    """``a`` against ``b`` on the questions both answered: counts, interval, p-value, verdict."""
    right_a, right_b = correct_vector(records, a), correct_vector(records, b)
    ids = [q for q in right_a if q in right_b]
    xs, ys = [right_a[q] for q in ids], [right_b[q] for q in ids]
    only_a = [q for q, x, y in zip(ids, xs, ys, strict=True) if x and not y]
    only_b = [q for q, x, y in zip(ids, xs, ys, strict=True) if y and not x]
    n = len(ids)
    difference = (len(only_b) - len(only_a)) / n if n else 0.0
    interval = paired_interval(xs, ys, resamples=resamples)
    p = mcnemar_exact(len(only_a), len(only_b))
    pair: dict[str, Any] = {
        "a": a,
        "b": b,
        "questions": n,
        "correct_a": sum(xs) / n if n else None,
        "correct_b": sum(ys) / n if n else None,
        "difference": difference,
        "ci95": interval,
        "p_mcnemar": round(p, 6),
        "wins_a": len(only_a),
        "wins_b": len(only_b),
        "ties": n - len(only_a) - len(only_b),
        "both_right": sum(1 for x, y in zip(xs, ys, strict=True) if x and y),
        "only_a": only_a,
        "only_b": only_b,
    }
    pair["verdict"] = verdict(pair)
    if pair["verdict"] == "undecided":
        # undecided on n questions: deciding takes more than n, whatever the estimate says
        pair["questions_needed"] = max(n + 1, questions_needed(n, len(only_a) + len(only_b), difference))
    return pair


def verdict(pair: dict[str, Any]) -> str:
    """``b better``, ``a better``, ``equivalent`` or ``undecided`` (see the module's rules)."""
    interval = pair["ci95"]
    if interval is None:
        return "undecided"
    low, high = interval
    if pair["p_mcnemar"] < ALPHA and (low > 0 or high < 0):
        return "b better" if pair["difference"] > 0 else "a better"
    if low >= -TOLERANCE and high <= TOLERANCE and pair["questions"] >= MIN_EQUIVALENCE:
        return "equivalent"
    return "undecided"


def all_pairs(
    records: Sequence[dict[str, Any]], generators: Sequence[str], *, resamples: int = BOOTSTRAP
) -> list[dict[str, Any]]:
    """Every pair of ``generators``, in their order (a before b)."""
    return [compare(records, a, b, resamples=resamples) for a, b in itertools.combinations(generators, 2)]
