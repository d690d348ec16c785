"""Cascades simulated offline from recorded answers: no generation, every ordering and threshold.

A cascade asks its first step; when that answer's (cross-fitted) probability is below the step's
threshold it asks the next, and the last step's answer is served whatever its confidence. With
every generator's answer to the same questions recorded, each cascade's outcome per question is
known without running it: its quality (share right), compute seconds (the on-premises steps'
answer time), latency (every step's answer time, added), money, the share of questions whose
passages left the premises (an off-premises step ran) and the share that reached each step.

The thresholds are chosen on the same answers they are scored on (the probabilities themselves
are cross-fitted): expect a small optimism, and check a recommendation on questions it has not seen.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from evaluation import confidence_metrics as cm
from evaluation.answers import AnswerSet

GRID = tuple(round(0.05 * i, 2) for i in range(1, 20))
"""Thresholds tried at every step but the last: 0.05, 0.10, ..., 0.95 (a weak model's calibrated
probabilities all sit low: a grid starting at 0.30 would escalate every question)."""
TARGET_POINTS = 2.0
"""Default target: within this many percentage points of the strongest generator alone."""
GOAL_ESCALATION = 0.6
GOAL_OFF_PREMISES = 0.5


@dataclass(frozen=True)
class Step:
    """One generator's recorded answer to one question."""

    correct: bool
    probability: float | None
    total_s: float
    cost_usd: float
    off_premises: bool


def simulate(
    steps: Sequence[str], thresholds: Sequence[float], questions: Sequence[Sequence[Step]]
) -> dict[str, Any]:
    """Run the cascade ``steps`` (with a threshold per step but the last) over ``questions``,
    each the recorded answers of the steps, in order."""
    n = len(questions)
    right = off = 0
    compute = money = 0.0
    latencies: list[float] = []
    reached = [0] * len(steps)
    served = [0] * len(steps)
    for answers in questions:
        latency = 0.0
        left = False
        for i, step in enumerate(answers):
            reached[i] += 1
            latency += step.total_s
            money += step.cost_usd
            compute += 0.0 if step.off_premises else step.total_s
            left = left or step.off_premises
            last = i == len(answers) - 1
            if last or (step.probability is not None and step.probability >= thresholds[i]):
                served[i] += 1
                right += step.correct
                break
        off += left
        latencies.append(latency)
    return {
        "steps": list(steps),
        "thresholds": list(thresholds),
        "questions": n,
        "quality": cm.share(right, n),
        "compute_s": round(compute / n, 3) if n else None,
        "latency_mean_s": round(sum(latencies) / n, 3) if n else None,
        "latency_p95_s": _p95(latencies),
        "cost_usd_per_1k": round(1000 * money / n, 4) if n else None,
        "off_premises": cm.share(off, n),
        "reached": {s: round(r / n, 4) for s, r in zip(steps, reached, strict=True)} if n else {},
        "served": {s: round(c / n, 4) for s, c in zip(steps, served, strict=True)} if n else {},
    }


def _p95(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)], 3)


def step_table(
    answers: AnswerSet, probabilities: Mapping[str, Mapping[str, float]]
) -> dict[str, dict[str, Step]]:
    """Per generator, per question: its recorded answer as a :class:`Step`."""
    return {
        g: {
            r.question: Step(
                r.correct, probabilities.get(g, {}).get(r.question), r.total_s, r.cost_usd, r.off_premises
            )
            for r in rows
        }
        for g, rows in answers.answers.items()
    }


def cascades(order: Sequence[str]) -> list[tuple[str, ...]]:
    """Every cascade of 2..n generators keeping ``order`` (cheapest first)."""
    return [c for size in range(2, len(order) + 1) for c in itertools.combinations(order, size)]


def sweep(
    table: Mapping[str, Mapping[str, Step]], order: Sequence[str], grid: Sequence[float] = GRID
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Each generator alone, and every cascade at every threshold combination, over the
    questions every generator answered (a failed answer drops its question)."""
    common = sorted(set.intersection(*(set(table[g]) for g in order))) if order else []
    singles = [simulate([g], [], [[table[g][q]] for q in common]) for g in order]
    points = []
    for steps in cascades(order):
        rows = [[table[g][q] for g in steps] for q in common]
        if any(a.probability is None for row in rows for a in row[:-1]):
            continue  # a step without probabilities can only come last
        for thresholds in itertools.product(grid, repeat=len(steps) - 1):
            points.append(simulate(steps, thresholds, rows))
    return singles, points


def pareto_front(points: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The points no other point beats: at least as right, at most as much compute and money,
    strictly better in one. Sorted by compute, then money."""

    def key(p: Mapping[str, Any]) -> tuple[float, float, float]:
        return (p["quality"]["value"] or 0.0, p["compute_s"] or 0.0, p["cost_usd_per_1k"] or 0.0)

    front = []
    for p in points:
        q, c, m = key(p)
        dominated = any(
            q2 >= q and c2 <= c and m2 <= m and (q2, c2, m2) != (q, c, m) for q2, c2, m2 in map(key, points)
        )
        if not dominated:
            front.append(p)
    return sorted(front, key=lambda p: (key(p)[1], key(p)[2], -key(p)[0]))


def recommend(
    singles: Sequence[dict[str, Any]], points: Sequence[dict[str, Any]], target_points: float = TARGET_POINTS
) -> dict[str, Any] | None:
    """The cheapest configuration (money, then compute, then latency) whose quality is within
    ``target_points`` of the strongest generator alone."""
    if not singles:
        return None
    strongest = max(singles, key=lambda s: s["quality"]["value"] or 0.0)
    floor = (strongest["quality"]["value"] or 0.0) - target_points / 100 - 1e-9
    eligible = [p for p in (*singles, *points) if (p["quality"]["value"] or 0.0) >= floor]
    best = min(eligible, key=lambda p: (p["cost_usd_per_1k"], p["compute_s"], p["latency_mean_s"]))
    return {
        "target": f"within {target_points:g} points of {strongest['steps'][0]} alone, "
        "at the least cost and compute",
        "strongest": strongest["steps"][0],
        "choice": best,
        "snippet": snippet(best),
    }


def snippet(point: Mapping[str, Any]) -> str:
    """A generators-file entry for a cascade (or the one generator to use alone)."""
    steps = point["steps"]
    if len(steps) == 1:
        return f"# no cascade beats {steps[0]} alone here: use the generator {steps[0]}\n"
    thresholds = ", ".join(f"{t:.2f}" for t in point["thresholds"])
    return (
        f"  - id: cascade\n    label: {' then '.join(steps)}\n    kind: cascade\n"
        f"    steps: [{', '.join(steps)}]\n    thresholds: [{thresholds}]\n"
    )


def goal_checks(singles: Sequence[dict[str, Any]], points: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issue's goals: ``slm -> slm-large`` within 2 points of slm-large alone while slm-large
    runs on at most 60% of the questions; with an off-premises last step, at most half the
    questions' passages leave the premises at its quality (within 2 points)."""
    alone = {s["steps"][0]: s for s in singles}
    checks = []
    if {"slm", "slm-large"} <= alone.keys():
        checks.append(
            _check(
                "slm -> slm-large within 2 points of slm-large alone, slm-large on at most 60% of questions",
                alone["slm-large"],
                [p for p in points if p["steps"] == ["slm", "slm-large"]],
                lambda p: p["reached"]["slm-large"],
                GOAL_ESCALATION,
            )
        )
    for last, single in alone.items():
        if single["off_premises"]["value"]:
            checks.append(
                _check(
                    f"cascades ending in {last}: its quality (within 2 points) with at most half the "
                    "questions' passages off the premises",
                    single,
                    [p for p in points if p["steps"][-1] == last],
                    lambda p: p["off_premises"]["value"] or 0.0,
                    GOAL_OFF_PREMISES,
                )
            )
    return checks


def _check(
    goal: str,
    reference: dict[str, Any],
    candidates: Sequence[dict[str, Any]],
    share: Callable[[dict[str, Any]], float],
    limit: float,
) -> dict[str, Any]:
    """Met when a candidate within ``limit`` (by ``share``) is within 2 points of ``reference``;
    ``best``: the cheapest such, else the most accurate within the limit, else the one closest to it."""
    floor = (reference["quality"]["value"] or 0.0) - TARGET_POINTS / 100 - 1e-9
    allowed = [p for p in candidates if share(p) <= limit + 1e-9]
    passing = [p for p in allowed if (p["quality"]["value"] or 0.0) >= floor]
    best: dict[str, Any] | None
    if passing:
        best = min(passing, key=lambda p: (p["cost_usd_per_1k"], p["compute_s"], share(p)))
    elif allowed:
        best = max(allowed, key=lambda p: p["quality"]["value"] or 0.0)
    else:
        best = min(candidates, key=share, default=None)
    return {"goal": goal, "met": bool(passing), "reference": reference["quality"], "best": best}


def cascade_section(
    answers: AnswerSet, confidence: Mapping[str, Any], order: Sequence[str] | None = None
) -> dict[str, Any]:
    """The ``cascade`` section of results.json."""
    generators = confidence["generators"]
    probabilities = {g: generators[g].get("probabilities", {}) for g in generators}
    order = [g for g in (order or answers.answers) if answers.answers.get(g)]  # all failed: left out
    singles, points = sweep(step_table(answers, probabilities), order)
    return {
        "order": order,
        "grid": list(GRID),
        "singles": singles,
        "points": points,
        "pareto": pareto_front([*singles, *points]),
        "recommendation": recommend(singles, points),
        "goals": goal_checks(singles, points),
    }


def describe(point: Mapping[str, Any]) -> str:
    """One configuration in words: steps and thresholds, quality, compute, money, escalation."""
    name = " -> ".join(point["steps"])
    if point["thresholds"]:
        name += " @ " + "/".join(f"{t:.2f}" for t in point["thresholds"])
    q = point["quality"]
    if q["value"] is None:
        return f"{name}: no questions"
    low, high = q["ci95"]
    off = point["off_premises"]["value"] or 0.0
    reached = ", ".join(f"{s} {100 * v:.0f}%" for s, v in list(point["reached"].items())[1:])
    return (
        f"{name}: {100 * q['value']:.1f}% right [{100 * low:.0f}-{100 * high:.0f}], "
        f"{point['compute_s']:.1f} s compute, {point['latency_mean_s']:.1f} s latency, "
        f"${point['cost_usd_per_1k']:.2f}/1k, off-premises {100 * off:.0f}%"
        + (f", reached {reached}" if reached else "")
    )


def summary_lines(section: Mapping[str, Any]) -> list[str]:
    """The cascade simulation for a terminal."""
    lines = ["alone: " + describe(s) for s in section["singles"]]
    lines += ["pareto: " + describe(p) for p in section["pareto"]]
    rec = section["recommendation"]
    if rec:
        lines.append(f"recommended ({rec['target']}): {describe(rec['choice'])}")
        lines.append(rec["snippet"].rstrip())
    for goal in section["goals"]:
        best = describe(goal["best"]) if goal["best"] else "no cascade"
        lines.append(f"goal {'MET' if goal['met'] else 'not met'}: {goal['goal']} ({best})")
    return lines
