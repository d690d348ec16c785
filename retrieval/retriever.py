"""The :class:`Retriever` seam and its Weaviate hybrid-search implementation.

Every search carries the caller's access filter inside the Weaviate query (see
:func:`backends.weaviate.filters.build_where`); results are then thresholded on cosine similarity and
de-duplicated (:mod:`retrieval.ranking`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx
import weaviate
from weaviate.classes.query import HybridFusion, MetadataQuery, TargetVectors
from weaviate.exceptions import (
    WeaviateClosedClientError,
    WeaviateConnectionError,
    WeaviateGRPCUnavailableError,
)

from backends.weaviate import schema
from backends.weaviate.filters import build_where
from backends.weaviate.keywords import STEMMED_FIELDS, query_terms
from backends.weaviate.replication import (
    READ_RETRIES,
    STORE_ERRORS,
    consistency_level,
    too_few_replicas,
    with_retries,
)
from core.domain import Hit, User
from core.errors import BackendUnavailableError, DocduetError, RetrievalError
from core.filters import SearchFilters
from core.protocols import Embedder
from core.settings import Settings
from retrieval.ranking import Candidate, best_piece_cosines, cosines, select
from retrieval.records import RETURN_PROPERTIES, chunk_from_properties

log = logging.getLogger(__name__)

OVERFETCH = 3
"""Fetch this many times ``top_k`` so de-duplication and the threshold still leave ``top_k``."""
SEARCH_PROPERTIES = list(STEMMED_FIELDS.values())
"""Properties the keyword (BM25) half of the hybrid search reads: the stemmed copies."""
PLAIN_PROPERTIES = list(STEMMED_FIELDS)
"""The unstemmed fields, for comparing against the stemmed search (evaluation only)."""
PIECE_WEIGHT = 0.5
"""Share of the best piece in a chunk's vector score; the whole text has the rest.
Both scores are normalised per query first (Weaviate's relative-score join). On 300 SciFact
queries this scored nDCG@10 0.738 against 0.727 for the whole text alone (docs/evaluation.md)."""
VECTORS = [schema.WHOLE_VECTOR, schema.PIECES_VECTOR]
_EMPTY_INDEX = "the index is empty; run `docduet ingest corpora/` (or your documents folder) first"
_HINT = "check `docduet db status` (or WEAVIATE_URL) and try again"
_UNREACHABLE = (
    WeaviateClosedClientError,
    WeaviateConnectionError,
    WeaviateGRPCUnavailableError,
    httpx.TransportError,
)


class WeaviateRetriever:
    """Hybrid (BM25 + vector, relativeScore fusion) search over the chunk collection or alias."""

    def __init__(
        self,
        client: weaviate.WeaviateClient,
        collection: str,
        embedder: Embedder,
        settings: Settings,
        *,
        stemmed: bool = True,
        pieces: bool = True,
    ) -> None:
        """Search ``collection`` (normally the alias ``settings.collection``) with ``client``.

        ``stemmed=False`` runs BM25 on the original fields with the query as typed, and
        ``pieces=False`` scores vectors by the chunks' whole text only; they exist so the
        evaluation can measure what stemming and piece vectors buy, and are not for chat.
        """
        self._client = client
        self._stemmed = stemmed
        self._pieces = pieces
        self._schema_checked = not stemmed
        self.collection_name = collection
        self._collection = client.collections.use(collection).with_consistency_level(
            consistency_level(settings.consistency_read)
        )
        self._embedder = embedder
        self._alpha = settings.alpha
        self._top_k = settings.top_k
        self._min_similarity = settings.score_threshold
        self._min_piece_similarity = settings.piece_score_threshold

    def retrieve(
        self,
        query: str,
        *,
        user: User,
        filters: SearchFilters | None = None,
        top_k: int | None = None,
    ) -> list[Hit]:
        """Hybrid search restricted to ``user``'s groups and ``filters``; best first.

        Hits below ``settings.score_threshold`` cosine similarity and near-duplicates of better
        hits are dropped. Raises :class:`RetrievalError` when the index does not exist and
        :class:`BackendUnavailableError` when Weaviate cannot be reached.
        """
        k = self._top_k if top_k is None else top_k
        if k < 1:
            raise RetrievalError(f"top_k must be at least 1, got {k}; pass a positive number")
        if not query.strip():
            return []
        started = time.perf_counter()
        self._ensure_index()
        vector = self._embedder.embed_query(query)
        candidates = self._search(query, vector, user, filters, limit=k * OVERFETCH)
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

    def _search(
        self,
        query: str,
        vector: list[float],
        user: User,
        filters: SearchFilters | None,
        *,
        limit: int,
    ) -> list[Candidate]:
        keywords = query_terms(query) if self._stemmed else query
        hybrid = self._collection.query.hybrid
        if self._pieces:  # the whole text and the best piece (MaxSim), each normalised per query
            target: Any = TargetVectors.relative_score(
                {schema.WHOLE_VECTOR: 1 - PIECE_WEIGHT, schema.PIECES_VECTOR: PIECE_WEIGHT}
            )
            query_vector: Any = {schema.WHOLE_VECTOR: vector, schema.PIECES_VECTOR: [vector]}
        else:
            target, query_vector = schema.WHOLE_VECTOR, vector
        try:  # a read: retried when a replica dropped out mid-request
            result = with_retries(lambda: hybrid(
                keywords,
                vector=query_vector,
                target_vector=target,
                alpha=self._alpha if keywords.strip() else 1.0,  # only stop words: vectors alone
                fusion_type=HybridFusion.RELATIVE_SCORE,
                query_properties=SEARCH_PROPERTIES if self._stemmed else PLAIN_PROPERTIES,
                filters=build_where(user, filters),
                limit=limit,
                include_vector=VECTORS,
                return_metadata=MetadataQuery(score=True),
                return_properties=RETURN_PROPERTIES,
            ), retries=READ_RETRIES, what="search")  # fmt: skip
        except STORE_ERRORS as e:
            raise self._failure(e) from e
        wholes = [_vector_of(obj.vector, schema.WHOLE_VECTOR) for obj in result.objects]
        pieces = [_pieces_of(obj.vector) if self._pieces else [] for obj in result.objects]
        similar = zip(cosines(vector, wholes), best_piece_cosines(vector, pieces), strict=True)
        return [
            _candidate(obj, v, whole, piece)
            for obj, v, (whole, piece) in zip(result.objects, wholes, similar, strict=True)
        ]

    def _ensure_index(self) -> None:
        """Fail fast (about 1 ms on loopback) when the server is down or the index is missing.

        Without this, weaviate-client retries an unreachable gRPC search for 63 s before it raises.
        """
        try:
            exists = with_retries(
                lambda: self._client.collections.exists(self.collection_name),
                retries=READ_RETRIES, what="checking the index",
            )  # fmt: skip
        except STORE_ERRORS as e:
            hint = too_few_replicas(e) or f"Weaviate is unreachable: {e}; {_HINT}"
            raise BackendUnavailableError(hint) from e
        if not exists:
            raise RetrievalError(_EMPTY_INDEX)
        if not self._schema_checked:  # once per retriever: the stemmed fields must be there
            problem = schema.index_problem(self._client, self.collection_name)
            if problem is not None:
                raise RetrievalError(problem)
            self._schema_checked = True

    def _failure(self, error: Exception) -> DocduetError:
        """Tell a missing index from an unreachable server from any other failed search."""
        replicas = too_few_replicas(error)
        if replicas is not None:
            return BackendUnavailableError(replicas)
        if isinstance(error, _UNREACHABLE) or "UNAVAILABLE" in str(error):
            return BackendUnavailableError(f"Weaviate is unreachable: {error}; {_HINT}")
        if "could not find class" in str(error):
            return RetrievalError(_EMPTY_INDEX)
        return RetrievalError(
            f"search in {self.collection_name!r} failed: {error}; check the Weaviate log "
            "(`docduet db status`)"
        )


def _candidate(
    obj: Any, vector: tuple[float, ...], whole: float | None, piece: float | None
) -> Candidate:
    """The hit's similarity is its best part's: the whole text or one piece."""
    score = obj.metadata.score if obj.metadata is not None else None
    chunk = chunk_from_properties(str(obj.uuid), obj.properties)
    known = [s for s in (whole, piece) if s is not None]
    hit = Hit(chunk=chunk, score=float(score or 0.0), similarity=max(known) if known else None)
    return Candidate(hit=hit, vector=vector, whole_similarity=whole, piece_similarity=piece)


def _vector_of(raw: Mapping[str, Any] | list[float] | None, name: str) -> tuple[float, ...]:
    """The named vector ``name`` from ``include_vector`` (or the only one); () when absent."""
    if not raw:
        return ()
    if isinstance(raw, Mapping):
        value = raw.get(name)
        return tuple(map(float, value)) if value else ()
    return tuple(map(float, raw))


def _pieces_of(raw: Mapping[str, Any] | list[float] | None) -> list[tuple[float, ...]]:
    """The chunk's piece vectors from ``include_vector``; [] when absent."""
    value = raw.get(schema.PIECES_VECTOR) if isinstance(raw, Mapping) else None
    return [tuple(map(float, v)) for v in value] if value else []
