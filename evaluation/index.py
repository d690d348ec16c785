"""Evaluation corpora in collections of their own, built once and reused while unchanged.

The collection name is derived from the corpus content, the embedding model and the index
layout, so a changed corpus or model gets a fresh collection and an unchanged one is reused.
Each document (title and text) becomes public chunks the way ingestion cuts them: one when it
fits what the embedding model reads, else pieces of at most that many tokens
(:mod:`ingest.splitter`); ``windowed=False`` keeps the old one-chunk layout, which the embedder
truncates like the BEIR baselines do. Writing is resumable: chunk ids are deterministic and
documents already complete in the index are skipped.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import groupby

from core.domain import PUBLIC_GROUP, Access, Chunk, ChunkVectors, Sensitivity
from core.index import ChunkIndex
from core.protocols import Embedder, ProgressSink
from core.settings import Settings
from evaluation.datasets import EvalDocument
from ingest.chunking import chunk_id
from ingest.pieces import ChunkEncoder, chunk_encoder
from ingest.splitter import TokenSplitter, token_splitter

log = logging.getLogger(__name__)

EVAL_INDEX_VERSION = "eval-index-3"
"""Bump when the way documents become chunks changes: every eval collection is rebuilt."""
EVAL_ROOT = "docduet-eval"
EVAL_ACCESS = Access(groups=(PUBLIC_GROUP,), sensitivity=Sensitivity.PUBLIC)
_EPOCH = datetime.fromtimestamp(0, UTC)


@dataclass(frozen=True)
class IndexReport:
    """Which collection holds the corpus and what this run had to write into it."""

    collection: str
    documents: int
    written: int
    reused: bool
    seconds: float


def layout_name(splitter: TokenSplitter | None) -> str:
    """``documents`` (one chunk each) or ``windows-<max tokens>-<overlap>``."""
    return "documents" if splitter is None else f"windows-{splitter.max_tokens}-{splitter.overlap}"


def eval_collection_name(corpus_digest: str, embedding_model: str, layout: str = "documents") -> str:
    """``DocduetEval_<16 hex>``: one name per corpus content, embedding model and layout."""
    key = f"{EVAL_INDEX_VERSION}|{corpus_digest}|{embedding_model}|{layout}"
    return f"DocduetEval_{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def document_chunks(doc: EvalDocument, splitter: TokenSplitter | None = None) -> list[Chunk]:
    """The chunks a document becomes (one without ``splitter``); their source is the document id."""
    text = f"{doc.title}\n\n{doc.text}" if doc.title and doc.text else (doc.text or doc.title)
    layout = layout_name(splitter)
    content_hash = hashlib.sha256(f"{EVAL_INDEX_VERSION}\0{layout}\0{text}".encode()).hexdigest()
    pieces = splitter.split(text) if splitter is not None else [text.strip()]
    return [_chunk(doc, piece, index, content_hash) for index, piece in enumerate(pieces)]


def _chunk(doc: EvalDocument, text: str, index: int, content_hash: str) -> Chunk:
    return Chunk(
        chunk_id=chunk_id(doc.doc_id, content_hash, index),
        source=doc.doc_id,
        root=EVAL_ROOT,
        title=doc.title,
        text=text,
        index=index,
        doc_type="eval",
        section=doc.section,
        page=None,
        modified=_EPOCH,
        content_hash=content_hash,
        access=EVAL_ACCESS,
    )


def ensure_eval_index(
    index_named: Callable[[str], ChunkIndex],
    embedder: Embedder,
    documents: Sequence[EvalDocument],
    *,
    corpus_digest: str,
    settings: Settings,
    progress: ProgressSink,
    windowed: bool = True,
) -> IndexReport:
    """Create (or reuse) the corpus's index (``index_named(name)``) and write whatever documents it lacks.

    ``windowed``: split documents longer than the embedder reads, as ingestion does.
    """
    started = time.perf_counter()
    splitter = token_splitter(settings.ingest, embedder.window) if windowed else None
    layout = f"{layout_name(splitter)}-pieces-{settings.ingest.piece_max_tokens}"
    name = eval_collection_name(corpus_digest, embedder.name, layout)
    chunks = _unique_chunks(documents, splitter)
    store = index_named(name)
    store.ensure(embedding_model=embedder.name, dim=embedder.dim)
    documents_count = len({c.source for c in chunks})
    if store.count() == len(chunks):
        log.info("reusing %s (%d documents, %d chunks)", name, documents_count, len(chunks))
        return IndexReport(name, documents_count, 0, True, time.perf_counter() - started)
    indexed = store.snapshot()
    todo = [
        c for c in chunks if c.source not in indexed or indexed[c.source].complete_hash() != c.content_hash
    ]
    encoder = chunk_encoder(settings.ingest, embedder)
    _write(store, encoder, todo, batch=max(1, settings.embedding.embedding_batch_size), progress=progress)
    seconds = time.perf_counter() - started
    written = len({c.source for c in todo})
    log.info(
        "indexed %d of %d documents (%d chunks) into %s in %.1f s",
        written, documents_count, len(todo), name, seconds,
    )  # fmt: skip
    return IndexReport(name, documents_count, written, False, seconds)


def _unique_chunks(documents: Sequence[EvalDocument], splitter: TokenSplitter | None) -> list[Chunk]:
    chunks: dict[str, list[Chunk]] = {}
    for doc in documents:
        if not (doc.text.strip() or doc.title.strip()):
            continue
        if doc.doc_id in chunks:
            log.warning("document id %r appears twice in the corpus; keeping the first", doc.doc_id)
            continue
        chunks[doc.doc_id] = document_chunks(doc, splitter)
    return [chunk for doc_chunks in chunks.values() for chunk in doc_chunks]


def _write(
    store: ChunkIndex, encoder: ChunkEncoder, chunks: Sequence[Chunk], *, batch: int, progress: ProgressSink
) -> None:
    """Embed in batches; write one document at a time (a document's chunks go in one call)."""
    progress.start(len(chunks), "indexing the evaluation corpus")
    pending: list[tuple[Chunk, ChunkVectors]] = []
    try:
        for begin in range(0, len(chunks), batch):
            part = chunks[begin : begin + batch]
            pending.extend(zip(part, encoder.encode([c.text for c in part]), strict=True))
            last = None if begin + batch >= len(chunks) else part[-1].source  # may continue
            done = [p for p in pending if p[0].source != last]
            pending = [p for p in pending if p[0].source == last]
            for _, group in groupby(done, key=lambda p: p[0].source):
                items = list(group)
                store.upsert([c for c, _ in items], [v for _, v in items])
                for chunk, _ in items:
                    progress.advance(chunk.source, "indexed")
    finally:
        progress.finish()
