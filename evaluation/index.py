"""Evaluation corpora in collections of their own, built once and reused while unchanged.

The collection name is derived from the corpus content, the embedding model and the index
layout, so a changed corpus or model gets a fresh collection and an unchanged one is reused.
Each document is one public chunk (title and text; the embedder truncates long ones like BEIR
baselines do). Writing is resumable: chunk ids are deterministic and documents already complete
in the index are skipped.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import weaviate

from docduet.db import schema
from docduet.db.chunks import ChunkStore
from docduet.domain import PUBLIC_GROUP, Access, Chunk, Sensitivity
from docduet.settings import Settings
from evaluation.datasets import EvalDocument
from ingest.chunking import chunk_id
from ingest.embed import Embedder
from ingest.progress import ProgressSink

log = logging.getLogger(__name__)

EVAL_INDEX_VERSION = "eval-index-1"
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


def eval_collection_name(corpus_digest: str, embedding_model: str) -> str:
    """``DocduetEval_<16 hex>``: one name per corpus content, embedding model and layout."""
    key = f"{EVAL_INDEX_VERSION}|{corpus_digest}|{embedding_model}"
    return f"DocduetEval_{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def document_chunk(doc: EvalDocument) -> Chunk:
    """The single chunk a document becomes; its source is the document id."""
    text = f"{doc.title}\n\n{doc.text}" if doc.title and doc.text else (doc.text or doc.title)
    content_hash = hashlib.sha256(f"{EVAL_INDEX_VERSION}\0{text}".encode()).hexdigest()
    return Chunk(
        chunk_id=chunk_id(doc.doc_id, content_hash, 0),
        source=doc.doc_id,
        root=EVAL_ROOT,
        title=doc.title,
        text=text.strip(),
        index=0,
        doc_type="eval",
        section=doc.section,
        page=None,
        modified=_EPOCH,
        content_hash=content_hash,
        access=EVAL_ACCESS,
    )


def ensure_eval_index(
    client: weaviate.WeaviateClient,
    embedder: Embedder,
    documents: Sequence[EvalDocument],
    *,
    corpus_digest: str,
    settings: Settings,
    progress: ProgressSink,
) -> IndexReport:
    """Create (or reuse) the corpus's collection and write whatever documents it lacks."""
    started = time.perf_counter()
    name = eval_collection_name(corpus_digest, embedder.name)
    chunks = _unique_chunks(documents)
    schema.ensure_index(
        client,
        name,
        embedding_model=embedder.name,
        dim=embedder.dim,
        replicas=settings.replication_factor,
    )
    store = ChunkStore(client, name)
    if store.count() == len(chunks):
        log.info("reusing %s (%d documents)", name, len(chunks))
        return IndexReport(name, len(chunks), 0, True, time.perf_counter() - started)
    indexed = store.snapshot()
    todo = [
        c for c in chunks if c.source not in indexed or indexed[c.source].complete_hash() != c.content_hash
    ]
    _write(store, embedder, todo, batch=max(1, settings.embedding_batch_size), progress=progress)
    seconds = time.perf_counter() - started
    log.info("indexed %d of %d documents into %s in %.1f s", len(todo), len(chunks), name, seconds)
    return IndexReport(name, len(chunks), len(todo), False, seconds)


def _unique_chunks(documents: Sequence[EvalDocument]) -> list[Chunk]:
    chunks: dict[str, Chunk] = {}
    for doc in documents:
        if not (doc.text.strip() or doc.title.strip()):
            continue
        if doc.doc_id in chunks:
            log.warning("document id %r appears twice in the corpus; keeping the first", doc.doc_id)
            continue
        chunks[doc.doc_id] = document_chunk(doc)
    return list(chunks.values())


def _write(
    store: ChunkStore, embedder: Embedder, chunks: Sequence[Chunk], *, batch: int, progress: ProgressSink
) -> None:
    """Embed in batches; write one document at a time (a document's chunks go in one call)."""
    progress.start(len(chunks), "indexing the evaluation corpus")
    try:
        for begin in range(0, len(chunks), batch):
            part = chunks[begin : begin + batch]
            vectors = embedder.embed_documents([c.text for c in part])
            for chunk, vector in zip(part, vectors, strict=True):
                store.upsert([chunk], [vector])
                progress.advance(chunk.source, "indexed")
    finally:
        progress.finish()
