"""The numbers of a load run: percentiles, spreads, and one report row per phase."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from typing import Any

from bench.load.plan import SLACK_ANSWERS, SLACK_RETRIEVAL, WEB_ANSWERS, Phase
from bench.load.sample import Sample
from chat.results import Comparison
from core.domain import Answer


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def spread_ms(values: Sequence[float]) -> dict[str, Any] | None:
    """p50/p95/max/mean of ``values`` (seconds), in milliseconds; None when there are none."""
    if not values:
        return None
    return {
        "count": len(values),
        "p50_ms": round(1000 * percentile(values, 50), 1),
        "p95_ms": round(1000 * percentile(values, 95), 1),
        "max_ms": round(1000 * max(values), 1),
        "mean_ms": round(1000 * statistics.fmean(values), 1),
    }


def summarise(
    phase: Phase,
    samples: list[Sample],
    unfinished: int,
    wall_s: float,
    pool_waits: list[tuple[float, int]],
    comparisons: list[Comparison],
) -> dict[str, Any]:
    """One row of the report: counts, errors by kind, throughput, latency, queue wait."""
    kinds = Counter(s.error for s in samples if s.error)
    if unfinished:
        kinds["unfinished when the phase ended"] += unfinished
    answered = [a for s in samples for a in s.answers] or [a for c in comparisons for a in c.answers]
    passages = [s.passages for s in samples if s.passages is not None] or [
        len(c.retrieval.hits) for c in comparisons
    ]
    queue: dict[str, Any] | None
    if phase.path in (WEB_ANSWERS, SLACK_ANSWERS):
        queue = spread_ms([w for w, _ in pool_waits])
        if queue is not None:
            queue["what"] = "wait for the local model's instance (pool_size 1)"
            queue["max_ahead_on_arrival"] = max(a for _, a in pool_waits)
    elif phase.path == SLACK_RETRIEVAL:
        queue = spread_ms([s.worker_wait_s for s in samples if s.worker_wait_s is not None])
        if queue is not None:
            queue["what"] = "delivery to a Bolt worker starting on it"
    else:
        queue = None
    row: dict[str, Any] = {
        "path": phase.path,
        "users": phase.users,
        "questions_per_user": phase.per_user,
        "cap_s": phase.cap_s,
        "planned": phase.users * phase.per_user,
        "requests": len(samples) + unfinished,
        "completed": len(samples),
        "errors": sum(kinds.values()),
        "error_kinds": dict(kinds),
        "wall_s": round(wall_s, 2),
        "throughput_rps": round(len(samples) / wall_s, 3) if wall_s > 0 else None,
        "latency": spread_ms([s.latency_s for s in samples]),
        "queue_wait": queue,
        "with_passages": sum(1 for p in passages if p > 0),
        "mean_passages": round(statistics.fmean(passages), 2) if passages else None,
    }
    if phase.path.startswith("slack"):
        row["slack_ack"] = spread_ms([s.ack_s for s in samples if s.ack_s is not None])
        row["slack_worker_wait"] = spread_ms(
            [s.worker_wait_s for s in samples if s.worker_wait_s is not None]
        )
        row["comparisons"] = len(comparisons)
    if phase.path == WEB_ANSWERS:
        row["max_ahead_shown"] = max((s.ahead or 0 for s in samples), default=0)
    if answered:
        row["answers"] = per_generator(answered)
    return row


def per_generator(answers: Sequence[Answer]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in dict.fromkeys(a.generator for a in answers):
        mine = [a for a in answers if a.generator == name]
        out[name] = {
            "answers": len(mine),
            "errors": sum(1 for a in mine if a.error),
            "cited": sum(1 for a in mine if a.citations),
            "abstained": sum(1 for a in mine if a.abstained),
            "first_token": spread_ms([a.timings.first_token_s for a in mine if a.timings.first_token_s]),
            "total": spread_ms([a.timings.total_s for a in mine]),
        }
    return out
