"""Ingest throughput (chunks/s) on corpora/ and the 18F handbook, measured side by side in one run.

Usage: ``python -m bench.ingest_throughput [--out bench/results/ingest.json] [PATH...]``
Runs against the configured Weaviate (the embedded one by default), each corpus into its own
throw-away collection, then a second (incremental, no-change) pass to time the skip path.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from backends.weaviate.client import open_client
from backends.weaviate.schema import resolve_alias
from bench.report import write_report
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import run_ingest
from docduet.environment import quiet_third_parties

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PATHS = [ROOT / "corpora", ROOT.parent / "shared" / "eval" / "handbook-18f"]


def bench_one(settings: Settings, path: Path) -> dict[str, object]:
    collection = f"Bench{int(time.time() * 1000)}"
    local = settings.model_copy(update={"collection": collection})
    try:
        first = run_ingest(local, [path], progress=NullProgress())
        second = run_ingest(local, [path], progress=NullProgress())
    finally:
        with open_client(local, autostart=False) as client:
            target = resolve_alias(client, collection)
            client.alias.delete(alias_name=collection)
            if target:
                client.collections.delete(target)
    return {
        "path": str(path),
        "files": len(first.added) + len(first.failed),
        "failed": len(first.failed),
        "chunks": first.chunks,
        "ingest_seconds": round(first.seconds, 2),
        "chunks_per_second": round(first.chunks_per_second, 2),
        "noop_rerun_seconds": round(second.seconds, 2),
        "noop_rerun_changed": second.changed,
    }


def main() -> None:
    quiet_third_parties()
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="*", type=Path, default=DEFAULT_PATHS)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ingest.json")
    args = parser.parse_args()
    settings = Settings()
    results = [bench_one(settings, p) for p in args.paths]
    write_report(args.out, embedding_threads=settings.embedding_threads, results=results)

if __name__ == "__main__":
    main()
