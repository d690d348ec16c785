"""What parsing in a worker process costs: in-process vs IsolatedParser, side by side in one run.

Usage: ``python -m bench.parse_isolation [--out bench/results/parse_isolation.json] [PATH...]``
Both parsers are warmed up first (imports, spaCy), then every file is parsed by each, alternating
which goes first, so the machine's load hits both alike. No Weaviate, no embedding: parse only.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import statistics
import time
from pathlib import Path

from backends.unstructured import UnstructuredParser
from bench.report import write_report
from core.domain import SourceFile
from core.errors import IngestError
from core.eval_data import SAMPLE_CORPUS, find_eval_set
from core.protocols import Parser
from core.settings import Settings
from docduet.environment import quiet_third_parties
from ingest.discover import discover
from ingest.fdwalk import read_document
from ingest.isolation import IsolatedParser
from ingest.safefile import DEFAULT_MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parents[1]


def default_paths(settings: Settings) -> list[Path]:
    """The repository's ``corpora/``, and the 18F handbook when the evaluation data holds it."""
    handbook = find_eval_set(settings.paths.eval_data, "handbook-18f")
    return [SAMPLE_CORPUS, *([handbook] if handbook else [])]


def timed_parse(parser: Parser, file: SourceFile, data: bytes) -> float:
    started = time.perf_counter()
    with contextlib.suppress(IngestError):  # failing files cost time too; both parsers see them
        parser.parse(file, data)
    return time.perf_counter() - started


def bench_path(path: Path, inline: Parser, isolated: Parser) -> dict[str, object]:
    files = discover([path])
    inline_s: list[float] = []
    isolated_s: list[float] = []
    for i, file in enumerate(files):
        data = read_document(file, max_bytes=DEFAULT_MAX_FILE_BYTES)  # read once, as ingestion does
        order = [(inline, inline_s), (isolated, isolated_s)]
        for parser, out in order if i % 2 == 0 else reversed(order):
            out.append(timed_parse(parser, file, data))
    total_inline, total_isolated = sum(inline_s), sum(isolated_s)
    return {
        "path": str(path),
        "files": len(files),
        "inline_seconds": round(total_inline, 2),
        "isolated_seconds": round(total_isolated, 2),
        "isolated_to_inline_ratio": round(total_isolated / total_inline, 3) if total_inline else None,
        "median_overhead_ms_per_file": round(
            statistics.median(b - a for a, b in zip(inline_s, isolated_s, strict=True)) * 1000, 1
        ),
    }


def main() -> None:
    quiet_third_parties()
    logging.basicConfig(level=logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, help="default: corpora/ and the 18F handbook")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "parse_isolation.json")
    args = parser.parse_args()
    args.paths = args.paths or default_paths(Settings())
    inline = UnstructuredParser()
    inline.warm_up()
    warm_up_files = [
        (files[0], read_document(files[0], max_bytes=DEFAULT_MAX_FILE_BYTES))
        for files in map(discover, [[p] for p in args.paths])
        if files
    ]
    for file, data in warm_up_files:  # first-use work (spaCy, caches) happens outside the timings
        timed_parse(inline, file, data)
    with IsolatedParser(UnstructuredParser(), timeout_s=300) as isolated:
        started = time.perf_counter()
        timed_parse(isolated, *warm_up_files[0])  # starts the worker
        worker_start_s = time.perf_counter() - started
        for file, data in warm_up_files[1:]:
            timed_parse(isolated, file, data)
        results = [bench_path(p, inline, isolated) for p in args.paths]
    write_report(
        args.out,
        worker_start_seconds=round(worker_start_s, 2),
        note="worker start includes its warm-up and the first file; both parsers parsed each "
        "path's first file once before the timings",
        results=results,
    )

if __name__ == "__main__":
    main()
