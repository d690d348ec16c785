"""Labelled answers read from records, cross-fitted calibration, the per-generator report,
``--calibrate``'s files and the report sections."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chat.confidence.calibration import Calibration, fit_calibration
from core.errors import ConfigError
from evaluation.answers import answers_from_records, load_answers, merge
from evaluation.calibrate import calibrate_all
from evaluation.confidence_eval import cross_fitted, fold_of, full_report, generator_report, main
from evaluation.report import render_report
from tests.unit.eval_records import Said, record, synthetic


def test_records_become_labelled_answers_and_errors_are_counted_apart() -> None:
    records = [
        record("a", {"slm": Said(True, {"self_check": 0.9}, total_s=2.0)}),
        record("b", {"slm": Said(False, error="timed out")}),
        record("c", {"slm": Said(True, abstained=True, off_premises=True, cost_usd=0.01)}, unanswerable=True),
    ]
    answers = answers_from_records(records, "squad")
    assert answers.errors == {"slm": 1}
    first, third = answers.answers["slm"]
    assert (first.question, first.correct, first.signals, first.total_s) == (
        "squad:a",
        True,
        {"self_check": 0.9},
        2.0,
    )
    assert first.model == "small.gguf"
    assert (third.unanswerable, third.abstained, third.off_premises, third.cost_usd) == (
        True,
        True,
        True,
        0.01,
    )


def test_a_cascade_column_is_left_out_whole_even_its_answers_without_steps() -> None:
    records = synthetic(12)
    for i, r in enumerate(records):  # the cascade's column: steps on all but the first answer
        served = dict(r["answers"]["slm-large"])
        steps = [] if i == 0 else [{"generator": "slm", "seconds": 1.0}]
        served["answer"] = {**served["answer"], "generator": "cascade", "steps": steps}
        r["answers"]["cascade"] = served
    answers = answers_from_records(records, "s")
    assert set(answers.answers) == {"slm", "slm-large"} and "cascade" not in answers.errors
    report = full_report(answers, ["slm", "slm-large", "cascade"])
    assert report["cascade"]["order"] == ["slm", "slm-large"]
    assert all(p["questions"] == 12 for p in report["cascade"]["singles"])  # not cut to one question


def test_corpus_question_records_are_read_too(tmp_path: Path) -> None:
    path = tmp_path / "corpus.json"
    corpus = {
        "generators": ["slm"],
        "records": [
            {
                "question": "Q1",
                "expected": None,
                "answers": {"slm": {"text": "", "error": None, "correct": True, "abstained": True}},
            },
            {
                "question": "Q2",
                "expected": "31",
                "answers": {"slm": {"text": "31", "error": None, "correct": True, "abstained": False}},
            },
        ],
    }
    path.write_text(json.dumps(corpus), encoding="utf-8")
    answers = load_answers(path)
    assert answers.data == "corpus-questions" and answers.questions == 2
    assert [(a.question, a.unanswerable) for a in answers.answers["slm"]] == [
        ("corpus-questions:Q1", True),
        ("corpus-questions:Q2", False),
    ]


def test_a_file_without_answers_says_what_to_pass(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"retrieval": {}}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"results\.json of `docduet eval` on a question set"):
        load_answers(path)


def test_folds_are_stratified_and_fixed() -> None:
    labels = [True] * 10 + [False] * 15
    folds = fold_of(labels, 5)
    assert folds == fold_of(labels, 5)
    for fold in range(5):
        members = [y for y, f in zip(labels, folds, strict=True) if f == fold]
        assert members.count(True) == 2 and members.count(False) == 3


def test_each_probability_comes_from_a_fit_that_never_saw_the_answer() -> None:
    rows = merge([answers_from_records(synthetic(60), "s")]).answers["slm"]
    probabilities = cross_fitted("slm", rows)
    folds = fold_of([r.correct for r in rows])
    held_out = [r for r, f in zip(rows, folds, strict=True) if f != 0]
    alone = fit_calibration("slm", "", [(r.signals, r.correct) for r in held_out], fitted_on={})
    for row, fold, p in zip(rows, folds, probabilities, strict=True):
        if fold == 0:
            assert p == pytest.approx(alone.probability(row.signals))


def test_too_few_answers_give_no_combined_figures() -> None:
    rows = answers_from_records(synthetic(10), "s").answers["slm"]
    report = generator_report("slm", rows)
    assert report["combined"] is None and "too few" in report["note"]
    assert set(report["signals"]) == {"self_check", "top_similarity"}


def test_the_report_measures_each_generator() -> None:
    report = full_report(answers_from_records(synthetic(80), "s"))
    slm = report["confidence"]["generators"]["slm"]
    assert slm["answers"] == 80 and slm["errors_excluded"] == 0
    assert slm["signals"]["self_check"]["auroc"] > 0.8 > slm["combined"]["ci95"][0] - 0.3
    assert 0.35 < slm["signals"]["top_similarity"]["auroc"] < 0.65  # noise
    assert slm["combined"]["auroc"] > 0.75 and slm["ece"]["ece"] < 0.25
    assert [p["coverage"] for p in slm["risk_coverage"]] == [1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1]
    assert slm["risk_coverage"][-1]["value"] > slm["risk_coverage"][0]["value"]
    assert slm["selective"]["without_gate"]["precision"]["value"] == 1.0
    assert len(slm["probabilities"]) == 80
    assert report["cascade"]["order"] == ["slm", "slm-large"]
    html = render_report(
        {
            "dataset": {"name": "s", "kind": "qa", "path": "s.jsonl", "sources": []},
            "started": "now",
            "wall_s": 1.0,
            "recommendation": [],
            "settings": {},
            **report,
        }
    )
    assert "Confidence: does it tell right from wrong?" in html and "signal self_check" in html
    assert "Risk-coverage" in html and "Cascades (simulated" in html and "kind: cascade" in html


def test_the_command_line_entry_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    checkpoint = tmp_path / "checkpoint-qa-x.jsonl"
    checkpoint.write_text("".join(json.dumps(r) + "\n" for r in synthetic(40)), encoding="utf-8")
    out = tmp_path / "report.json"
    assert main([str(checkpoint), "--out", str(out)]) == 0
    written = json.loads(out.read_text(encoding="utf-8"))
    assert set(written) == {"confidence", "cascade"}
    printed = capsys.readouterr().out
    assert "slm: 40 answers" in printed and "recommended" in printed


def test_calibrate_writes_one_file_per_generator_for_the_model_that_answered(tmp_path: Path) -> None:
    squad = answers_from_records(synthetic(60), "squad2-mini")
    corpus = answers_from_records(synthetic(30, seed=3), "corpus-questions")
    fitted = calibrate_all(
        merge([squad, corpus]), ["squad2-mini", "corpus-questions"], tmp_path, command="docduet eval x"
    )
    assert [f.generator for f in fitted] == ["slm", "slm-large"]
    calibration = Calibration.from_file(tmp_path / "slm.json")
    assert calibration.model == "slm.gguf"
    assert calibration.fitted_on["data"] == ["squad2-mini", "corpus-questions"]
    assert calibration.fitted_on["questions"] == 90 and calibration.fitted_on["answers"] == 90
    assert calibration.fitted_on["command"] == "docduet eval x" and calibration.fitted_on["date"].endswith(
        "+00:00"
    )
    assert 0.5 < calibration.metrics["auroc"] <= 1.0 and calibration.metrics["ece"] is not None
    assert set(calibration.features) == {"self_check", "top_similarity"}


def test_calibrate_leaves_out_another_models_answers_and_says_why_it_cannot_fit(tmp_path: Path) -> None:
    records = [record(f"q{i}", {"slm": Said(i % 2 == 0, {"self_check": 0.1 * (i % 10)})}) for i in range(30)]
    records += [record("old", {"slm": Said(True, {"self_check": 0.5}, endpoint="/models/old.gguf")})]
    fitted = calibrate_all(answers_from_records(records, "d"), ["d"], tmp_path, command="c")
    assert Calibration.from_file(tmp_path / "slm.json").fitted_on["answers"] == 30
    few = [record(f"q{i}", {"slm": Said(True, {"self_check": 0.5})}) for i in range(5)]
    (skipped,) = calibrate_all(answers_from_records(few, "d"), ["d"], tmp_path / "few", command="c")
    assert skipped.path is None and "at least 20 answers" in skipped.skipped
    assert fitted[0].path == tmp_path / "slm.json"


def test_eval_calibrate_fits_on_the_run_and_the_extra_files_and_prints_where(tmp_path: Path) -> None:
    import argparse
    import io

    from rich.console import Console

    from docduet.commands.eval import _calibrate, register

    results = {
        "dataset": {"name": "mine.jsonl"},
        "qa": {"generators": ["slm", "slm-large"], "records": synthetic(30)},
    }
    extra = answers_from_records(synthetic(20, seed=5), "corpus-questions")
    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    args = parser.parse_args(["eval", "mine.jsonl", "--limit", "30", "--calibrate"])
    args.calibration_dir = tmp_path / "cal"
    printed = io.StringIO()
    _calibrate(args, None, results, [extra], Console(file=printed, width=200))  # type: ignore[arg-type]
    text = printed.getvalue()
    assert f"-> {tmp_path / 'cal' / 'slm.json'}" in text and "cross-fitted AUROC" in text
    calibration = Calibration.from_file(tmp_path / "cal" / "slm-large.json")
    assert calibration.fitted_on["data"] == ["mine.jsonl", "corpus-questions"]
    assert calibration.fitted_on["answers"] == 50 and calibration.model == "slm-large.gguf"
    assert (
        calibration.fitted_on["command"]
        == f"docduet eval mine.jsonl --limit 30 --calibration-dir {tmp_path / 'cal'} --calibrate"
    )
    with pytest.raises(ConfigError, match="needs a question set"):
        _calibrate(args, None, {"retrieval": {}}, [], Console(file=printed))  # type: ignore[arg-type]


def test_a_cascade_columns_answers_are_left_to_the_simulation_of_its_steps() -> None:
    from evaluation.answers import answers_from_records

    step = {"correct": True, "error": None}
    record = {
        "id": "q1",
        "unanswerable": False,
        "answers": {
            "slm": {"answer": {"steps": [], "confidence": {"signals": {"lp_mean": -0.1}}}, "scores": step},
            "cascade": {"answer": {"steps": [{"generator": "slm"}]}, "scores": step},
        },
    }
    found = answers_from_records([record], "set")
    assert list(found.answers) == ["slm"] and found.errors == {}
