"""Incremental ingestion: discover files, skip unchanged ones, replace changed ones, drop gone ones.

Crash safety: chunk ids are deterministic (source, content hash, index), chunks are written
before the old version is pruned, and the index itself records which version is complete. A run
stopped at any point (Ctrl-C, Weaviate killed) is finished by simply running it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from docduet.db.chunks import ChunkStore, IndexedDoc
from docduet.domain import Access
from docduet.errors import IngestError
from docduet.settings import Settings
from ingest.access import resolve_access
from ingest.chunking import chunk_document
from ingest.discover import SourceFile, scan
from ingest.embed import Embedder
from ingest.hashing import fingerprint, pipeline_id
from ingest.parse import Parser
from ingest.progress import NullProgress, ProgressSink
from ingest.summary import Failure, IngestSummary

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """What a run will do to one file."""

    file: SourceFile
    action: str  # added | updated | unchanged | failed
    access: Access | None = None
    content_hash: str = ""
    reason: str = ""
    access_unknown: bool = False
    """The access declaration could not be read: earlier chunks must not stay searchable."""


class Ingestor:
    """Brings the index in line with the files under some paths."""

    def __init__(
        self,
        store: ChunkStore,
        parser: Parser,
        embedder: Embedder,
        settings: Settings,
        progress: ProgressSink | None = None,
    ) -> None:
        self._store = store
        self._parser = parser
        self._embedder = embedder
        self._settings = settings
        self._progress = progress or NullProgress()
        self._pipeline = pipeline_id(settings, embedder.name)
        self._default_access = Access(
            groups=tuple(settings.default_groups), sensitivity=settings.default_sensitivity
        )

    def run(
        self, paths: Sequence[Path], *, dry_run: bool = False, force: bool = False
    ) -> IngestSummary:
        """Ingest ``paths``; ``force`` rewrites unchanged files, ``dry_run`` only reports."""
        started = time.perf_counter()
        found = scan(paths)
        files = found.files
        indexed = self._store.snapshot()
        summary = IngestSummary(
            dry_run=dry_run, collection=self._store.collection_name, unsupported=found.unsupported
        )
        plans = [self._plan(file, indexed.get(file.source), force) for file in files]
        gone = _missing_sources(paths, {f.source for f in files}, indexed)
        self._progress.start(len(plans) + len(gone), "dry run" if dry_run else "ingesting")
        try:
            for plan in plans:
                self._execute(plan, indexed.get(plan.file.source), summary, dry_run)
                self._progress.advance(plan.file.source, plan.action)
            for source in gone:
                if not dry_run:
                    self._store.delete_source(source)
                summary.deleted.append(source)
                self._progress.advance(source, "deleted")
        finally:
            self._progress.finish()
        summary.total_chunks = self._store.count()
        summary.seconds = time.perf_counter() - started
        return summary

    def _plan(self, file: SourceFile, indexed: IndexedDoc | None, force: bool) -> Plan:
        try:
            access = resolve_access(file, default=self._default_access)
        except (IngestError, OSError) as e:
            return Plan(file, "failed", reason=_reason(e, file.source), access_unknown=True)
        try:
            content_hash = fingerprint(file, access, pipeline=self._pipeline)
        except (IngestError, OSError) as e:
            return Plan(file, "failed", reason=_reason(e, file.source))
        if indexed is None:
            return Plan(file, "added", access, content_hash)
        if not force and indexed.complete_hash() == content_hash:
            return Plan(file, "unchanged", access, content_hash)
        return Plan(file, "updated", access, content_hash)

    def _execute(
        self, plan: Plan, indexed: IndexedDoc | None, summary: IngestSummary, dry_run: bool
    ) -> None:
        source = plan.file.source
        if plan.action == "unchanged":
            summary.unchanged.append(source)
            return
        if plan.action != "failed" and not dry_run:
            try:
                summary.chunks += self._write(plan)
            except IngestError as e:
                plan = Plan(plan.file, "failed", reason=_reason(e, source))
        if plan.action == "failed":
            kept = indexed.chunks if indexed else 0
            reason = plan.reason
            if plan.access_unknown and kept:  # fail closed: never keep a possibly wider access
                if not dry_run:
                    self._store.delete_source(source)
                reason += f"; its {kept} indexed chunks were removed until this is fixed"
                kept = 0
            summary.failed.append(Failure(source, reason, kept_chunks=kept))
            log.warning("skipped %s: %s", source, plan.reason)
            return
        (summary.added if plan.action == "added" else summary.updated).append(source)

    def _write(self, plan: Plan) -> int:
        assert plan.access is not None
        elements = self._parser.parse(plan.file)
        chunks = chunk_document(
            plan.file,
            elements,
            access=plan.access,
            content_hash=plan.content_hash,
            settings=self._settings,
        )
        if not chunks:
            raise IngestError(f"{plan.file.source}: no text to index (empty or scanned document)")
        vectors = self._embedder.embed_documents([c.text for c in chunks])
        self._store.upsert(chunks, vectors)
        self._store.prune(plan.file.source, plan.content_hash, len(chunks))
        return len(chunks)


def _reason(error: Exception, source: str) -> str:
    """The error's message without a leading ``<source>: `` (the summary names the file)."""
    text = str(error) or type(error).__name__
    return text[len(source) + 2 :] if text.startswith(f"{source}: ") else text


def _missing_sources(
    paths: Sequence[Path], found: set[str], indexed: dict[str, IndexedDoc]
) -> list[str]:
    """Indexed sources under the requested paths whose files are gone."""
    prefixes = [Path(p).resolve().as_posix() for p in paths]
    return sorted(
        source
        for source in indexed
        if source not in found
        and any(source == pre or source.startswith(pre.rstrip("/") + "/") for pre in prefixes)
    )
