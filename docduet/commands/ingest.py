"""``docduet ingest`` and ``docduet reindex``: the admin commands that own the index."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from docduet.settings import Settings
from ingest.summary import IngestSummary

EXIT_CODES = "Exit status: 0 all files ingested, 1 some files failed (the rest is indexed), 2 error."


def register(sub: Any) -> None:
    p = sub.add_parser(
        "ingest",
        help="parse, chunk, embed and index documents (incremental)",
        description="Index the documents under PATH... into Weaviate. Unchanged files are "
        "skipped, changed files replaced, files that disappeared from PATH are removed. "
        "Access groups and sensitivity come from _access.yaml sidecars or front matter "
        "(docs/access.md). Safe to re-run after any interruption. " + EXIT_CODES,
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="file or folder")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
    p.add_argument("--force", action="store_true", help="re-process unchanged files too")
    p.set_defaults(run=_run_ingest)

    r = sub.add_parser(
        "reindex",
        help="re-ingest everything indexed so far (admin)",
        description="Bring the index up to date with every folder ingested before. --full "
        "rebuilds into a new collection and switches the alias only when complete, so chat "
        "never sees a half-built index (use it after changing the embedding model). " + EXIT_CODES,
    )
    r.add_argument("--full", action="store_true", help="rebuild into a new collection, then swap")
    r.add_argument("--dry-run", action="store_true", help="list what would change; write nothing")
    r.add_argument("--json", action="store_true", help="print the summary as JSON")
    r.set_defaults(run=_run_reindex)


class RichProgress:
    """A progress bar on stderr with counts, elapsed time and ETA."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[current]}", style="dim"),
            console=console,
            transient=False,
        )
        self._task: Any = None

    def start(self, total: int, description: str) -> None:
        self._progress.start()
        self._task = self._progress.add_task(description, total=total, current="")

    def advance(self, source: str, outcome: str) -> None:
        self._progress.update(self._task, advance=1, current=f"{outcome}: {Path(source).name}")

    def finish(self) -> None:
        self._progress.update(self._task, current="")
        self._progress.stop()


def _run_ingest(args: argparse.Namespace) -> int:
    from docduet.compose import run_ingest

    settings = Settings()
    err = Console(stderr=True)
    summary = run_ingest(
        settings, args.paths, progress=RichProgress(err), dry_run=args.dry_run, force=args.force
    )
    return _report(summary, settings, as_json=args.json)


def _run_reindex(args: argparse.Namespace) -> int:
    from docduet.compose import run_reindex

    settings = Settings()
    err = Console(stderr=True)
    summary = run_reindex(
        settings, progress=RichProgress(err), full=args.full, dry_run=args.dry_run
    )
    return _report(summary, settings, as_json=args.json)


def _report(summary: IngestSummary, settings: Settings, *, as_json: bool) -> int:
    record_last_run(summary, settings)
    if as_json:
        json.dump(summary.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_summary(summary, Console())
    return summary.exit_code


def record_last_run(summary: IngestSummary, settings: Settings) -> None:
    """Keep the latest summary for the admin page (failed files, last ingest time)."""
    if summary.dry_run:
        return
    path = settings.data_dir / "ingest" / "last-run.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary.to_json(), indent=2))


def print_summary(summary: IngestSummary, console: Console) -> None:
    title = "Dry run: nothing was written" if summary.dry_run else "Ingest summary"
    table = Table(title=title, show_header=True)
    table.add_column("outcome")
    table.add_column("files", justify="right")
    for name in ("added", "updated", "unchanged", "deleted"):
        table.add_row(name, str(len(getattr(summary, name))))
    table.add_row("failed", str(len(summary.failed)), style="red" if summary.failed else None)
    console.print(table)
    if not summary.dry_run:
        console.print(
            f"{summary.chunks} chunks written in {summary.seconds:.1f} s "
            f"({summary.chunks_per_second:.1f} chunks/s); {summary.total_chunks} chunks in "
            f"{summary.collection}."
        )
    for failure in summary.failed:
        kept = f" (kept {failure.kept_chunks} chunks of the earlier version)" if failure.kept_chunks else ""
        console.print(f"[red]failed[/red] {failure.source}: {failure.reason}{kept}", highlight=False)
    note = summary.unsupported_note()
    if note:
        console.print(f"[yellow]{note}[/yellow]", highlight=False)
