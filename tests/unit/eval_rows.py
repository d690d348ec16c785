"""Question records with every score ``summarize`` reads, for one local generator ``slm``."""

from __future__ import annotations

from typing import Any


def local(total_s: float, queue_s: float = 0.0, core_s: float | None = None, **extra: Any) -> dict[str, Any]:
    """A recorded on-premises answer's timings and privacy (``core_s``: measured core-seconds)."""
    timings: dict[str, Any] = {"total_s": total_s, "queue_s": queue_s}
    if core_s is not None:
        timings["core_s"] = core_s
    return {"timings": timings, "privacy": {"off_premises": False}, **extra}


def row(
    qid: str, total_s: float, cost: float, correct: bool = True, unanswerable: bool = False
) -> dict[str, Any]:
    """One question answered by ``slm`` in ``total_s`` seconds for ``cost`` dollars of tokens."""
    scores = {
        "error": None,
        "abstained": unanswerable and correct,
        "em": float(correct),
        "f1": float(correct),
        "correct": correct,
        "contains": None if unanswerable else correct,
        "markers_written": 1,
        "markers_supported": int(correct),
        "attributed": 0,
        "gold_cited": None if unanswerable else correct,
        "total_s": total_s,
        "first_token_s": total_s / 4,
        "prompt_tokens": 100,
        "completion_tokens": 10,
        "cost_usd": cost,
    }
    signals = {"self_check": 0.8 if correct else 0.3, "top_similarity": 0.5 + 0.01 * (len(qid) % 7)}
    answer = local(total_s) | {"usage": {"cost_usd": cost}, "confidence": {"signals": signals}}
    return {"id": qid, "unanswerable": unanswerable, "answers": {"slm": {"answer": answer, "scores": scores}}}
