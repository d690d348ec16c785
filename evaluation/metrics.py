"""Pure metric functions: ranking quality, SQuAD answer scores, abstention and percentiles.

Ranking metrics follow trec_eval / BEIR: binary or graded relevance from qrels (score > 0 is
relevant), linear gain in nDCG. Answer scores follow the official SQuAD 2.0 evaluation script:
lower-case, strip punctuation and the articles a/an/the, collapse whitespace; an unanswerable
question's gold answer is the empty string.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from collections.abc import Mapping, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_PUNCTUATION = frozenset(string.punctuation)


# --- ranking ---------------------------------------------------------------------------------


def _relevant(qrels: Mapping[str, int]) -> dict[str, int]:
    return {doc: grade for doc, grade in qrels.items() if grade > 0}


def dcg_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Discounted cumulative gain of the first ``k`` results: sum of grade / log2(rank + 1)."""
    return sum(qrels.get(doc, 0) / math.log2(rank + 1) for rank, doc in enumerate(ranked[:k], start=1))


def ndcg_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k: DCG of ``ranked`` over the DCG of the ideal ranking; 0.0 without relevant docs."""
    grades = sorted(_relevant(qrels).values(), reverse=True)[:k]
    ideal = sum(grade / math.log2(rank + 1) for rank, grade in enumerate(grades, start=1))
    return dcg_at_k(ranked, _relevant(qrels), k) / ideal if ideal else 0.0


def recall_at_k(ranked: Sequence[str], qrels: Mapping[str, int], k: int) -> float:
    """Share of the relevant documents found in the first ``k`` results."""
    relevant = _relevant(qrels)
    if not relevant:
        return 0.0
    return len(relevant.keys() & set(ranked[:k])) / len(relevant)


def reciprocal_rank(ranked: Sequence[str], qrels: Mapping[str, int], k: int = 10) -> float:
    """1 / rank of the first relevant result within the first ``k``; 0.0 when none is there."""
    relevant = _relevant(qrels)
    for rank, doc in enumerate(ranked[:k], start=1):
        if doc in relevant:
            return 1.0 / rank
    return 0.0


def ranking_scores(ranked: Sequence[str], qrels: Mapping[str, int]) -> dict[str, float]:
    """Every ranking metric the report shows, for one query."""
    return {
        "ndcg@10": ndcg_at_k(ranked, qrels, 10),
        "recall@10": recall_at_k(ranked, qrels, 10),
        "recall@100": recall_at_k(ranked, qrels, 100),
        "mrr@10": reciprocal_rank(ranked, qrels, 10),
    }


# --- answers (SQuAD) -------------------------------------------------------------------------


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when the normalised strings are equal, else 0.0."""
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    """Harmonic mean of token precision and recall after normalisation.

    When either side is empty (an unanswerable question, or an abstention) the score is 1.0 if
    both are empty and 0.0 otherwise, as in the official script.
    """
    pred_tokens = normalize_answer(prediction).split()
    gold_tokens = normalize_answer(gold).split()
    if not pred_tokens or not gold_tokens:
        return float(pred_tokens == gold_tokens)
    common = sum((Counter(pred_tokens) & Counter(gold_tokens)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred_tokens), common / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def best_over_golds(prediction: str, golds: Sequence[str]) -> tuple[float, float]:
    """(exact match, F1), each the maximum over the gold answers; no golds means unanswerable."""
    candidates = [g for g in golds if normalize_answer(g)] or [""]
    return (
        max(exact_match(prediction, g) for g in candidates),
        max(token_f1(prediction, g) for g in candidates),
    )


def contains_gold(prediction: str, golds: Sequence[str]) -> bool:
    """True when a normalised gold answer appears as a whole-word span of the prediction.

    A lenient score for generators that answer in full sentences ("Normandy is in France.").
    """
    padded = f" {normalize_answer(prediction)} "
    return any(f" {g} " in padded for g in (normalize_answer(x) for x in golds) if g)


# --- abstention and summaries ----------------------------------------------------------------


def abstention_scores(abstained: Sequence[bool], unanswerable: Sequence[bool]) -> dict[str, float | None]:
    """Precision and recall of "I don't know" as a detector of unanswerable questions.

    Precision: of the abstentions, the share on unanswerable questions (None without any
    abstention). Recall: of the unanswerable questions, the share abstained on (None without any).
    """
    if len(abstained) != len(unanswerable):
        raise ValueError(f"lengths differ ({len(abstained)} vs {len(unanswerable)})")
    hits = sum(a and u for a, u in zip(abstained, unanswerable, strict=True))
    said, should = sum(abstained), sum(unanswerable)
    precision = hits / said if said else None
    recall = hits / should if should else None
    f1 = None
    if precision is not None and recall is not None:
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) with linear interpolation; None for no values."""
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def mean(values: Sequence[float]) -> float | None:
    """Arithmetic mean; None for no values."""
    return math.fsum(values) / len(values) if values else None


def paired_difference(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Mean of ``a - b`` over paired items and its standard error (0.0 for fewer than 2 pairs)."""
    if len(a) != len(b) or not a:
        raise ValueError("need two equally long, non-empty sequences of paired scores")
    diffs = [x - y for x, y in zip(a, b, strict=True)]
    avg = math.fsum(diffs) / len(diffs)
    if len(diffs) < 2:
        return avg, 0.0
    variance = math.fsum((d - avg) ** 2 for d in diffs) / (len(diffs) - 1)
    return avg, math.sqrt(variance / len(diffs))
