"""How well each generator's confidence tells right answers from wrong ones, measured on labelled answers.

Per generator: every signal's AUROC (right vs wrong) with its interval and direction; the AUROC and
expected calibration error of a calibration fitted by k-fold cross-fitting (each answer's
probability comes from a :func:`chat.confidence.calibration.fit_calibration` that never saw it);
the risk-coverage curve; and, where the data set has unanswerable questions, abstention precision
and recall without and with a confidence gate.

``python -m evaluation.confidence_eval RESULTS.json [MORE.json ...] --out report.json`` recomputes
this and the cascade simulation (:mod:`evaluation.cascade_sim`) from existing results, no models.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from chat.confidence.calibration import CalibrationError, fit_calibration
from chat.confidence.signals import SIGNALS
from evaluation import confidence_metrics as cm
from evaluation.answers import AnswerSet, LabelledAnswer, load_answers, merge

log = logging.getLogger(__name__)

FOLDS = 5


def fold_of(labels: Sequence[bool], folds: int = FOLDS, seed: int = cm.SEED) -> list[int]:
    """Each answer's fold: right and wrong answers dealt out separately (stratified), shuffled
    with a fixed seed."""
    rng = np.random.default_rng(seed)
    assigned = [0] * len(labels)
    for wanted in (True, False):
        members = [i for i, y in enumerate(labels) if y == wanted]
        for position, i in enumerate(rng.permutation(members)):
            assigned[int(i)] = position % folds
    return assigned


def cross_fitted(generator: str, rows: Sequence[LabelledAnswer], folds: int = FOLDS) -> list[float | None]:
    """Each answer's probability from a calibration fitted on the other folds; None where that
    fold's training answers were too few (fewer than 20, or all right or all wrong)."""
    labels = [r.correct for r in rows]
    assigned = fold_of(labels, folds)
    probabilities: list[float | None] = [None] * len(rows)
    for fold in range(folds):
        train = [(r.signals, r.correct) for r, f in zip(rows, assigned, strict=True) if f != fold]
        try:
            calibration = fit_calibration(generator, "", train, fitted_on={})
        except CalibrationError as e:
            log.info("%s fold %d: %s", generator, fold, e)
            continue
        for i, f in enumerate(assigned):
            if f == fold:
                probabilities[i] = calibration.probability(rows[i].signals)
    return probabilities


def signal_table(rows: Sequence[LabelledAnswer]) -> dict[str, dict[str, Any]]:
    """Every recorded signal's AUROC, over the answers that have it."""
    names = [n for n in SIGNALS if any(n in r.signals for r in rows)]
    names += sorted({n for r in rows for n in r.signals} - set(names))
    table = {}
    for name in names:
        having = [r for r in rows if name in r.signals]
        table[name] = cm.signal_auroc([r.signals[name] for r in having], [r.correct for r in having])
    return table


def generator_report(generator: str, rows: Sequence[LabelledAnswer], errors: int = 0) -> dict[str, Any]:
    """Everything measured for one generator; ``probabilities`` are the cross-fitted ones, by question."""
    right = sum(r.correct for r in rows)
    report: dict[str, Any] = {
        "answers": len(rows),
        "errors_excluded": errors,
        "correct": cm.share(right, len(rows)),
        "signals": signal_table(rows),
    }
    probabilities = cross_fitted(generator, rows) if rows else []
    scored = [(r, p) for r, p in zip(rows, probabilities, strict=True) if p is not None]
    if not scored:
        report["combined"] = None
        report["note"] = "too few answers, or all right or all wrong: no calibration could be cross-fitted"
        return report
    ps = [p for _, p in scored]
    ys = [r.correct for r, _ in scored]
    report["combined"] = {**cm.signal_auroc(ps, ys), "folds": FOLDS}
    report["ece"] = cm.ece_with_interval(ps, ys)
    report["risk_coverage"] = cm.risk_coverage(ps, ys)
    report["probabilities"] = {r.question: round(p, 4) for r, p in scored}
    selective = _selective([r for r, _ in scored], ps)
    if selective:
        report["selective"] = selective
    return report


def _selective(rows: Sequence[LabelledAnswer], probabilities: Sequence[float]) -> dict[str, Any] | None:
    if not any(r.unanswerable for r in rows):
        return None
    abstained = [r.abstained for r in rows]
    unanswerable = [bool(r.unanswerable) for r in rows]
    return {
        "without_gate": cm.abstention(abstained, unanswerable),
        "with_gate": cm.best_gate(abstained, unanswerable, probabilities),
    }


def confidence_section(answers: AnswerSet) -> dict[str, Any]:
    """The ``confidence`` section of results.json: one report per generator."""
    return {
        "data": answers.data,
        "questions": answers.questions,
        "generators": {
            g: generator_report(g, rows, answers.errors.get(g, 0)) for g, rows in answers.answers.items()
        },
    }


def headline(generator: str, report: Mapping[str, Any]) -> str:
    """One line: answers, share right, combined AUROC and ECE with intervals, the gate."""
    combined, ece = report.get("combined"), report.get("ece") or {}
    line = f"{generator}: {report['answers']} answers, {_ci_pct(report['correct'])} right"
    if combined is None:
        return line + f" ({report.get('note', 'no calibration')})"
    line += (
        f"; AUROC {combined['auroc']:.2f} {_ci(combined['ci95'])}, ECE {ece['ece']:.3f} {_ci(ece['ci95'])}"
    )
    gate = (report.get("selective") or {}).get("with_gate")
    plain = (report.get("selective") or {}).get("without_gate")
    if plain:
        line += f"; abstention recall {_ci_pct(plain['recall'])} at precision {_ci_pct(plain['precision'])}"
    if gate:
        line += (
            f", gated (t={gate['threshold']:.2f}) {_ci_pct(gate['recall'])} at {_ci_pct(gate['precision'])}"
        )
    elif plain:
        line += ", no gate reaches precision 0.8"
    return line


def _ci(interval: Any) -> str:
    return "[–]" if not interval else f"[{interval[0]:.2f}, {interval[1]:.2f}]"


def _ci_pct(s: Mapping[str, Any]) -> str:
    if s["value"] is None:
        return "–"
    low, high = s["ci95"]
    return f"{100 * s['value']:.0f}% [{100 * low:.0f}-{100 * high:.0f}]"


def full_report(answers: AnswerSet, order: Sequence[str] | None = None) -> dict[str, Any]:
    """The confidence section and the cascade simulation over the same answers; ``order``: the
    generators from cheapest to dearest (default: as the records list them)."""
    from evaluation.cascade_sim import cascade_section

    confidence = confidence_section(answers)
    return {"confidence": confidence, "cascade": cascade_section(answers, confidence, order)}


def print_summary(report: Mapping[str, Any], write: Any = print) -> None:
    """The headline figures, for a terminal."""
    from evaluation.cascade_sim import summary_lines

    for generator, entry in report["confidence"]["generators"].items():
        write(headline(generator, entry))
    for line in summary_lines(report["cascade"]):
        write(line)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Confidence and cascade report from existing evaluation results (no model runs)."
    )
    parser.add_argument(
        "results", type=Path, nargs="+", help="results.json, checkpoint-qa-*.jsonl or corpus JSON"
    )
    parser.add_argument("--out", type=Path, default=None, help="write the report as JSON here")
    parser.add_argument(
        "--order",
        default=None,
        help="generators from cheapest to dearest, comma-separated (default: as recorded)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    order = [g.strip() for g in args.order.split(",") if g.strip()] if args.order else None
    report = full_report(merge(load_answers(p) for p in args.results), order)
    print_summary(report)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1), encoding="utf-8")
        print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
