"""``docduet eval``: measure retrieval and both generators on a dataset; write a decision report."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path
from typing import Any

from rich.console import Console

from core.errors import ConfigError
from core.eval_data import resolve_dataset
from core.settings import Settings
from evaluation.options import parse_alphas, parse_list

DATASETS = (
    "DATASET is a BEIR folder (corpus.jsonl, queries*.jsonl, qrels/*.tsv: retrieval metrics for "
    "BM25, vector and hybrid alphas), a SQuAD 2.0 .json file or a folder holding one, or a .jsonl "
    "file of {question, answers[, source, context]} objects (answer metrics per generator). "
    "A bare set name (scifact, squad2-mini) is read from DOCDUET_EVAL_DATA, where `make eval-data` "
    "fetches the public sets. Re-running the same command resumes where it stopped."
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate retrieval and the generators on a dataset; write results.json and report.html",
        description="Evaluate docduet on DATASET and write results.json and a decision report "
        "(report.html) into --out. " + DATASETS,
    )
    p.add_argument(
        "dataset", type=Path, metavar="DATASET", nargs="?", help="the set to evaluate (not with --generate)"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default: DATA_DIR/eval/NAME; with --generate: "
        "DATA_DIR/eval/generated-COLLECTION)",
    )
    p.add_argument(
        "--generate",
        type=int,
        default=None,
        metavar="N",
        help="instead of evaluating, write N test questions from the configured index into --out "
        "(questions.jsonl, a fifth of them unanswerable, and generation.json with the counts per "
        "filter); review, edit or delete lines, then run `docduet eval OUT/questions.jsonl`",
    )
    p.add_argument(
        "--generate-with",
        default=None,
        metavar="IDS",
        help="generators that write the questions, strongest first; each passage goes to the first "
        "one allowed to read it (default: hosted ones, then local ones, last listed first)",
    )
    p.add_argument("--limit", type=int, default=None, metavar="N", help="evaluate N evenly spread items")
    p.add_argument(
        "--generators",
        default=None,
        metavar="IDS",
        help="comma-separated generator ids to compare (default: every enabled one)",
    )
    p.add_argument("--alphas", default="0.25,0.5,0.75", help="hybrid alphas to sweep besides 0 and 1")
    p.add_argument("--split", default=None, help="BEIR split (default: the only one, or test)")
    p.add_argument(
        "--user",
        default=None,
        metavar="NAME",
        help="ask JSONL questions as this user (a generated question is asked as its own asker)",
    )
    p.add_argument("--judge", action="store_true", help="also grade answers with the hosted LLM")
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="after the run, fit each generator's confidence calibration on its labelled answers and "
        "write <DATA_DIR>/calibration/<generator>.json (re-running on finished work generates nothing)",
    )
    p.add_argument(
        "--calibration-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where --calibrate writes (default: DATA_DIR/calibration)",
    )
    p.add_argument(
        "--calibrate-with",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="also fit on these answers (another run's results.json or checkpoint-qa-*.jsonl, or the "
        "corpus questions suite's JSON); repeatable",
    )
    p.set_defaults(run=_run)


def default_out(settings: Settings, dataset: Path) -> Path:
    """``DATA_DIR/eval/<dataset name>``."""
    name = re.sub(r"[^\w.-]+", "-", dataset.resolve().stem or "dataset")
    return settings.paths.data_dir / "eval" / name


def _run(args: argparse.Namespace) -> int:
    from core.identity import UserDirectory
    from docduet.commands.progress import RichProgress
    from docduet.compose import Root
    from evaluation.answers import load_answers
    from evaluation.confidence_eval import print_summary
    from evaluation.run import EvalOptions, run_eval

    settings = Settings()
    if args.generate is not None:
        return _generate(args, settings)
    if args.dataset is None:
        raise ConfigError("give a DATASET to evaluate, or --generate N to write one from the index")
    if args.limit is not None and args.limit < 1:
        raise ConfigError(f"--limit must be at least 1, got {args.limit}")
    dataset = resolve_dataset(args.dataset, settings.paths.eval_data)
    options = EvalOptions(
        dataset=dataset,
        out=args.out or default_out(settings, dataset),
        limit=args.limit,
        generators=parse_list(args.generators, "generators") if args.generators else None,
        alphas=parse_alphas(args.alphas),
        judge=args.judge,
        split=args.split,
        user=UserDirectory.from_settings(settings.identity).resolve(args.user),
    )
    extra = [load_answers(path) for path in args.calibrate_with]  # read first: a wrong file fails early
    if extra and not args.calibrate:
        raise ConfigError("--calibrate-with only applies with --calibrate")
    err = Console(stderr=True)
    with Root(settings) as root:
        outcome = run_eval(settings, options, parts=root.evaluation_parts(), progress=RichProgress(err))
    console = Console()
    for paragraph in outcome.results["recommendation"]:
        console.print(paragraph, highlight=False)
    _print_decision(console, outcome.results.get("decision"))
    if "confidence" in outcome.results:
        print_summary(outcome.results, lambda line: console.print(line, highlight=False, markup=False))
    console.print(f"\nresults: {outcome.results_path}\nreport:  {outcome.report_path}", highlight=False)
    console.print(f"wall time {outcome.results['wall_s']:.1f} s", style="dim")
    if args.calibrate:
        _calibrate(args, settings, outcome.results, extra, console)
    return 0


def _generate(args: argparse.Namespace, settings: Settings) -> int:
    """``--generate N``: write a test set from the index; evaluating it is the next command."""
    from core.identity import UserDirectory
    from docduet.compose import Root
    from evaluation.generate.build import GenerateOptions, generate_set, summary_lines

    if args.dataset is not None:
        raise ConfigError("--generate writes a new set: give no DATASET with it")
    if args.generate < 1:
        raise ConfigError(f"--generate needs at least 1 item, got {args.generate}")
    name = re.sub(r"[^\w.-]+", "-", settings.weaviate.collection)
    options = GenerateOptions(
        count=args.generate,
        out=args.out or settings.paths.data_dir / "eval" / f"generated-{name}",
        writers=parse_list(args.generate_with, "generate-with") if args.generate_with else None,
    )
    directory = UserDirectory.from_settings(settings.identity)
    with Root(settings) as root:
        generated = generate_set(settings, options, parts=root.evaluation_parts(), directory=directory)
    console = Console()
    for line in summary_lines(generated):
        console.print(line, highlight=False, markup=False)
    console.print(
        f"next: docduet eval {shlex.quote(str(generated.questions))}", highlight=False, markup=False
    )
    return 0


def _print_decision(console: Console, decision: dict[str, Any] | None) -> None:
    """The decision's table and generators-file snippet (its sentence leads the recommendation)."""
    if not decision:
        return
    from rich.table import Table

    table = Table(*decision["table"]["header"], show_lines=False)
    for row in decision["table"]["rows"]:
        table.add_row(*row)
    console.print(table)
    console.print(decision["snippet"], highlight=False, markup=False)


def command_line(args: argparse.Namespace) -> str:
    """The ``docduet eval ... --calibrate`` command these arguments make, for the calibration file."""
    words = ["docduet", "eval", str(args.dataset)]
    for flag, value in (
        ("--out", args.out),
        ("--limit", args.limit),
        ("--generators", args.generators),
        ("--user", args.user),
        ("--calibration-dir", args.calibration_dir),
    ):
        if value is not None:
            words += [flag, str(value)]
    for path in args.calibrate_with:
        words += ["--calibrate-with", str(path)]
    return shlex.join([*words, "--calibrate"])


def _calibrate(
    args: argparse.Namespace, settings: Settings, results: dict[str, Any], extra: list[Any], console: Console
) -> None:
    """Fit and write one calibration per generator of the run, on its answers and --calibrate-with's."""
    from evaluation.answers import answers_from_records, merge
    from evaluation.calibrate import calibrate_all

    if "qa" not in results:
        raise ConfigError("--calibrate needs a question set (SQuAD 2.0 or JSONL), not a retrieval set")
    sets = [answers_from_records(results["qa"]["records"], results["dataset"]["name"])]
    sets += extra
    out_dir = args.calibration_dir or settings.paths.data_dir / "calibration"
    fitted = calibrate_all(
        merge(sets),
        [s.data for s in sets],
        out_dir,
        command=command_line(args),
        generators=results["qa"]["generators"],
    )
    for f in fitted:
        if f.calibration is None:
            console.print(f"{f.generator}: no calibration: {f.skipped}", highlight=False, markup=False)
            continue
        m = f.calibration.metrics
        figures = f"cross-fitted AUROC {m['auroc']:.2f}, ECE {m['ece']:.3f}" if m else "no held-out figures"
        console.print(
            f"{f.generator}: calibration for {f.calibration.model} on "
            f"{f.calibration.fitted_on['answers']} answers ({figures}) -> {f.path}",
            highlight=False,
            markup=False,
        )
