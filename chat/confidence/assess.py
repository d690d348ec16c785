"""From an answer's signals to what users see: a calibrated probability, a level and the reasons."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from chat.confidence.calibration import Calibration
from core.domain import Confidence, ConfidenceLevel

HIGH = 0.75
"""At or above: high confidence."""
MEDIUM = 0.45
"""At or above (below HIGH): medium; below: low."""

_REASONS: dict[str, tuple[str, str]] = {
    "lp_mean": ("the model was sure of its words", "the model hesitated over its words"),
    "lp_min": ("no word was a guess", "some words were a guess"),
    "self_check": (
        "the model confirmed its answer against the passages",
        "the model doubted its answer when asked",
    ),
    "consistency": (
        "the model gave the same answer when asked again",
        "the model answered differently when asked again",
    ),
    "top_similarity": ("a passage closely matches the question", "no passage closely matches the question"),
    "similarity_margin": ("one passage stands out", "no passage stands out"),
    "close_passages": ("several passages agree", "few passages agree"),
    "cited_support": ("its citations support its sentences", "its citations support its sentences weakly"),
    "citations": ("it cites its sources", "it cites few sources"),
    "dropped_markers": ("it cited no passage wrongly", "it cited passages that do not say this"),
    "attributed_share": ("docduet found the sources the model did not cite", "it cited its own sources"),
    "abstained": ("it says the documents do not hold the answer", "it answers from the documents"),
    "answer_tokens": ("a long answer", "a short answer"),
}


def level_for(probability: float | None) -> ConfidenceLevel:
    """high / medium / low from the probability; unknown without one."""
    if probability is None:
        return ConfidenceLevel.UNKNOWN
    if probability >= HIGH:
        return ConfidenceLevel.HIGH
    return ConfidenceLevel.MEDIUM if probability >= MEDIUM else ConfidenceLevel.LOW


def reasons_for(calibration: Calibration, signals: Mapping[str, float], count: int = 2) -> tuple[str, ...]:
    """The ``count`` signals that moved the probability most, in words, strongest first."""
    pushes = sorted(calibration.contributions(signals).items(), key=lambda kv: abs(kv[1]), reverse=True)
    words = []
    for name, push in pushes[:count]:
        if abs(push) < 0.05:
            break
        up, down = _REASONS.get(name, (name, f"not {name}"))
        words.append(up if push > 0 else down)
    return tuple(words)


class Assessor:
    """Turns each answer's signals into a :class:`Confidence` with its generator's calibration."""

    def __init__(
        self, calibrations: Mapping[str, Calibration], models: Mapping[str, str] | None = None
    ) -> None:
        """``models`` maps a generator to its model's name; a calibration fitted for another
        model of the same generator is not used (the answer's confidence is ``unknown``)."""
        self._calibrations = dict(calibrations)
        self._models = dict(models or {})

    def calibration(self, generator: str) -> Calibration | None:
        calibration = self._calibrations.get(generator)
        model = self._models.get(generator)
        if calibration is None or (model is not None and calibration.model != model):
            return None
        return calibration

    def assess(self, generator: str, signals: Sequence[tuple[str, float]]) -> Confidence:
        values = dict(signals)
        calibration = self.calibration(generator)
        if calibration is None:
            return Confidence(ConfidenceLevel.UNKNOWN, None, (), tuple(signals), "")
        probability = round(calibration.probability(values), 4)
        fitted = calibration.fitted_on
        data = ", ".join(fitted.get("data", ())) or "?"
        source = f"{calibration.model}, fitted on {data} ({fitted.get('date', '?')})"
        return Confidence(
            level_for(probability), probability, reasons_for(calibration, values), tuple(signals), source
        )


def model_name(endpoint: str) -> str:
    """A generator's model name for matching calibrations: the GGUF file's name, or the endpoint."""
    return Path(endpoint).name if endpoint.endswith(".gguf") else endpoint
