"""The plain-language recommendation, drawn only from the measured numbers.

A difference counts when it exceeds 1.96 standard errors of the paired per-item difference
(about a 95% interval); smaller ones are called noise, whatever their sign.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evaluation.metrics import paired_difference
from evaluation.retrieval_eval import compare_methods

Z95 = 1.96
LOW_RETRIEVAL_RECALL = 0.8


def label(generator: str, labels: dict[str, str] | None = None) -> str:
    """``Small local model · Qwen2.5-Coder-0.5B-Instruct (slm)``, or ``generator 'slm'``."""
    if labels and labels.get(generator, generator) != generator:
        return f"{labels[generator]} ({generator})"
    return f"generator {generator!r}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _secs(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} s"


def recommend(results: dict[str, Any]) -> list[str]:
    """Paragraphs for the report's recommendation section."""
    paragraphs: list[str] = []
    if "retrieval" in results:
        paragraphs += retrieval_advice(results["retrieval"])
    if "qa" in results:
        paragraphs += qa_advice(results["qa"])
    return paragraphs or ["Nothing was measured, so there is nothing to recommend."]


def retrieval_advice(retrieval: dict[str, Any]) -> list[str]:
    """Which alpha to use, and how keyword and vector search compare."""
    methods = {m["name"]: m for m in retrieval["methods"] if m["ndcg@10"] is not None}
    if not methods:
        return ["No query was scored."]
    default_alpha = retrieval["default_alpha"]
    default = next((m for m in methods.values() if m["alpha"] == default_alpha), None)
    best = max(methods.values(), key=lambda m: (m["ndcg@10"], -abs(m["alpha"] - default_alpha)))
    n = retrieval["queries"]
    bm25, vector = methods.get("bm25"), methods.get("vector")
    out = []
    if bm25 and vector:
        out.append(
            f"Keyword search alone (BM25) reaches nDCG@10 {bm25['ndcg@10']:.3f}, vector search alone "
            f"{vector['ndcg@10']:.3f}, over {n} queries."
        )
    if default is None:  # the sweep always includes the default alpha; this is a hand-made file
        out.append(f"The best method is {best['name']}: set DOCDUET_ALPHA={best['alpha']:g}.")
        return out
    if best["name"] == default["name"]:
        out.append(
            f"The current default (alpha {default_alpha:g}, {best['name']}) is the best method tried "
            f"(nDCG@10 {best['ndcg@10']:.3f}, recall@100 {_pct(best['recall@100'])}); keep it."
            + _margin(retrieval, best, [m for m in methods.values() if m is not best])
        )
        return out
    diff, se = compare_methods(retrieval, best["name"], default["name"])
    if diff > Z95 * se:
        out.append(
            f"Set DOCDUET_ALPHA={best['alpha']:g}: {best['name']} scores nDCG@10 {best['ndcg@10']:.3f} "
            f"against {default['ndcg@10']:.3f} for the current default alpha {default_alpha:g} "
            f"(+{diff:.3f} ± {Z95 * se:.3f}, a real difference on {n} queries)."
        )
    else:
        out.append(
            f"Keep the current default alpha {default_alpha:g} (nDCG@10 {default['ndcg@10']:.3f}): the best "
            f"method tried, {best['name']} ({best['ndcg@10']:.3f}), is ahead by {diff:+.3f}, within the "
            f"noise (± {Z95 * se:.3f}) of {n} queries."
        )
    return out


def _margin(retrieval: dict[str, Any], best: dict[str, Any], others: Sequence[dict[str, Any]]) -> str:
    """How far ``best`` is ahead of the runner-up, and whether that is more than noise."""
    if not others:
        return ""
    second = max(others, key=lambda m: m["ndcg@10"])
    diff, se = compare_methods(retrieval, best["name"], second["name"])
    verdict = "a real difference" if diff > Z95 * se else "within the noise"
    return f" It leads {second['name']} by {diff:+.3f} ± {Z95 * se:.3f} ({verdict})."


def qa_advice(qa: dict[str, Any]) -> list[str]:
    """Whether the local model is good enough, and what the hosted one buys."""
    names: Sequence[str] = qa["generators"]
    labels: dict[str, str] = qa.get("labels") or {}
    summaries = qa["summary"]
    usable = [g for g in names if summaries[g]["questions"] > summaries[g]["errors"]]
    out = [_one_line(g, summaries[g], labels) for g in usable]
    for g in names:
        if g not in usable:
            first = next((r["answers"][g]["scores"]["error"] for r in qa["records"] if g in r["answers"]), "")
            out.append(f"{_cap(label(g, labels))} could not be evaluated: every answer failed ({first}).")
    out += [_versus(qa["records"], usable[0], other, summaries, labels) for other in usable[1:]]
    recall = qa.get("retrieval_recall")
    if recall is not None and recall < LOW_RETRIEVAL_RECALL:
        out.append(
            f"Retrieval found the passage holding the answer for only {_pct(recall)} of the answerable "
            "questions; no generator can answer from a passage it never saw, so improve retrieval "
            "(chunking, alpha, top_k) before paying for a larger model."
        )
    return out


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _one_line(name: str, s: dict[str, Any], labels: dict[str, str]) -> str:
    cost = s["cost_usd_per_1k"] or 0.0
    return (
        f"{_cap(label(name, labels))}: correct on {_pct(s['correct'])} of {s['questions']} questions "
        f'(EM {_pct(s["em"])}, F1 {_pct(s["f1"])}); on unanswerable questions it said "I don\'t know" '
        f"{_pct(s['abstention_recall'])} of the time (precision {_pct(s['abstention_precision'])}); "
        f"median answer time {_secs(s['latency_p50_s'])}, first token {_secs(s['first_token_p50_s'])}; "
        f"${cost:.2f} per 1,000 questions."
    )


def _versus(
    records: Sequence[dict[str, Any]], a: str, b: str, summaries: dict[str, Any], labels: dict[str, str]
) -> str:
    pairs = [r["answers"] for r in records if a in r["answers"] and b in r["answers"]]
    right_a = [float(p[a]["scores"]["correct"]) for p in pairs]
    right_b = [float(p[b]["scores"]["correct"]) for p in pairs]
    diff, se = paired_difference(right_b, right_a)
    cost = (summaries[b]["cost_usd_per_1k"] or 0.0) - (summaries[a]["cost_usd_per_1k"] or 0.0)
    name_a, name_b = label(a, labels), label(b, labels)
    if abs(diff) <= Z95 * se:
        return (
            f"On these {len(pairs)} questions {name_a} and {name_b} are not distinguishable on "
            f"correctness ({100 * diff:+.1f} ± {100 * Z95 * se:.1f} points for {b}), so {name_a} is "
            f"good enough here; {name_b} {_costs(cost)} per 1,000 questions."
        )
    better, worse = (label(b, labels), name_a) if diff > 0 else (name_a, label(b, labels))
    return (
        f"{_cap(better)} is better on these {len(pairs)} questions: it answers "
        f"{100 * abs(diff):.1f} ± {100 * Z95 * se:.1f} percentage points more of them correctly; "
        f"{name_b} {_costs(cost)} per 1,000 questions. Prefer {better} where its cost, latency "
        f"and data handling are acceptable; {worse} is the fallback."
    )


def _costs(delta: float) -> str:
    if abs(delta) < 0.005:
        return "costs about the same"
    return f"costs ${abs(delta):.2f} {'more' if delta > 0 else 'less'}"
