"""``docduet eval ... --calibrate``: fit each generator's calibration on its labelled answers.

One :class:`chat.confidence.calibration.Calibration` per generator, fitted on all its answers in
the given results (several files may be fitted on together), written as ``<generator>.json``; its
``metrics`` are the cross-fitted AUROC and ECE of :mod:`evaluation.confidence_eval`, so the file
says how well it separated right from wrong on answers it had not seen.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chat.confidence.calibration import Calibration, CalibrationError, fit_calibration
from core.errors import ConfigError
from evaluation.answers import AnswerSet, LabelledAnswer
from evaluation.confidence_eval import generator_report

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fitted:
    """One generator's outcome: the file written and its figures, or why none was."""

    generator: str
    path: Path | None
    calibration: Calibration | None
    skipped: str = ""


def usable_rows(answers: AnswerSet, generator: str) -> tuple[str, list[LabelledAnswer]]:
    """The model that answered (the first answer's) and this generator's answers by that model
    that carry signals; answers by another model of the same generator id are left out."""
    rows = [r for r in answers.answers.get(generator, []) if r.signals]
    model = rows[0].model if rows else ""
    kept = [r for r in rows if r.model == model]
    if len(kept) < len(rows):
        log.warning(
            "%s: %d answers by another model than %s left out", generator, len(rows) - len(kept), model
        )
    return model, kept


def calibrate_all(
    answers: AnswerSet,
    data: Sequence[str],
    out_dir: Path,
    *,
    command: str,
    generators: Sequence[str] | None = None,
) -> list[Fitted]:
    """Fit and write a calibration for each generator (default: every one with answers)."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create {out_dir}: {e}; pass another --calibration-dir") from e
    date = datetime.now(UTC).isoformat(timespec="seconds")
    fitted = []
    for generator in generators or list(answers.answers):
        model, rows = usable_rows(answers, generator)
        report = generator_report(generator, rows)
        fitted_on = {
            "data": list(data),
            "questions": len({r.question for r in rows}),
            "date": date,
            "command": command,
        }
        try:
            calibration = fit_calibration(
                generator,
                model,
                [(r.signals, r.correct) for r in rows],
                fitted_on=fitted_on,
                metrics=_metrics(report),
            )
        except CalibrationError as e:
            fitted.append(Fitted(generator, None, None, str(e)))
            continue
        path = out_dir / f"{generator}.json"
        path.write_text(calibration.to_json(), encoding="utf-8")
        fitted.append(Fitted(generator, path, calibration))
    return fitted


def _metrics(report: dict[str, Any]) -> dict[str, Any]:
    combined, ece = report.get("combined"), report.get("ece") or {}
    if not combined:
        return {}
    return {
        "auroc": combined["auroc"],
        "auroc_ci95": combined["ci95"],
        "ece": ece["ece"],
        "ece_ci95": ece["ci95"],
        "cross_fitted_folds": combined["folds"],
        "answers": combined["n"],
    }
