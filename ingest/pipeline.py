"""Incremental ingestion: discover files, skip unchanged ones, replace changed ones, drop gone ones.

Crash safety: chunk ids are deterministic (source, content hash, index), chunks are written
before the old version is pruned, and the index itself records which version is complete. A run
stopped at any point (Ctrl-C, Weaviate killed) is finished by simply running it again.

Each file is read once, by descriptor from its ingest root (:mod:`ingest.fdwalk`): its content
hash, its access (front matter) and its chunks all come from those bytes, never a second look.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from core.domain import Access, Chunk, SourceFile
from core.errors import IngestError
from core.index import ChunkIndex, IndexedDoc
from core.protocols import Embedder, NullProgress, Parser, ProgressSink
from core.settings import Settings
from ingest.access import access_within, resolve
from ingest.chunking import chunk_document
from ingest.discover import Scan, scan
from ingest.fdwalk import read_document
from ingest.hashing import fingerprint, pipeline_id
from ingest.pieces import chunk_encoder
from ingest.summary import Failure, IngestSummary, Notice

log = logging.getLogger(__name__)

_Item = TypeVar("_Item")
_Outcome = TypeVar("_Outcome")

PARSE_AHEAD = 32
"""Files read, parsed and chunked ahead of the one being embedded (bounds the chunks held)."""
EMBED_BATCHES = 4
"""Chunks are embedded once this many encoder batches of them are in hand (several files' worth)."""


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
    refused: tuple[str, ...] = ()
    """Widenings its declarations asked for and did not get (see ingest.access.resolve)."""


class Ingestor:
    """Brings the index in line with the files under some paths."""

    def __init__(
        self,
        store: ChunkIndex,
        parser: Parser,
        embedder: Embedder,
        settings: Settings,
        progress: ProgressSink | None = None,
    ) -> None:
        self._store = store
        self._parser = parser
        self._encoder = chunk_encoder(settings.ingest, embedder)
        self._settings = settings
        self._progress = progress or NullProgress()
        self._pipeline = pipeline_id(settings.ingest, embedder.name)
        self._default_access = Access(
            groups=tuple(settings.ingest.default_groups), sensitivity=settings.ingest.default_sensitivity
        )

    def run(
        self,
        paths: Sequence[Path],
        *,
        dry_run: bool = False,
        force: bool = False,
        allow_empty: bool = False,
        previous: dict[str, IndexedDoc] | None = None,
    ) -> IngestSummary:
        """Ingest ``paths``; ``force`` rewrites unchanged files, ``dry_run`` only reports.

        A path that now holds nothing to ingest although the index holds documents from it (an
        unmounted share) raises :class:`IngestError` unless ``allow_empty``. ``previous`` is the
        index a rebuild replaces: failures count the chunks it holds, which the rebuild would lose.
        """
        started = time.perf_counter()
        discovering = time.perf_counter()
        found = scan(paths, corpus_root=self._settings.ingest.corpus_root, suffixes=self._parser.suffixes)
        files = found.files
        indexed = self._store.snapshot()
        before = indexed if previous is None else previous
        if not allow_empty:
            _refuse_emptied(paths, found, before)
        summary = _new_summary(found, dry_run, self._store.name)
        summary.stage_seconds["discover"] = time.perf_counter() - discovering
        gone = _missing_sources(paths, {f.source for f in files}, before)
        self._progress.start(len(files) + len(gone), "dry run" if dry_run else "ingesting")
        try:
            self._ingest_files(files, indexed, before, summary, force=force, dry_run=dry_run)
            for source in gone:
                if not dry_run:
                    with summary.timing("prune"):
                        self._store.delete_source(source)
                summary.deleted.append(source)
                self._progress.advance(source, "deleted")
        finally:
            self._progress.finish()
        summary.total_chunks = self._store.count()
        summary.seconds = time.perf_counter() - started
        return summary

    def _ingest_files(
        self,
        files: list[SourceFile],
        indexed: dict[str, IndexedDoc],
        before: dict[str, IndexedDoc],
        summary: IngestSummary,
        *,
        force: bool,
        dry_run: bool,
    ) -> None:
        """Read, plan, parse and chunk in a background thread while earlier files are embedded.

        Each file is read once (:func:`ingest.fdwalk.read_document`) in that thread, which works
        up to :data:`PARSE_AHEAD` files ahead; its bytes are hashed, their access decided and
        parsed there, then dropped: one file's bytes are held at a time (never re-read), and at
        most that many files' chunks wait to be embedded. Chunks of several
        files are embedded in one call (full, length-sorted batches); each file is then written
        and its old version pruned, so a stopped run loses at most the files of the batch in
        hand, and re-running finishes it.
        """
        pending: list[tuple[Plan, list[Chunk]]] = []
        target = self._settings.embedding.embedding_batch_size * EMBED_BATCHES

        def work(file: SourceFile) -> tuple[Plan, list[Chunk] | IngestError | None]:
            return self._prepare(file, indexed.get(file.source), summary, force=force, dry_run=dry_run)

        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="docduet-parse")
        try:
            for plan, outcome in _ahead(pool, files, work, PARSE_AHEAD):
                source = plan.file.source
                _note_access(plan, before.get(source), summary)
                if isinstance(outcome, IngestError):
                    failed = Plan(plan.file, "failed", plan.access, reason=_reason(outcome, source))
                    self._settle(failed, before.get(source), summary, dry_run=False)
                elif outcome is None:
                    self._settle(plan, before.get(source), summary, dry_run)
                else:
                    pending.append((plan, outcome))
                    if sum(len(chunks) for _, chunks in pending) >= target:
                        self._flush(pending, before, summary)
                        pending = []
            self._flush(pending, before, summary)
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _prepare(
        self,
        file: SourceFile,
        indexed: IndexedDoc | None,
        summary: IngestSummary,
        *,
        force: bool,
        dry_run: bool,
    ) -> tuple[Plan, list[Chunk] | IngestError | None]:
        """``file`` read once and planned; its chunks when it is to be written (background thread).

        The outcome is None when nothing is to be written (unchanged, failed, a dry run), the
        chunks, or the :class:`IngestError` that failed parsing or chunking.
        """
        with summary.timing("plan"):
            plan, data = self._plan(file, indexed, force)
        if dry_run or data is None or plan.action not in ("added", "updated"):
            return plan, None
        try:
            return plan, self._chunks(plan, data, summary)
        except IngestError as e:
            return plan, e

    def _plan(self, file: SourceFile, indexed: IndexedDoc | None, force: bool) -> tuple[Plan, bytes | None]:
        """What to do with ``file``, and its bytes: the one read that is hashed, judged and parsed.

        A file that cannot be read safely (a link on its path, several hard links, swapped since
        the scan, unreadable, over the size limit) has no access docduet can vouch for: its
        earlier chunks are removed, as for a broken declaration.
        """
        try:
            data = read_document(file, max_bytes=self._settings.ingest.max_file_bytes)
            resolved = resolve(
                file, data, default=self._default_access, corpus_root=self._settings.ingest.corpus_root
            )
        except (IngestError, OSError) as e:
            return Plan(file, "failed", reason=_reason(e, file.source), access_unknown=True), None
        access, refused = resolved.access, resolved.refused
        content_hash = fingerprint(data, access, pipeline=self._pipeline)
        if indexed is None:
            return Plan(file, "added", access, content_hash, refused=refused), data
        if not force and indexed.complete_hash() == content_hash:
            return Plan(file, "unchanged", access, content_hash, refused=refused), None
        return Plan(file, "updated", access, content_hash, refused=refused), data

    def _chunks(self, plan: Plan, data: bytes, summary: IngestSummary) -> list[Chunk]:
        """``data``, the bytes of ``plan``'s file, parsed and chunked (runs in the background thread)."""
        assert plan.access is not None
        with summary.timing("parse"):
            parsed = self._parser.parse(plan.file, data)
        with summary.timing("chunk"):
            chunks = chunk_document(
                plan.file,
                parsed.sections,
                access=plan.access,
                content_hash=plan.content_hash,
                settings=self._settings,
                window=self._encoder.embedder.window,
                title=parsed.title,
            )
        if not chunks:
            raise IngestError(f"{plan.file.source}: no text to index (empty or scanned document)")
        return chunks

    def _flush(
        self, pending: list[tuple[Plan, list[Chunk]]], before: dict[str, IndexedDoc], summary: IngestSummary
    ) -> None:
        """Embed the chunks of ``pending`` files in one call, then write and prune file by file."""
        if not pending:
            return
        with summary.timing("embed"):
            vectors = self._encoder.encode([c.text for _, chunks in pending for c in chunks])
        offset = 0
        for plan, chunks in pending:
            mine = vectors[offset : offset + len(chunks)]
            offset += len(chunks)
            source = plan.file.source
            try:
                with summary.timing("write"):
                    self._store.upsert(chunks, mine)
                with summary.timing("prune"):
                    self._store.prune(source, plan.content_hash, len(chunks))
            except IngestError as e:
                plan = Plan(plan.file, "failed", plan.access, reason=_reason(e, source))
            else:
                summary.chunks += len(chunks)
            self._settle(plan, before.get(source), summary, dry_run=False)

    def _settle(self, plan: Plan, indexed: IndexedDoc | None, summary: IngestSummary, dry_run: bool) -> None:
        """Record what happened to ``plan``'s file; a failed one's chunks go if they must."""
        source = plan.file.source
        self._progress.advance(source, plan.action)
        if plan.action == "unchanged":
            summary.unchanged.append(source)
            return
        if plan.action == "failed":
            kept = indexed.chunks if indexed else 0
            reason = plan.reason
            if kept and _must_not_keep(plan, indexed):  # fail closed: never keep a wider access
                if not dry_run:
                    self._store.delete_source(source)
                why = "" if plan.access_unknown else ", which its declarations now narrow,"
                reason += f"; its {kept} indexed chunks{why} were removed until this is fixed"
                kept = 0
            summary.failed.append(Failure(source, reason, kept_chunks=kept))
            log.warning("skipped %s: %s", source, plan.reason)
            return
        (summary.added if plan.action == "added" else summary.updated).append(source)


def _ahead(
    pool: ThreadPoolExecutor, items: list[_Item], work: Callable[[_Item], _Outcome], depth: int
) -> Iterator[_Outcome]:
    """``work(item)`` for each item, in order, ``work`` running in ``pool`` up to ``depth`` items ahead."""
    queue: deque[Future[_Outcome]] = deque()
    upcoming = iter(items)
    for item in itertools.islice(upcoming, depth):
        queue.append(pool.submit(work, item))
    while queue:
        outcome = queue.popleft().result()
        following = next(upcoming, None)
        if following is not None:
            queue.append(pool.submit(work, following))
        yield outcome


def _new_summary(found: Scan, dry_run: bool, collection: str) -> IngestSummary:
    return IngestSummary(
        dry_run=dry_run,
        collection=collection,
        unsupported=found.unsupported,
        skipped=[Notice(s.source, s.reason) for s in found.skipped],
        ignored=found.ignored,
    )


def _must_not_keep(plan: Plan, indexed: IndexedDoc | None) -> bool:
    """A failed file's earlier chunks go when its access is unknown or now narrower than theirs."""
    if plan.access_unknown or plan.access is None:
        return True
    return indexed is not None and any(not access_within(old, plan.access) for old in indexed.accesses)


def _note_access(plan: Plan, indexed: IndexedDoc | None, summary: IngestSummary) -> None:
    """Report refused widenings, and access wider than the index had (never silently)."""
    source = plan.file.source
    summary.widening_refused.extend(Notice(source, note) for note in plan.refused)
    if plan.access is None or indexed is None or plan.action == "failed":
        return
    wider = [old for old in indexed.accesses if not access_within(plan.access, old)]
    if wider:
        old = wider[0]
        note = (
            f"access widened from {_describe(old)} to {_describe(plan.access)} by its declarations; "
            "if that is not intended, fix the _access.yaml or front matter and re-run"
        )
        log.warning("%s: %s", source, note)
        summary.widened.append(Notice(source, note))


def _describe(access: Access) -> str:
    return f"[{', '.join(access.groups)}] {access.sensitivity.value}"


def _refuse_emptied(paths: Sequence[Path], found: Scan, before: dict[str, IndexedDoc]) -> None:
    """Refuse a path that now holds nothing to ingest while the index holds documents from it."""
    for given in paths:
        prefix = Path(given).expanduser().resolve().as_posix()
        if any(_is_under(f.source, prefix) for f in found.files):
            continue
        indexed = sum(1 for source in before if _is_under(source, prefix))
        if indexed:
            raise IngestError(
                f"{given}: there is nothing to ingest there now, but the index holds {indexed} "
                "documents from it, which this run would delete; if it is an unmounted share or "
                "was emptied by mistake, mount or restore it and re-run; to delete those "
                "documents on purpose, re-run with --allow-empty"
            )


def _is_under(source: str, prefix: str) -> bool:
    return source == prefix or source.startswith(prefix.rstrip("/") + "/")


def _reason(error: Exception, source: str) -> str:
    """The error's message without a leading ``<source>: `` (the summary names the file)."""
    text = str(error) or type(error).__name__
    return text[len(source) + 2 :] if text.startswith(f"{source}: ") else text


def _missing_sources(paths: Sequence[Path], found: set[str], indexed: dict[str, IndexedDoc]) -> list[str]:
    """Indexed sources under the requested paths whose files are gone."""
    prefixes = [Path(p).resolve().as_posix() for p in paths]
    return sorted(
        source
        for source in indexed
        if source not in found and any(_is_under(source, pre) for pre in prefixes)
    )
