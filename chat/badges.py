"""The words every front end shows about an answer's confidence, its cascade steps and a withheld answer.

Computed once here so the web chat, Slack and the terminal say the same thing with the same
probability (issue 23): each front end only picks its colours and icons by :attr:`Badge.tone`.
Nothing is hidden: a low-confidence answer keeps its text and gets a warning badge; a generator
without a calibration says so. An error, or an answer without a confidence, gets no badge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from core.domain import Answer, ConfidenceLevel, Escalation

Tone = Literal["good", "neutral", "warning", "muted"]

TONES: dict[ConfidenceLevel, Tone] = {
    ConfidenceLevel.HIGH: "good",
    ConfidenceLevel.MEDIUM: "neutral",
    ConfidenceLevel.LOW: "warning",
    ConfidenceLevel.UNKNOWN: "muted",
}
UNCALIBRATED = "Confidence not calibrated for this model"
UNCALIBRATED_LABEL = "Confidence not calibrated"
CHECK_SOURCES = "check the sources"
MAIN_REASONS = 3
"""Reasons shown with a badge (the strongest first); the rest stay in ``--json``."""
NOT_SURE = "Not sure"


@dataclass(frozen=True)
class Badge:
    """One answer's confidence, in words: ``text`` on the badge, ``detail`` beside or under it."""

    level: ConfidenceLevel
    tone: Tone
    text: str
    """``High confidence · 0.86``, ``Low confidence · 0.31 — check the sources``."""
    label: str
    """The start of ``text`` that fits on a chip (``Low confidence · 0.31``); the rest is advice."""
    probability: str
    """The probability as every front end shows it (``0.86``), empty when not calibrated."""
    detail: str
    """The main reasons, joined (``top passage agrees; 2 citations verified``); may be empty."""
    tooltip: str
    """What a hover shows: the reasons, then where the probability comes from."""


def probability_text(probability: float) -> str:
    """``0.86``: two decimals, the one rounding every front end uses."""
    return f"{probability:.2f}"


def confidence_badge(answer: Answer) -> Badge | None:
    """The badge for ``answer``; None for an error or an answer without a confidence."""
    confidence = answer.confidence
    if answer.error or confidence is None:
        return None
    level = confidence.level
    if level is ConfidenceLevel.UNKNOWN or confidence.probability is None:
        level, shown, text, label = ConfidenceLevel.UNKNOWN, "", UNCALIBRATED, UNCALIBRATED_LABEL
    else:
        shown = probability_text(confidence.probability)
        text = label = f"{level.value.capitalize()} confidence · {shown}"
        if level is ConfidenceLevel.LOW:
            text += f" — {CHECK_SOURCES}"
    detail = "; ".join(r.strip() for r in confidence.reasons[:MAIN_REASONS] if r.strip())
    where = f"Calibration: {confidence.calibration}" if confidence.calibration else ""
    tooltip = "\n".join(x for x in (f"Why: {detail}" if detail else "", where) if x) or text
    return Badge(level, TONES[level], text, label, shown, detail, tooltip)


def not_sure_line(answer: Answer) -> str | None:
    """For an answer that selective answering withheld: what the column says instead; else None."""
    if answer.error or not answer.withheld_text:
        return None
    p = answer.confidence.probability if answer.confidence else None
    why = f" (confidence {probability_text(p)} is below this model's threshold)" if p is not None else ""
    return f"{NOT_SURE}: the model's answer was withheld{why}. Read the sources instead."


def cascade_line(answer: Answer) -> str | None:
    """``Answered by B after A (escalated: 0.42 < 0.60) · 2 steps, 7.1 s, $0.0000``; None for one model."""
    if not answer.steps:
        return None
    served = next((s for s in answer.steps if s.outcome == "served"), None)
    tried = [step_text(s) for s in answer.steps if s is not served]
    head = f"Answered by {served.label or served.generator}" if served else "No step answered"
    after = f" after {', '.join(tried)}" if tried else ""
    seconds = sum(s.seconds for s in answer.steps)
    cost = sum(s.cost_usd for s in answer.steps)
    n = len(answer.steps)
    return f"{head}{after} · {n} step{'s' if n != 1 else ''}, {seconds:.1f} s, ${cost:.4f}"


def step_text(step: Escalation) -> str:
    """``Small local model (escalated: 0.42 < 0.60)``: a tried step and what happened to it."""
    name = step.label or step.generator
    return f"{name} ({step.outcome})" if step.outcome else name
