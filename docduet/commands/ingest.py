"""``docduet ingest`` and ``docduet reindex``: the admin commands that own the index."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from core.settings import Settings
from ingest.summary import IngestSummary

EXIT_CODES = "Exit status: 0 all files ingested, 1 some files failed (the rest is indexed), 2 error."
_ALLOW_EMPTY = (
    "delete the documents of a folder that is now empty (refused by default: an unmounted share "
    "looks empty too)"
)


def register(sub: Any) -> None:
    p = sub.add_parser(
        "ingest",
        help="parse, chunk, embed and index documents (incremental)",
        description="Index the documents under PATH... into Weaviate. Unchanged files are "
        "skipped, changed files replaced, files that disappeared from PATH are removed. "
        "Access groups and sensitivity come from _access.yaml sidecars or front matter "
        "(docs/access.md); paths in .docduetignore files are left out; symbolic links are never "
        "followed. Safe to re-run after any interruption; one ingest or reindex at a time. "
        + EXIT_CODES,
    )
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="file or folder")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
    p.add_argument("--force", action="store_true", help="re-process unchanged files too")
    p.add_argument("--allow-empty", action="store_true", help=_ALLOW_EMPTY)
    p.set_defaults(run=_run_ingest)

    r = sub.add_parser(
        "reindex",
        help="re-ingest everything indexed so far (admin)",
        description="Bring the index up to date with every folder ingested before. --full "
        "rebuilds into a new collection and switches the alias only when complete, so chat "
        "never sees a half-built index (use it after changing the embedding model); it is refused, "
        "leaving the index as it is, when an ingested folder is missing or a file that fails has an "
        "earlier version in the index. " + EXIT_CODES,
    )
    r.add_argument("--full", action="store_true", help="rebuild into a new collection, then swap")
    r.add_argument("--dry-run", action="store_true", help="list what would change; write nothing")
    r.add_argument("--json", action="store_true", help="print the summary as JSON")
    r.add_argument("--allow-empty", action="store_true", help=_ALLOW_EMPTY)
    r.set_defaults(run=_run_reindex)


def _run_ingest(args: argparse.Namespace) -> int:
    from docduet.commands.progress import RichProgress
    from docduet.compose import Root

    settings = Settings()
    err = Console(stderr=True)
    with Root(settings) as root:
        summary = root.ingest(
            args.paths,
            progress=RichProgress(err),
            dry_run=args.dry_run,
            force=args.force,
            allow_empty=args.allow_empty,
        )
    return _report(summary, settings, as_json=args.json)


def _run_reindex(args: argparse.Namespace) -> int:
    from docduet.commands.progress import RichProgress
    from docduet.compose import Root

    settings = Settings()
    err = Console(stderr=True)
    with Root(settings) as root:
        summary = root.reindex(
            progress=RichProgress(err), full=args.full, dry_run=args.dry_run, allow_empty=args.allow_empty
        )
    return _report(summary, settings, as_json=args.json)


def _report(summary: IngestSummary, settings: Settings, *, as_json: bool) -> int:
    if as_json:
        json.dump(summary.to_json(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_summary(summary, Console())
    return summary.exit_code


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
    _print_notices(summary, console)


def _print_notices(summary: IngestSummary, console: Console) -> None:
    """Links and special files not read, refused and granted widenings, ignored paths."""
    for notice in summary.skipped:
        console.print(f"[yellow]skipped[/yellow] {notice.source}: {notice.note}", highlight=False)
    for notice in summary.widening_refused:
        console.print(f"[yellow]access kept narrower[/yellow] {notice.note}", highlight=False)
    for notice in summary.widened:
        console.print(f"[yellow]access widened[/yellow] {notice.source}: {notice.note}", highlight=False)
    if summary.ignored:
        console.print(f"{summary.ignored} file(s) or folder(s) left out by .docduetignore files.")
