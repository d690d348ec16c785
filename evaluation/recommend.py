"""The plain-language recommendation, drawn only from the measured numbers.

Retrieval: a difference counts when it exceeds 1.96 standard errors of the paired per-query
difference. Answers: the decision's sentence (:mod:`evaluation.decision`), then each other pair's
verdict (:mod:`evaluation.paired`: a difference only where the bootstrap interval and McNemar's
test agree, otherwise how many questions would decide).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from evaluation.decision import decide, points, span
from evaluation.paired import all_pairs
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


def recommend(results: dict[str, Any]) -> list[str]:
    """Paragraphs for the report's recommendation section."""
    paragraphs: list[str] = []
    if "retrieval" in results:
        paragraphs += retrieval_advice(results["retrieval"])
    if "qa" in results:
        paragraphs += qa_advice(results["qa"], results.get("cascade"))
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


def qa_advice(qa: dict[str, Any], cascade: dict[str, Any] | None = None) -> list[str]:
    """The decision's sentence first, then the cascade, every other pair's verdict, and warnings."""
    names: Sequence[str] = qa["generators"]
    labels: dict[str, str] = qa.get("labels") or {}
    summaries = qa["summary"]
    usable = [g for g in names if summaries[g]["questions"] > summaries[g]["errors"]]
    if "pairs" not in qa:  # a results.json written before pairs were recorded
        qa = {**qa, "pairs": all_pairs(qa["records"], usable)}
    decision = decide(qa, cascade)
    out = [] if decision is None else [decision["headline"]]
    if decision and decision["cascade"]:
        out.append(decision["cascade"])
    shown = {decision["choice"], decision["reference"]} if decision else set()
    out += [
        _pair_line(p) for p in qa["pairs"] if {p["a"], p["b"]} != shown and {p["a"], p["b"]} <= set(usable)
    ]
    for g in names:
        if g not in usable:
            first = next((r["answers"][g]["scores"]["error"] for r in qa["records"] if g in r["answers"]), "")
            out.append(f"{_cap(label(g, labels))} could not be evaluated: every answer failed ({first}).")
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


def _pair_line(pair: dict[str, Any]) -> str:
    """One pair's verdict in a sentence: a difference only where the interval and the test agree."""
    a, b, n = pair["a"], pair["b"], pair["questions"]
    ci, size = span(pair["ci95"]), abs(100 * pair["difference"])
    counts = f"{pair['wins_b']} won, {pair['ties']} tied, {pair['wins_a']} lost"
    if pair["verdict"] in ("a better", "b better"):
        better, worse = (b, a) if pair["verdict"] == "b better" else (a, b)
        return (
            f"`{better}` is better than `{worse}` on these {n} questions by {size:.1f} "
            f"points {span(pair['ci95'] if better == b else [-pair['ci95'][1], -pair['ci95'][0]])} "
            f"(McNemar p = {pair['p_mcnemar']:.3f}; `{b}` {counts})."
        )
    if pair["verdict"] == "equivalent":
        return f"`{a}` and `{b}` are within {size:.1f} points {ci} on these {n} questions."
    needed = pair.get("questions_needed") or n
    return (
        f"`{a}` and `{b}` cannot be told apart on these {n} questions (`{b}` {points(pair['difference'])} "
        f"points {ci}, McNemar p = {pair['p_mcnemar']:.2f}; `{b}` {counts}): the test had too little power; "
        f"about {needed} questions ({needed - n} more) would decide."
    )
