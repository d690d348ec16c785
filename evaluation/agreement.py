"""The judge checked against gold: Cohen's kappa of its grades against the gold-based ``correct``.

On items that have gold (answers, or marked unanswerable), the judge's grade 2 ("correct") is
set against the deterministic score's ``correct``; grades 0 and 1 count as not correct. Kappa is
agreement beyond chance: 1 is perfect, 0 no better than chance, below 0 worse; a 95% bootstrap
interval (fixed seed) comes with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from evaluation.confidence_metrics import bootstrap_interval

CORRECT_GRADE = 2


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float | None:
    """Cohen's kappa of two yes/no raters; None with no items or when chance agreement is total."""
    if len(a) != len(b):
        raise ValueError(f"the raters graded different numbers of items ({len(a)} vs {len(b)})")
    n = len(a)
    if not n:
        return None
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    yes_a, yes_b = sum(a) / n, sum(b) / n
    chance = yes_a * yes_b + (1 - yes_a) * (1 - yes_b)
    return None if chance >= 1.0 else (observed - chance) / (1 - chance)


def has_gold(record: dict[str, Any]) -> bool:
    """The item has gold answers, or is marked as having none."""
    return bool(record.get("gold")) or record.get("unanswerable") is True


def kappa_with_interval(judge: Sequence[bool], gold: Sequence[bool]) -> dict[str, Any]:
    """Kappa, its interval, the raw agreement and the item count."""
    j, g = np.asarray(judge, dtype=bool), np.asarray(gold, dtype=bool)
    value = cohen_kappa(list(j), list(g))
    return {
        "kappa": None if value is None else round(value, 4),
        "ci95": bootstrap_interval(lambda i: cohen_kappa(list(j[i]), list(g[i])), len(j)),
        "agreement": round(float((j == g).mean()), 4) if len(j) else None,
        "n": len(j),
    }


def judge_agreement(
    records: Sequence[dict[str, Any]], grades: Sequence[dict[str, Any]], generators: Sequence[str]
) -> dict[str, Any]:
    """Per generator and over all of them: the judge's agreement with gold on the graded items
    that have gold."""
    by_id = {r["id"]: r for r in records}
    pairs: dict[str, list[tuple[bool, bool]]] = {g: [] for g in generators}
    for grade in grades:
        record = by_id.get(grade.get("question"))
        name = grade.get("generator")
        if record is None or name not in pairs or grade.get("score") is None or not has_gold(record):
            continue
        gold = record["answers"][name]["scores"].get("correct")
        if gold is not None:
            pairs[name].append((grade["score"] >= CORRECT_GRADE, bool(gold)))
    every = [p for rows in pairs.values() for p in rows]
    return {
        "per_generator": {
            g: kappa_with_interval([j for j, _ in p], [x for _, x in p]) for g, p in pairs.items()
        },
        "all": kappa_with_interval([j for j, _ in every], [x for _, x in every]),
    }
