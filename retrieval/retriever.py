"""The hybrid retriever: a query's passages from a :class:`core.index.ChunkIndex`, scored and trimmed.

The index runs the search with the asker's access filter inside it; this module embeds the query,
then drops hits under the cosine-similarity floors and near-duplicates of better hits
(:mod:`retrieval.ranking`).
"""

from __future__ import annotations

import logging
import time

from core.domain import Hit, User
from core.errors import RetrievalError
from core.filters import SearchFilters
from core.index import ChunkIndex, Found, SearchRequest
from core.protocols import Embedder
from core.settings import RetrievalSettings
from retrieval.ranking import Candidate, best_piece_cosines, cosines, select

log = logging.getLogger(__name__)

OVERFETCH = 3
"""Fetch this many times ``top_k`` so de-duplication and the threshold still leave ``top_k``."""


class HybridRetriever:
    """Hybrid (keywords + vectors) search over a chunk index: a :class:`core.protocols.Retriever`."""

    def __init__(
        self,
        index: ChunkIndex,
        embedder: Embedder,
        settings: RetrievalSettings,
        *,
        stemmed: bool = True,
        pieces: bool = True,
    ) -> None:
        """Search ``index`` with ``embedder``'s query vectors, as the ``settings`` section says.

        ``stemmed=False`` runs the keyword half on the original fields with the query as typed, and
        ``pieces=False`` scores vectors by the chunks' whole text only; they exist so the
        evaluation can measure what stemming and piece vectors buy, and are not for chat.
        """
        self.index = index
        self._embedder = embedder
        self._stemmed = stemmed
        self._pieces = pieces
        self._alpha = settings.alpha
        self._top_k = settings.top_k
        self._min_similarity = settings.score_threshold
        self._min_piece_similarity = settings.piece_score_threshold

    @property
    def collection_name(self) -> str:
        return self.index.name

    def retrieve(
        self,
        query: str,
        *,
        user: User,
        filters: SearchFilters | None = None,
        top_k: int | None = None,
    ) -> list[Hit]:
        """Hybrid search restricted to ``user``'s groups and ``filters``; best first.

        Hits below ``settings.score_threshold`` cosine similarity (unless a piece reaches
        ``settings.piece_score_threshold``) and near-duplicates of better hits are dropped.
        Raises :class:`RetrievalError` when the index does not exist and
        :class:`BackendUnavailableError` when the index's store cannot be reached.
        """
        k = self._top_k if top_k is None else top_k
        if k < 1:
            raise RetrievalError(f"top_k must be at least 1, got {k}; pass a positive number")
        if not query.strip():
            return []
        started = time.perf_counter()
        vector = self._embedder.embed_query(query)
        request = SearchRequest(
            text=query,
            vector=vector,
            user=user,
            limit=k * OVERFETCH,
            alpha=self._alpha,
            filters=filters,
            stemmed=self._stemmed,
            pieces=self._pieces,
        )
        candidates = candidates_of(vector, self.index.search(request))
        hits = select(
            candidates,
            top_k=k,
            min_similarity=self._min_similarity,
            min_piece_similarity=self._min_piece_similarity,
        )
        log.debug(
            "retrieved %d of %d candidates for %r in %.1f ms",
            len(hits), len(candidates), user.name, 1000 * (time.perf_counter() - started),
        )  # fmt: skip
        return hits


def candidates_of(vector: list[float], found: list[Found]) -> list[Candidate]:
    """Search results with the query's cosine to each chunk's whole text and to its best piece.

    The hit's similarity is its best part's: the whole text or one piece.
    """
    wholes = cosines(vector, [f.vector for f in found])
    pieces = best_piece_cosines(vector, [f.pieces for f in found])
    out = []
    for f, whole, piece in zip(found, wholes, pieces, strict=True):
        known = [s for s in (whole, piece) if s is not None]
        hit = Hit(chunk=f.chunk, score=f.score, similarity=max(known) if known else None)
        out.append(Candidate(hit=hit, vector=f.vector, whole_similarity=whole, piece_similarity=piece))
    return out
