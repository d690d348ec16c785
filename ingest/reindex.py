"""The admin reindex: incremental over every root ever ingested, or a full rebuild behind an alias.

A full rebuild never loses the index: it is refused before it starts when an ingested folder is
missing (an unmounted share), and the alias is not switched when files failed whose earlier good
versions are in the current index; the current index stays as it was, and the error says why.
"""

from __future__ import annotations

import logging
from pathlib import Path

import weaviate

from backends.weaviate import schema
from backends.weaviate.chunks import ChunkStore, IndexedDoc, roots_of
from core.errors import IngestError
from core.protocols import Embedder, Parser, ProgressSink
from core.settings import Settings
from ingest.pipeline import Ingestor
from ingest.summary import Failure, IngestSummary

log = logging.getLogger(__name__)

_LISTED = 5
"""Files or folders an error names before it says "and N more"."""


def indexed_roots(client: weaviate.WeaviateClient, settings: Settings) -> list[str]:
    """Every folder or file that was ingested into the current index."""
    if schema.resolve_alias(client, settings.collection) is None:
        return []
    return roots_of(_store(client, settings, settings.collection).snapshot().values())


def reindex(
    client: weaviate.WeaviateClient,
    settings: Settings,
    *,
    parser: Parser,
    embedder: Embedder,
    progress: ProgressSink,
    full: bool = False,
    dry_run: bool = False,
    allow_empty: bool = False,
) -> IngestSummary:
    """Re-ingest every indexed root; ``full`` rebuilds into a new collection and swaps the alias."""
    roots = indexed_roots(client, settings)
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
    store = _store(client, settings, settings.collection)
    ingestor = Ingestor(store, parser, embedder, settings, progress)
    if not full:
        summary = ingestor.run(present, dry_run=dry_run, allow_empty=allow_empty)
    elif dry_run:
        summary = ingestor.run(present, dry_run=True, force=True, allow_empty=allow_empty)
    else:
        summary = _rebuild(client, settings, present, parser, embedder, progress, allow_empty)
    summary.failed.extend(missing)
    return summary


def _rebuild(
    client: weaviate.WeaviateClient,
    settings: Settings,
    roots: list[Path],
    parser: Parser,
    embedder: Embedder,
    progress: ProgressSink,
    allow_empty: bool,
) -> IngestSummary:
    previous_docs = _store(client, settings, settings.collection).snapshot()
    for leftover in schema.orphans(client, settings.collection):
        log.warning("dropping %s, left by an interrupted rebuild", leftover)
        client.collections.delete(leftover)
    fresh = schema.create_physical(
        client,
        settings.collection,
        embedding_model=embedder.name,
        dim=embedder.dim,
        replicas=settings.replication_factor,
    )
    try:
        ingestor = Ingestor(_store(client, settings, fresh), parser, embedder, settings, progress)
        summary = ingestor.run(roots, allow_empty=allow_empty, previous=previous_docs)
        _refuse_losses(summary, previous_docs)
    except BaseException:
        log.warning("rebuild into %s not completed; dropping it, the current index is unchanged", fresh)
        client.collections.delete(fresh)
        raise
    previous = schema.point_alias(client, settings.collection, fresh)
    if previous and previous != fresh:
        client.collections.delete(previous)
        log.info("alias %s now points to %s; dropped %s", settings.collection, fresh, previous)
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


def _store(client: weaviate.WeaviateClient, settings: Settings, collection: str) -> ChunkStore:
    return ChunkStore.for_settings(client, collection, settings)
