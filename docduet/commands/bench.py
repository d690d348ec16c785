"""``docduet bench``: ingestion, retrieval at scale and local generation, each against its limit."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.settings import Settings

DEFAULT_OUT = Path("bench") / "results"
SECTIONS = ("ingestion", "retrieval", "cluster", "generation", "answer_latency")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "bench",
        help="measure docduet against its limits (writes JSON, a Markdown table and plots)",
        description="Ingestion of the 18F handbook (handbook-18f in DOCDUET_EVAL_DATA; without it, "
        "the repository's corpora/) against the raw "
        "encode rate and a plain LangChain pipeline, plus the incremental re-run; the "
        "permission-filtered hybrid query against the raw Weaviate query at 10k (and 100k) "
        "synthetic chunks; a local 3-node cluster (replicated, and sharded) against one node, each "
        "on its own throw-away weaviate-server processes and ports; each local model through "
        "docduet against raw llama-cpp-python on SQuAD paragraphs (squad2-mini in DOCDUET_EVAL_DATA; "
        "skipped without it); the sample corpus's questions end to end per local model, cold, "
        "warm (after the warm start) and against the raw model on the same prompt. Every figure "
        "is a ratio measured side by side in this run. Uses the configured Weaviate (throw-away "
        "collections; the corpus questions' own collection for answer latency) and generators. "
        "`make eval-data` fetches the sets.",
    )
    p.add_argument("--quick", action="store_true", help="a smaller run (about 10 minutes on 2 cores)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    p.add_argument(
        "--only", metavar="SECTIONS", help=f"comma list of {', '.join(SECTIONS)} (default: all)"
    )
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from bench.run import run

    sections = tuple(s.strip() for s in args.only.split(",")) if args.only else SECTIONS
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise ConfigError(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    console = Console(stderr=True)
    with console.status("benchmarking…") as status:
        report = run(Settings(), args.out, quick=args.quick, sections=sections, say=status.update)
    if report.get("ingestion"):
        console.print(f"ingestion corpus: {report['ingestion']['corpus']}", highlight=False)
    for note in report.get("notes") or []:
        console.print(f"note: {note}", highlight=False)
    console.print(f"results: {args.out / 'bench.json'}, {args.out / 'bench.md'} and plots", highlight=False)
    return 0
