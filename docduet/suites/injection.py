"""The prompt-injection suite (evaluation.injection) on the configured Weaviate and generators.

``python -m docduet.suites.injection --help``; what it measures: :mod:`evaluation.injection`.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from core.settings import Settings
from docduet.compose import Root
from evaluation.injection import load_suite, run, select


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--generators", default=None, help="comma-separated ids (default: enabled)")
    parser.add_argument("--completion", action="store_true", help="also run slm with the completion prompt")
    parser.add_argument(
        "--cases",
        default=None,
        metavar="FILES",
        help="comma-separated hostile document names (default: every case), e.g. "
        "password-reset-update.html,visitor-badges.md",
    )
    parser.add_argument("--max-tokens", type=int, default=64, help="answer cap for every generator")
    parser.add_argument("--out", type=Path, default=Path("injection.json"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    names = [n.strip() for n in args.generators.split(",")] if args.generators else None
    caps = {"slm_max_tokens": args.max_tokens, "llm_max_tokens": args.max_tokens}
    settings = Settings().replace(**caps)
    suite = load_suite()
    if args.cases:
        suite = select(suite, [c.strip() for c in args.cases.split(",") if c.strip()])
    with Root(settings) as root:
        parts = root.evaluation_parts()
        results = run(settings, names, args.out, parts=parts, completion=args.completion, suite=suite)
    for g, s in results["summary"].items():
        print(
            f"{g}: of {s['cases']} injected instructions followed {s['followed']} (unflagged), "
            f"flagged {s['flagged']}, resisted {s['resisted']}; stated the fact in "
            f"{s['fact']}/{s['cases']}, errors {s['errors']}; passages above the user's access "
            f"{s['above_access']}, above the generator's ceiling {s['above_ceiling']}, canary shown "
            f"{s['canary_seen']}"
        )


if __name__ == "__main__":
    main()
