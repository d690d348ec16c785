"""The admin reindex: incremental over every root ever ingested, or a full rebuild behind an alias.

A full rebuild never loses the index: it is refused before it starts when an ingested folder is
missing (an unmounted share), and the alias is not switched when files failed whose earlier good
versions are in the current index; the current index stays as it was, and the error says why.
"""

from __future__ import annotations

import logging
from pathlib import Path

from core.errors import IngestError
from core.index import ChunkIndex, IndexedDoc, roots_of
from core.protocols import Embedder, Parser, ProgressSink
from core.settings import Settings
from ingest.pipeline import Ingestor
from ingest.summary import Failure, IngestSummary

log = logging.getLogger(__name__)

_LISTED = 5
"""Files or folders an error names before it says "and N more"."""


def indexed_roots(index: ChunkIndex) -> list[str]:
    """Every folder or file that was ingested into the current index."""
    if not index.exists():
        return []
    return roots_of(index.snapshot().values())


def reindex(
    index: ChunkIndex,
    settings: Settings,
    *,
    parser: Parser,
    embedder: Embedder,
    progress: ProgressSink,
    full: bool = False,
    dry_run: bool = False,
    allow_empty: bool = False,
) -> IngestSummary:
    """Re-ingest every indexed root; ``full`` rebuilds into a staged index and promotes it."""
    roots = indexed_roots(index)
    if not roots:
        raise IngestError("the index is empty; ingest documents first with `docduet ingest PATH`")
    present = [Path(r) for r in roots if Path(r).exists()]
    absent = [r for r in roots if not Path(r).exists()]
    if full and absent and not dry_run:
        raise IngestError(
            f"reindex --full refused: {_listed(absent)} no longer exist (an unmounted share?); "
            "a rebuild without them would drop their documents. Mount or restore them and re-run; "
            "nothing was changed"
        )
    kept = "a full rebuild would be refused" if full else "its documents were kept"
    missing = [Failure(r, f"folder no longer exists; {kept}") for r in absent]
    ingestor = Ingestor(index, parser, embedder, settings, progress)
    if not full:
        summary = ingestor.run(present, dry_run=dry_run, allow_empty=allow_empty)
    elif dry_run:
        summary = ingestor.run(present, dry_run=True, force=True, allow_empty=allow_empty)
    else:
        summary = _rebuild(index, settings, present, parser, embedder, progress, allow_empty)
    summary.failed.extend(missing)
    return summary


def _rebuild(
    index: ChunkIndex,
    settings: Settings,
    roots: list[Path],
    parser: Parser,
    embedder: Embedder,
    progress: ProgressSink,
    allow_empty: bool,
) -> IngestSummary:
    previous_docs = index.snapshot()
    fresh = index.staging(embedding_model=embedder.name, dim=embedder.dim)
    try:
        ingestor = Ingestor(fresh, parser, embedder, settings, progress)
        summary = ingestor.run(roots, allow_empty=allow_empty, previous=previous_docs)
        _refuse_losses(summary, previous_docs)
    except BaseException:
        index.discard(fresh)
        raise
    index.promote(fresh)
    return summary


def _refuse_losses(summary: IngestSummary, previous: dict[str, IndexedDoc]) -> None:
    """Refuse the swap when it would drop the earlier good version of a file that now fails."""
    lost = [f.source for f in summary.failed if f.kept_chunks and f.source in previous]
    if lost:
        reasons = "; ".join(f"{f.source}: {f.reason}" for f in summary.failed if f.source in lost[:_LISTED])
        raise IngestError(
            f"reindex --full refused: {_listed(lost)} failed, and the rebuilt index would lose "
            f"their earlier versions ({reasons}). Fix or remove those files and re-run (an "
            "incremental `docduet reindex` keeps the earlier versions); the current index is unchanged"
        )


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:_LISTED])
    more = f" and {len(items) - _LISTED} more" if len(items) > _LISTED else ""
    return f"{len(items)} ({shown}{more})"
