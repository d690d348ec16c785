"""The result of an ingest or reindex run, as a table for people and JSON for machines."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Failure:
    """A file that could not be ingested, and why."""

    source: str
    reason: str
    kept_chunks: int = 0
    """Chunks of an earlier version still in the index (nothing is lost when a file breaks)."""


@dataclass(frozen=True)
class Notice:
    """Something about one path the admin should know, though it is no failure."""

    source: str
    note: str


@dataclass
class IngestSummary:
    """Counts and lists per outcome; ``chunks`` counts chunks written by this run."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    failed: list[Failure] = field(default_factory=list)
    chunks: int = 0
    total_chunks: int = 0
    seconds: float = 0.0
    dry_run: bool = False
    collection: str = ""
    unsupported: dict[str, int] = field(default_factory=dict)
    """Files passed over because docduet does not read their type, counted by suffix."""
    skipped: list[Notice] = field(default_factory=list)
    """Symbolic links (never followed) and FIFOs, sockets, devices (never read)."""
    ignored: int = 0
    """Files and folders excluded by ``.docduetignore`` files."""
    widening_refused: list[Notice] = field(default_factory=list)
    """Declarations that asked for wider access than a sidecar above allows (the file got less)."""
    widened: list[Notice] = field(default_factory=list)
    """Documents now readable more widely than the index had them (a declaration was widened)."""
    stage_seconds: dict[str, float] = field(default_factory=dict)
    """Where the time went: discover, plan (access and hashes), parse (with titles), chunk, embed,
    write (the index import), prune (old versions and deleted files). Parse and chunk run in a
    background thread while earlier files are embedded, so the stages can add up to more than
    ``seconds``."""

    @contextmanager
    def timing(self, stage: str) -> Iterator[None]:
        """Add the time spent in the ``with`` block to ``stage_seconds[stage]``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.stage_seconds[stage] = self.stage_seconds.get(stage, 0.0) + time.perf_counter() - started

    @property
    def changed(self) -> int:
        return len(self.added) + len(self.updated) + len(self.deleted)

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds if self.seconds > 0 else 0.0

    @property
    def exit_code(self) -> int:
        """0 when every file was ingested, 1 when some failed (the rest is in the index)."""
        return 1 if self.failed else 0

    def to_json(self) -> dict[str, object]:
        return {
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "deleted": self.deleted,
            "failed": [asdict(f) for f in self.failed],
            "chunks": self.chunks,
            "total_chunks": self.total_chunks,
            "seconds": round(self.seconds, 3),
            "chunks_per_second": round(self.chunks_per_second, 2),
            "dry_run": self.dry_run,
            "collection": self.collection,
            "unsupported": self.unsupported,
            "skipped": [asdict(n) for n in self.skipped],
            "ignored": self.ignored,
            "widening_refused": [asdict(n) for n in self.widening_refused],
            "widened": [asdict(n) for n in self.widened],
            "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()},
        }

    def unsupported_note(self) -> str | None:
        """One line on the files passed over by type, with what to do; None when there were none."""
        if not self.unsupported:
            return None
        kinds = ", ".join(
            f"{count} {suffix or '(no suffix)'}"
            for suffix, count in sorted(self.unsupported.items(), key=lambda kv: (-kv[1], kv[0]))
        )
        total = sum(self.unsupported.values())
        return (
            f"{total} file(s) not ingested, of types docduet does not read: {kinds}; "
            "convert them (for example to PDF, DOCX or Markdown) to include them"
        )
