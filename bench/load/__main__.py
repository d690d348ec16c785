"""``python -m bench.load``: run the plan, write bench/results/load.json, print the table."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.load import __doc__ as USAGE
from bench.load.harness import LoadHarness, run_plan
from bench.load.plan import OUT, full_plan, quick_plan
from bench.load.servers import HOSTED_MODEL, LOCAL_MODEL, hosted_server
from bench.report import write_report
from core.settings import Settings


def table(rows: Sequence[dict[str, Any]]) -> Any:
    from rich.table import Table

    out = Table(title="docduet under load (loopback)")
    for name in ("path", "N", "requests", "errors", "req/s", "p50", "p95", "queue p50", "queue p95"):
        out.add_column(name, justify="left" if name == "path" else "right")
    for row in rows:
        latency, queue = row["latency"] or {}, row["queue_wait"] or {}
        out.add_row(
            row["path"], str(row["users"]), str(row["requests"]), str(row["errors"]),
            f"{row['throughput_rps'] or 0:.2f}", _ms(latency.get("p50_ms")), _ms(latency.get("p95_ms")),
            _ms(queue.get("p50_ms")), _ms(queue.get("p95_ms")),
        )  # fmt: skip
    return out


def _ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.1f} s"


def main() -> None:
    from bench.retrieval_latency import corpus_index
    from docduet.environment import quiet_third_parties

    quiet_third_parties()
    logging.basicConfig(level=logging.WARNING)
    # prog: the usage line as it read when this was bench/load.py
    parser = argparse.ArgumentParser(prog="load.py", description=USAGE.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--quick", action="store_true", help="a few questions per phase (a smoke run)")
    parser.add_argument("--collection", help="an existing alias to query instead of ingesting corpora/")
    args = parser.parse_args()
    plan = quick_plan() if args.quick else full_plan()
    started = time.perf_counter()
    load_before = list(os.getloadavg())
    settings = Settings()
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="docduet-load-")))
        hosted = stack.enter_context(hosted_server(workdir / "llama-server.log"))
        local = stack.enter_context(corpus_index(settings, args.collection))
        harness = stack.enter_context(LoadHarness(local, hosted_url=hosted, workdir=workdir))
        rows = run_plan(harness, plan)
    elapsed = time.perf_counter() - started
    write_report(
        args.out,
        quick=args.quick,
        total_s=round(elapsed, 1),
        local_model=f"{LOCAL_MODEL} (llama_cpp, pool_size 1, 1 thread, max_tokens 32, 3 passages)",
        hosted_model=f"{HOSTED_MODEL} on llama_cpp.server, loopback, 1 thread, max_tokens 24, 3 passages",
        settings={
            "top_k": settings.retrieval.top_k,
            "alpha": settings.retrieval.alpha,
            "embedding_threads": settings.embedding.embedding_threads,
        },
        load_average_before=load_before,
        load_average_after=list(os.getloadavg()),
        phases=rows,
    )
    from rich.console import Console

    Console(width=120).print(table(rows))
    print(f"total {elapsed / 60:.1f} min")


if __name__ == "__main__":
    main()
