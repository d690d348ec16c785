"""The admin reindex: incremental over every root ever ingested, or a full rebuild behind an alias."""

from __future__ import annotations

import logging
from pathlib import Path

import weaviate

from docduet.db import schema
from docduet.db.chunks import ChunkStore, roots_of
from docduet.errors import IngestError
from docduet.settings import Settings
from ingest.embed import Embedder
from ingest.parse import Parser
from ingest.pipeline import Ingestor
from ingest.progress import ProgressSink
from ingest.summary import Failure, IngestSummary

log = logging.getLogger(__name__)


def indexed_roots(client: weaviate.WeaviateClient, settings: Settings) -> list[str]:
    """Every folder or file that was ingested into the current index."""
    if schema.resolve_alias(client, settings.collection) is None:
        return []
    return roots_of(ChunkStore(client, settings.collection).snapshot().values())


def reindex(
    client: weaviate.WeaviateClient,
    settings: Settings,
    *,
    parser: Parser,
    embedder: Embedder,
    progress: ProgressSink,
    full: bool = False,
    dry_run: bool = False,
) -> IngestSummary:
    """Re-ingest every indexed root; ``full`` rebuilds into a new collection and swaps the alias."""
    roots = indexed_roots(client, settings)
    if not roots:
        raise IngestError("the index is empty; ingest documents first with `docduet ingest PATH`")
    present = [Path(r) for r in roots if Path(r).exists()]
    missing = [Failure(r, "folder no longer exists; its documents were kept") for r in roots
               if not Path(r).exists()]
    if not full:
        store = ChunkStore(client, settings.collection)
        summary = Ingestor(store, parser, embedder, settings, progress).run(present, dry_run=dry_run)
    elif dry_run:
        store = ChunkStore(client, settings.collection)
        summary = Ingestor(store, parser, embedder, settings, progress).run(
            present, dry_run=True, force=True
        )
    else:
        summary = _rebuild(client, settings, present, parser, embedder, progress)
    summary.failed.extend(missing)
    return summary


def _rebuild(
    client: weaviate.WeaviateClient,
    settings: Settings,
    roots: list[Path],
    parser: Parser,
    embedder: Embedder,
    progress: ProgressSink,
) -> IngestSummary:
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
    summary = Ingestor(ChunkStore(client, fresh), parser, embedder, settings, progress).run(roots)
    previous = schema.point_alias(client, settings.collection, fresh)
    if previous and previous != fresh:
        client.collections.delete(previous)
        log.info("alias %s now points to %s; dropped %s", settings.collection, fresh, previous)
    return summary
