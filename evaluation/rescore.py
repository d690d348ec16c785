"""Recompute a question set's figures and decision from an existing results.json, no model runs.

``python -m evaluation.rescore RESULTS.json --out DIR`` reads the recorded answers, prices local
compute with today's settings (the costs section: ``DOCDUET_COMPUTE_PRICE_CPU_HOUR``, ...) and the
generators file's threads, recomputes every interval, the paired comparisons, the confidence and
cascade sections and the decision, and writes results.json and report.html into DIR. Use it to
re-price a run, or to read a run made before these figures existed.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from chat.generators import load_specs
from core.errors import ConfigError
from core.settings import Settings
from evaluation.answers import answers_from_records
from evaluation.confidence_eval import full_report
from evaluation.costs import pricing
from evaluation.decision import decide
from evaluation.paired import all_pairs
from evaluation.recommend import recommend
from evaluation.report import write_outputs
from evaluation.run import _public_spec
from evaluation.scoring import outcomes
from evaluation.uncertainty import with_intervals


def rescore(results: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """``results`` with its ``qa`` figures, confidence, cascade, decision and recommendation
    recomputed from its records."""
    if "qa" not in results:
        raise ConfigError(
            "this results.json holds no answered questions (a retrieval run): nothing to rescore"
        )
    qa = results["qa"]
    names, records = qa["generators"], qa["records"]
    specs = load_specs(settings)
    prices = pricing(settings.costs, specs)
    qa = {
        **qa,
        "summary": {n: with_intervals(records, n, prices) for n in names},
        "pairs": all_pairs(records, names),
        "pricing": prices.to_json(),
        "specs": qa.get("specs") or {s.id: _public_spec(s) for s in specs if s.id in names},
    }
    if len(names) >= 2:
        qa["outcomes"] = outcomes(records, names[0], names[1])
    out = {**results, "qa": qa}
    out |= full_report(answers_from_records(records, results["dataset"]["name"]), names)
    out["decision"] = decide(qa, out.get("cascade"))
    out["recommendation"] = recommend(out)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Recompute an evaluation's figures and decision (no model runs)."
    )
    parser.add_argument("results", type=Path, help="a results.json of `docduet eval` on a question set")
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for the new results.json and report.html"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    try:
        results = json.loads(args.results.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read {args.results}: {e}; pass a results.json of `docduet eval`") from e
    if args.out.resolve() == args.results.parent.resolve():
        raise ConfigError(f"--out {args.out} holds the results being read: choose another folder")
    rescored = rescore(results, Settings())
    results_path, report_path = write_outputs(args.out, rescored)
    for paragraph in rescored["recommendation"]:
        print(paragraph)
    print(f"\nresults: {results_path}\nreport:  {report_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
