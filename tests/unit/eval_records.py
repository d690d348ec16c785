"""Hand-made evaluation records, shaped as ``evaluation.scoring.question_record`` writes them."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Said:
    """One generator's answer in a hand-made record."""

    correct: bool
    signals: dict[str, float] = field(default_factory=dict)
    abstained: bool = False
    total_s: float = 1.0
    cost_usd: float = 0.0
    off_premises: bool = False
    endpoint: str = "/models/small.gguf"
    error: str | None = None


def record(qid: str, answers: dict[str, Said], unanswerable: bool = False) -> dict[str, Any]:
    """A question record with these answers."""
    return {
        "id": qid,
        "question": f"question {qid}?",
        "gold": [] if unanswerable else ["x"],
        "unanswerable": unanswerable,
        "answers": {
            g: {
                "answer": {
                    "generator": g,
                    "text": "x",
                    "error": s.error,
                    "abstained": s.abstained,
                    "timings": {"total_s": s.total_s},
                    "usage": {"cost_usd": s.cost_usd},
                    "privacy": {"endpoint": s.endpoint, "off_premises": s.off_premises},
                    "confidence": {"level": "unknown", "probability": None, "signals": dict(s.signals)},
                },
                "scores": {
                    "error": s.error,
                    "abstained": s.abstained,
                    "correct": s.correct,
                    "total_s": s.total_s,
                    "cost_usd": s.cost_usd,
                },
            }
            for g, s in answers.items()
        },
    }


def synthetic(n: int = 80, seed: int = 7) -> list[dict[str, Any]]:
    """``n`` questions (a quarter unanswerable) answered by ``slm`` (1 s, right 40%) and
    ``slm-large`` (3 s, right 70%); each answer's ``self_check`` tracks its correctness with
    noise, ``top_similarity`` is noise."""
    rng = random.Random(seed)
    records = []
    for i in range(n):
        unanswerable = i % 4 == 3
        answers = {}
        for name, skill, seconds in (("slm", 0.4, 1.0), ("slm-large", 0.7, 3.0)):
            right = rng.random() < skill
            abstained = unanswerable and right
            check = min(1.0, max(0.0, (0.7 if right else 0.35) + rng.gauss(0, 0.15)))
            signals = {"self_check": round(check, 4), "top_similarity": round(rng.random(), 4)}
            answers[name] = Said(right, signals, abstained, seconds, endpoint=f"/models/{name}.gguf")
        records.append(record(f"q{i}", answers, unanswerable))
    return records
