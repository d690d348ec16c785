"""The sample corpus's own questions (evaluation.corpus_questions), answered by each generator.

``python -m docduet.suites.corpus_questions --help``; what it measures: :mod:`evaluation.corpus_questions`.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from core.settings import Settings
from docduet.compose import Root
from evaluation.corpus_questions import run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generators", default=None, help="comma-separated ids (default: enabled)")
    parser.add_argument("--out", type=Path, default=Path("corpus-questions.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    names = [n.strip() for n in args.generators.split(",")] if args.generators else None
    settings = Settings()
    with Root(settings) as root:
        results = run(settings, names, args.out, parts=root.evaluation_parts())
    for g, s in results["summary"].items():
        print(
            f"{g}: {s['facts_right']}/{s['answerable']} right ({s['facts_right_and_cited']} cited the "
            f"right file), abstained on {s['abstained_rightly']}/{s['unanswerable']} unanswerable"
        )


if __name__ == "__main__":
    main()
