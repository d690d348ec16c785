"""A chunk index in memory (:class:`core.index.ChunkIndex`): the unit tests' index, and a tiny one.

It keeps the Weaviate index's contract (the suite in ``tests/contract`` runs against both): writes
are idempotent by chunk id, every search is restricted to what the user may read before anything
is scored, and the hybrid score is a relative-score fusion of BM25 over title, section and text
and of the cosine to the chunk's whole-text vector (with pieces: averaged with its best piece's).
Like Weaviate's, each half is min-max normalised over its own candidates: the keyword half over
the chunks holding a query word (the others score 0 there). There is no stemming, so
``stemmed`` changes nothing here.
"""

from __future__ import annotations

import math
import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from core.domain import Access, Chunk, ChunkVectors, User
from core.errors import ConfigError, RetrievalError
from core.filters import SearchFilters, utc
from core.index import ChunkIndex, DocumentStats, Found, IndexedDoc, IndexStats, SearchRequest

_WORD = re.compile(r"[^\W_]+")  # runs of letters and digits, as Weaviate's ``word`` tokenizer
K1, B = 1.2, 0.75
PIECE_WEIGHT = 0.5


@dataclass(frozen=True)
class _Stored:
    chunk: Chunk
    vectors: ChunkVectors
    count: int


class MemoryChunkIndex:
    """Chunks, their vectors and their file's chunk count, by chunk id, behind one lock."""

    def __init__(self, name: str = "memory") -> None:
        self.name = name
        self._lock = threading.Lock()
        self._chunks: dict[str, _Stored] = {}
        self._model: tuple[str, int] | None = None

    def exists(self) -> bool:
        return self._model is not None

    def ensure(self, *, embedding_model: str, dim: int) -> None:
        with self._lock:
            if self._model is None:
                self._model = (embedding_model, dim)
            elif self._model != (embedding_model, dim):
                raise ConfigError(
                    f"the index was built with {self._model[0]} ({self._model[1]}-d) but the embedding "
                    f"model is now {embedding_model} ({dim}-d); run `docduet reindex --full`"
                )

    def snapshot(self) -> dict[str, IndexedDoc]:
        docs: dict[str, IndexedDoc] = {}
        for stored in self._all():
            chunk = stored.chunk
            doc = docs.setdefault(chunk.source, IndexedDoc(source=chunk.source, root=chunk.root))
            doc.present[chunk.content_hash].add(chunk.index)
            doc.expected[chunk.content_hash] = stored.count
            doc.accesses.add(Access(tuple(sorted(chunk.access.groups)), chunk.access.sensitivity))
        return docs

    def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[ChunkVectors]) -> None:
        if len(chunks) != len(vectors):  # a caller's bug, as Weaviate's zip(strict=True) says
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors; embed every chunk once")
        with self._lock:
            dim = self._model[1] if self._model is not None else None
            if dim is not None and any(len(v.whole) != dim for v in vectors):
                raise ValueError(f"vectors must have {dim} dimensions, as the index was made with")
            for chunk, vector in zip(chunks, vectors, strict=True):
                self._chunks[chunk.chunk_id] = _Stored(chunk, vector, len(chunks))

    def prune(self, source: str, keep_hash: str, count: int) -> int:
        return self._delete(
            lambda c: c.source == source and (c.content_hash != keep_hash or c.index >= count)
        )

    def delete_source(self, source: str) -> int:
        return self._delete(lambda c: c.source == source)

    def count(self) -> int:
        return len(self._chunks)

    def chunks(self) -> list[Chunk]:
        return [s.chunk for s in self._all()]

    def source_root(self, source: str, user: User) -> str | None:
        found = (s.chunk.root for s in self._all() if s.chunk.source == source and _readable(s, user))
        return next(found, None)

    def stats(self) -> IndexStats:
        if not self.exists():
            return IndexStats(self.name, (), exists=False)
        by_source: dict[str, list[Chunk]] = {}
        for stored in self._all():
            by_source.setdefault(stored.chunk.source, []).append(stored.chunk)
        documents = tuple(
            DocumentStats(
                source=source,
                doc_type=chunks[0].doc_type,
                groups=tuple(sorted({g for c in chunks for g in c.access.groups})),
                sensitivity=chunks[0].access.sensitivity.value,
                chunks=len(chunks),
            )
            for source, chunks in sorted(by_source.items())
        )
        return IndexStats(self.name, documents)

    def search(self, request: SearchRequest) -> list[Found]:
        if not self.exists():
            raise RetrievalError("the index is empty; run `docduet ingest PATH` first")
        pool = [s for s in self._all() if _readable(s, request.user) and _matches(s.chunk, request.filters)]
        if not pool or request.limit < 1:
            return []
        vector_scores = _vector_scores(request, pool)
        terms = _words(request.text)
        alpha = request.alpha if terms else 1.0
        keyword_scores = _bm25(terms, pool) if alpha < 1.0 else [0.0] * len(pool)
        fused = [
            alpha * v + (1 - alpha) * k
            for v, k in zip(_normalised(vector_scores), _normalised_matches(keyword_scores), strict=True)
        ]
        ranked = sorted(range(len(pool)), key=lambda i: (-fused[i], pool[i].chunk.chunk_id))
        return [_found(pool[i], fused[i], request.pieces) for i in ranked[: request.limit]]

    def staging(self, *, embedding_model: str, dim: int) -> MemoryChunkIndex:
        staged = MemoryChunkIndex(f"{self.name}_staged")
        staged.ensure(embedding_model=embedding_model, dim=dim)
        return staged

    def promote(self, staged: ChunkIndex) -> None:
        """This index now holds ``staged``'s chunks and model; ``staged`` is consumed (empty)."""
        if not isinstance(staged, MemoryChunkIndex) or staged is self:
            raise ConfigError(f"cannot promote {staged.name!r} into the in-memory index {self.name!r}")
        with staged._lock:
            chunks, model = staged._chunks, staged._model
            staged._chunks, staged._model = {}, None
        with self._lock:
            self._chunks, self._model = chunks, model

    def discard(self, staged: ChunkIndex) -> None:
        if isinstance(staged, MemoryChunkIndex) and staged is not self:
            with staged._lock:
                staged._chunks, staged._model = {}, None

    def _all(self) -> list[_Stored]:
        with self._lock:
            return list(self._chunks.values())

    def _delete(self, doomed: Callable[[Chunk], bool]) -> int:
        with self._lock:
            ids = [cid for cid, s in self._chunks.items() if doomed(s.chunk)]
            for cid in ids:
                del self._chunks[cid]
            return len(ids)


def _readable(stored: _Stored, user: User) -> bool:
    return bool(set(stored.chunk.access.groups) & set(user.readable_groups))


def _matches(chunk: Chunk, filters: SearchFilters | None) -> bool:
    if filters is None:
        return True
    if filters.sources and chunk.source not in filters.sources:
        return False
    if filters.doc_types and chunk.doc_type not in {t.lower().lstrip(".") for t in filters.doc_types}:
        return False
    after, before, modified = utc(filters.modified_after), utc(filters.modified_before), utc(chunk.modified)
    assert modified is not None
    return (after is None or modified >= after) and (before is None or modified < before)


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def _bm25(terms: list[str], pool: list[_Stored]) -> list[float]:
    """Okapi BM25 of ``terms`` against each chunk's title, section and text (IDF over ``pool``)."""
    docs = [Counter(_words(f"{s.chunk.title} {s.chunk.section} {s.chunk.text}")) for s in pool]
    average = sum(sum(d.values()) for d in docs) / len(docs) or 1.0
    holding = Counter(term for d in docs for term in set(d))
    scores = []
    for d in docs:
        length, score = sum(d.values()), 0.0
        for term in terms:
            if d[term]:
                idf = math.log(1 + (len(docs) - holding[term] + 0.5) / (holding[term] + 0.5))
                score += idf * d[term] * (K1 + 1) / (d[term] + K1 * (1 - B + B * length / average))
        scores.append(score)
    return scores


def _vector_scores(request: SearchRequest, pool: list[_Stored]) -> list[float]:
    query = np.asarray(request.vector, dtype=np.float64)
    wholes = [_cosine(query, s.vectors.whole) for s in pool]
    if not request.pieces:
        return wholes
    best = [max(_cosine(query, p) for p in (s.vectors.pieces or [s.vectors.whole])) for s in pool]
    norm_whole, norm_best = _normalised(wholes), _normalised(best)
    return [(1 - PIECE_WEIGHT) * w + PIECE_WEIGHT * p for w, p in zip(norm_whole, norm_best, strict=True)]


def _cosine(query: np.ndarray, vector: Sequence[float]) -> float:
    v = np.asarray(vector, dtype=np.float64)
    norm = float(np.linalg.norm(query) * np.linalg.norm(v))
    return float(query @ v / norm) if norm else 0.0


def _normalised(scores: list[float]) -> list[float]:
    """Min-max to [0, 1] over the candidates (Weaviate's relative-score fusion); all equal: 1."""
    low, high = min(scores), max(scores)
    return [1.0 if high == low else (s - low) / (high - low) for s in scores]


def _normalised_matches(scores: list[float]) -> list[float]:
    """The keyword half: min-max over the chunks that hold a query word; the others score 0."""
    matching = [s for s in scores if s > 0]
    if not matching:
        return [0.0] * len(scores)
    low, high = min(matching), max(matching)
    return [0.0 if s <= 0 else 1.0 if high == low else (s - low) / (high - low) for s in scores]


def _found(stored: _Stored, score: float, pieces: bool) -> Found:
    vectors = stored.vectors
    return Found(
        chunk=stored.chunk,
        score=score,
        vector=tuple(vectors.whole),
        pieces=tuple(tuple(p) for p in vectors.pieces) if pieces else (),
    )
