"""A calibration: a logistic regression over an answer's signals, stored as a readable JSON file.

One per generator, fitted on labelled questions (``docduet eval ... --calibrate``): the features
it weighs, their mean and scale, the weights, and the data and date it came from. Applying it is
a dot product, so answering needs no machine-learning library; fitting uses scikit-learn.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.errors import ConfigError

log = logging.getLogger(__name__)

FORMAT = 1
MIN_PRESENT = 0.9
"""A signal is a feature only when at least this share of the fitting answers has it."""


class CalibrationError(ConfigError):
    """A calibration file that cannot be used (unreadable, another format, too few answers)."""


@dataclass(frozen=True)
class Calibration:
    """P(correct) = sigmoid(intercept + sum(weight * (signal - mean) / scale))."""

    generator: str
    model: str
    """The model file's name (or hosted model) it was fitted for: another model gets no probability."""
    features: tuple[str, ...]
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    intercept: float
    fitted_on: Mapping[str, Any] = field(default_factory=dict)
    """Data sets, question and answer counts, share right, date and command."""
    metrics: Mapping[str, Any] = field(default_factory=dict)
    """Measured on held-out folds when it was fitted: AUROC, ECE."""

    def contributions(self, signals: Mapping[str, float]) -> dict[str, float]:
        """Each feature's push on the log-odds; a missing signal counts as its mean (0)."""
        pushes: dict[str, float] = {}
        for name, mean, scale, weight in zip(self.features, self.mean, self.scale, self.weights, strict=True):
            value = signals.get(name)
            pushes[name] = 0.0 if value is None else weight * (value - mean) / scale
        return pushes

    def probability(self, signals: Mapping[str, float]) -> float:
        """The calibrated probability that the answer with these signals is right."""
        logit = self.intercept + sum(self.contributions(signals).values())
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, logit))))

    def to_json(self) -> str:
        data = {"format": FORMAT, **asdict(self)}
        return json.dumps(data, indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_file(cls, path: Path) -> Calibration:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.pop("format", None) != FORMAT:
                raise ValueError(f"format is not {FORMAT}")
            fields: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
            made = cls(**fields)
        except (OSError, ValueError, TypeError) as e:
            raise CalibrationError(
                f"calibration {path} cannot be used ({e}); refit it with `docduet eval ... --calibrate` "
                "or delete it"
            ) from e
        lengths = {len(made.features), len(made.mean), len(made.scale), len(made.weights)}
        if len(lengths) != 1 or any(s <= 0 for s in made.scale):
            raise CalibrationError(
                f"calibration {path} is inconsistent; refit it with `docduet eval ... --calibrate`"
            )
        return made


def load_calibrations(folders: Sequence[Path]) -> dict[str, Calibration]:
    """Every ``<generator>.json`` in ``folders``; a later folder's file replaces an earlier one's."""
    found: dict[str, Calibration] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else ():
            try:
                calibration = Calibration.from_file(path)
            except CalibrationError as e:
                log.warning("%s", e)
                continue
            found[calibration.generator] = calibration
    return found


def fit_calibration(
    generator: str,
    model: str,
    rows: Sequence[tuple[Mapping[str, float], bool]],
    *,
    fitted_on: Mapping[str, Any],
    metrics: Mapping[str, Any] | None = None,
    regularization: float = 1.0,
) -> Calibration:
    """Fit a logistic regression on (signals, right) pairs; needs right and wrong answers both."""
    from sklearn.linear_model import LogisticRegression

    right = sum(1 for _, ok in rows if ok)
    if len(rows) < 20 or right in (0, len(rows)):
        raise CalibrationError(
            f"{generator}: {len(rows)} answers, {right} right: a calibration needs at least 20 answers, "
            "some right and some wrong; label more questions"
        )
    features = feature_names(row for row, _ in rows)
    if not features:
        raise CalibrationError(
            f"{generator}: its {len(rows)} answers carry no confidence signals (answers recorded before "
            "docduet measured them, or failed ones); re-run the evaluation to record them"
        )
    matrix = [[row.get(name, math.nan) for name in features] for row, _ in rows]
    mean = [_mean([r[i] for r in matrix]) for i in range(len(features))]
    scale = [_scale([r[i] for r in matrix], mean[i]) for i in range(len(features))]
    scaled = [[0.0 if math.isnan(v) else (v - mean[i]) / scale[i] for i, v in enumerate(r)] for r in matrix]
    model_ = LogisticRegression(C=regularization, max_iter=1000)
    model_.fit(scaled, [ok for _, ok in rows])
    return Calibration(
        generator=generator,
        model=model,
        features=tuple(features),
        mean=tuple(round(m, 6) for m in mean),
        scale=tuple(round(s, 6) for s in scale),
        weights=tuple(round(float(w), 6) for w in model_.coef_[0]),
        intercept=round(float(model_.intercept_[0]), 6),
        fitted_on={**fitted_on, "answers": len(rows), "right": right},
        metrics=dict(metrics or {}),
    )


def feature_names(rows: Any) -> list[str]:
    """The signals present in at least :data:`MIN_PRESENT` of the rows, in a stable order."""
    rows = list(rows)
    counts: dict[str, int] = {}
    for row in rows:
        for name in row:
            counts[name] = counts.get(name, 0) + 1
    return [name for name, count in counts.items() if count >= MIN_PRESENT * len(rows)]


def _mean(values: Sequence[float]) -> float:
    present = [v for v in values if not math.isnan(v)]
    return sum(present) / len(present) if present else 0.0


def _scale(values: Sequence[float], mean: float) -> float:
    present = [v for v in values if not math.isnan(v)]
    if len(present) < 2:
        return 1.0
    spread = math.sqrt(sum((v - mean) ** 2 for v in present) / (len(present) - 1))
    return spread if spread > 1e-9 else 1.0
