"""Scores for one generator's answer to one question, and their summary per generator.

Pure functions over domain types and plain records (what the checkpoint stores), so the report
can be rebuilt from ``results.json`` and every rule is unit-tested without a model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from chat.citations import MARKER_RE, is_abstention
from chat.results import NOT_FOUND_TEXT, Comparison, answer_json
from core.domain import Answer
from evaluation.costs import Pricing, compute_seconds, compute_usd
from evaluation.datasets import QAItem
from evaluation.metrics import abstention_scores, best_over_golds, contains_gold, mean, percentile

CORRECT_F1 = 0.5
"""An answer to an answerable question counts as correct at this token F1 or when it contains a
gold answer; to an unanswerable one, when it abstains."""


def is_abstained(answer: Answer) -> bool:
    """The service marked it, or the text is the abstain / not-found sentence."""
    text = answer.text.strip()
    return answer.abstained or text.startswith(NOT_FOUND_TEXT.rstrip(".")) or is_abstention(text)


def strip_markers(text: str) -> str:
    """The answer without ``[n]`` citation markers, whitespace collapsed."""
    return re.sub(r"\s+([.,;:!?])", r"\1", " ".join(MARKER_RE.sub(" ", text).split()))


def same_source(cited: str, gold: str) -> bool:
    """A cited source matches the gold one exactly or as a path suffix (``hr/policy.docx``)."""
    return cited == gold or cited.endswith("/" + gold.lstrip("/"))


def score_answer(item: QAItem, answer: Answer) -> dict[str, Any]:
    """Every per-answer metric: correctness, abstention, citations, latency, tokens, cost."""
    failed = answer.error is not None
    abstained = not failed and is_abstained(answer)
    prediction = "" if abstained or failed else strip_markers(answer.text)
    em, f1 = best_over_golds(prediction, item.answers)
    if failed:
        em = f1 = 0.0
    contains = None if item.unanswerable else (not failed and contains_gold(prediction, item.answers))
    own = [c for c in answer.citations if not c.attributed]
    gold_cited = cited_gold = None
    if not item.unanswerable and item.source and not (failed or abstained):
        cited_gold = sum(same_source(c.source, item.source) for c in answer.citations)
        gold_cited = cited_gold > 0
    return {
        "error": answer.error,
        "abstained": abstained,
        "prediction": prediction,
        "em": em,
        "f1": round(f1, 6),
        "contains": contains,
        "correct": _correct(item, failed, abstained, f1, bool(contains)),
        "markers_written": len(own) + len(answer.flagged_markers),
        "markers_supported": len(own),
        "attributed": len(answer.citations) - len(own),
        "support_mean": mean([c.support for c in answer.citations]),
        "gold_cited": gold_cited,
        "citations_shown": len(answer.citations),
        "citations_gold": cited_gold,
        "total_s": answer.timings.total_s,
        "first_token_s": answer.timings.first_token_s,
        "prompt_tokens": answer.usage.prompt_tokens,
        "completion_tokens": answer.usage.completion_tokens,
        "cost_usd": answer.usage.cost_usd,
    }


def _correct(item: QAItem, failed: bool, abstained: bool, f1: float, contains: bool) -> bool:
    if failed:
        return False
    if item.unanswerable:
        return abstained
    return not abstained and (f1 >= CORRECT_F1 or contains)


def question_record(item: QAItem, comparison: Comparison) -> dict[str, Any]:
    """What the checkpoint and results.json keep for one question: inputs, hits, every answer."""
    hits = comparison.retrieval.hits
    sources = [h.chunk.source for h in hits]
    retrieved = None
    if item.source and not item.unanswerable:
        retrieved = any(same_source(s, item.source) for s in sources)
    return {
        "id": item.item_id,
        "question": item.question,
        "gold": list(item.answers),
        "unanswerable": item.unanswerable,
        "source": item.source,
        "source_retrieved": retrieved,
        "retrieval_s": round(comparison.retrieval.seconds, 4),
        "hits": [
            {
                "source": h.chunk.source,
                "score": round(h.score, 4),
                "sensitivity": h.chunk.access.sensitivity.value,
            }
            for h in hits
        ],
        "answers": {
            a.generator: {"answer": answer_json(a), "scores": score_answer(item, a)}
            for a in comparison.answers
        },
    }


def summarize(
    records: Sequence[dict[str, Any]], generator: str, prices: Pricing | None = None
) -> dict[str, Any]:
    """One generator's metrics over the questions (errors count as wrong, not as abstentions);
    local compute priced at ``prices`` (None: free)."""
    rows = [(r, r["answers"][generator]["scores"]) for r in records if generator in r["answers"]]
    scores = [s for _, s in rows]
    answerable = [s for r, s in rows if not r["unanswerable"]]
    unanswerable = [s for r, s in rows if r["unanswerable"]]
    ok = [s for s in scores if s["error"] is None]
    abstention = abstention_scores([s["abstained"] for s in scores], [r["unanswerable"] for r, _ in rows])
    written = sum(s["markers_written"] for s in scores)
    n = len(scores)
    return {
        "questions": n,
        "errors": n - len(ok),
        "em": mean([s["em"] for s in scores]),
        "f1": mean([s["f1"] for s in scores]),
        "correct": mean([float(s["correct"]) for s in scores]),
        "answerable": len(answerable),
        "answerable_em": mean([s["em"] for s in answerable]),
        "answerable_f1": mean([s["f1"] for s in answerable]),
        "answerable_contains": mean([float(bool(s["contains"])) for s in answerable]),
        "unanswerable": len(unanswerable),
        "abstention_precision": abstention["precision"],
        "abstention_recall": abstention["recall"],
        "abstention_f1": abstention["f1"],
        "citation_precision": sum(s["markers_supported"] for s in scores) / written if written else None,
        "citation_recall": mean([float(s["gold_cited"]) for s in scores if s["gold_cited"] is not None]),
        "shown_citation_precision": _shown_precision(scores),
        "attributed_share": _attributed_share(scores),
        "latency_p50_s": percentile([s["total_s"] for s in ok], 50),
        "latency_p95_s": percentile([s["total_s"] for s in ok], 95),
        "first_token_p50_s": percentile(
            [s["first_token_s"] for s in ok if s["first_token_s"] is not None], 50
        ),
        "first_token_p95_s": percentile(
            [s["first_token_s"] for s in ok if s["first_token_s"] is not None], 95
        ),
        "prompt_tokens_per_1k": _per_1k([s["prompt_tokens"] for s in scores]),
        "completion_tokens_per_1k": _per_1k([s["completion_tokens"] for s in scores]),
        "cost_usd_per_1k": (money := _per_1k([s["cost_usd"] for s in scores])),
        **_compute(generator, [r["answers"][generator].get("answer") or {} for r, _ in rows], money, prices),
    }


def _compute(
    generator: str, answers: Sequence[dict[str, Any]], money: float | None, prices: Pricing | None
) -> dict[str, Any]:
    """Mean compute seconds per answer, their price, and money (``money`` per 1,000) plus compute
    per 1,000 questions and per month (at ``prices.per_month`` questions)."""
    prices = prices or Pricing()
    compute = _per_1k([compute_usd(generator, a, prices) for a in answers])
    total = None if compute is None or money is None else compute + money
    return {
        "compute_s_mean": mean([compute_seconds(generator, a, prices) for a in answers]),
        "compute_usd_per_1k": compute,
        "total_usd_per_1k": total,
        "total_usd_per_month": None if total is None else total * prices.per_month / 1000,
    }


def _shown_precision(scores: Sequence[dict[str, Any]]) -> float | None:
    """Share of the citations shown with answers to answerable questions that name the gold
    source: the citations a reader sees (the model's kept markers and attributed ones) checked
    against the dataset, not against the verifier that chose them."""
    judged = [s for s in scores if s.get("citations_gold") is not None]
    shown = sum(s["citations_shown"] for s in judged)
    return sum(s["citations_gold"] for s in judged) / shown if shown else None


def _attributed_share(scores: Sequence[dict[str, Any]]) -> float | None:
    cited = sum(s["markers_supported"] + s["attributed"] for s in scores)
    return sum(s["attributed"] for s in scores) / cited if cited else None


def _per_1k(values: Sequence[float]) -> float | None:
    return 1000 * sum(values) / len(values) if values else None


def retrieval_recall(records: Sequence[dict[str, Any]]) -> float | None:
    """Share of answerable questions whose gold source was among the retrieved passages."""
    return mean([float(r["source_retrieved"]) for r in records if r.get("source_retrieved") is not None])


def outcomes(records: Sequence[dict[str, Any]], a: str, b: str) -> dict[str, list[str]]:
    """Question ids by who got them right: both, only ``a``, only ``b``, neither."""
    groups: dict[str, list[str]] = {"both": [], f"only_{a}": [], f"only_{b}": [], "neither": []}
    for r in records:
        if a not in r["answers"] or b not in r["answers"]:
            continue
        right_a = r["answers"][a]["scores"]["correct"]
        right_b = r["answers"][b]["scores"]["correct"]
        key = (
            "both"
            if right_a and right_b
            else f"only_{a}"
            if right_a
            else f"only_{b}"
            if right_b
            else "neither"
        )
        groups[key].append(r["id"])
    return groups
