"""The :class:`Retriever` seam and its Weaviate hybrid-search implementation.

Every search carries the caller's access filter inside the Weaviate query (see
:func:`retrieval.filters.build_where`); results are then thresholded on cosine similarity and
de-duplicated (:mod:`retrieval.ranking`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import httpx
import weaviate
from weaviate.classes.query import HybridFusion, MetadataQuery
from weaviate.exceptions import (
    WeaviateClosedClientError,
    WeaviateConnectionError,
    WeaviateGRPCUnavailableError,
)

from docduet.db import schema
from docduet.db.keywords import STEMMED_FIELDS, query_terms
from docduet.db.replication import (
    READ_RETRIES,
    STORE_ERRORS,
    consistency_level,
    too_few_replicas,
    with_retries,
)
from docduet.domain import Hit, User
from docduet.errors import BackendUnavailableError, DocduetError, RetrievalError
from docduet.settings import Settings
from ingest.embed import Embedder
from retrieval.filters import SearchFilters, build_where
from retrieval.ranking import Candidate, cosines, select
from retrieval.records import RETURN_PROPERTIES, chunk_from_properties

log = logging.getLogger(__name__)

OVERFETCH = 3
"""Fetch this many times ``top_k`` so de-duplication and the threshold still leave ``top_k``."""
SEARCH_PROPERTIES = list(STEMMED_FIELDS.values())
"""Properties the keyword (BM25) half of the hybrid search reads: the stemmed copies."""
PLAIN_PROPERTIES = list(STEMMED_FIELDS)
"""The unstemmed fields, for comparing against the stemmed search (evaluation only)."""
_EMPTY_INDEX = "the index is empty; run `docduet ingest corpora/` (or your documents folder) first"
_HINT = "check `docduet db status` (or WEAVIATE_URL) and try again"
_UNREACHABLE = (
    WeaviateClosedClientError,
    WeaviateConnectionError,
    WeaviateGRPCUnavailableError,
    httpx.TransportError,
)


@runtime_checkable
class Retriever(Protocol):
    """Finds the passages a user may read that best answer a query."""

    def retrieve(
        self,
        query: str,
        *,
        user: User,
        filters: SearchFilters | None = None,
        top_k: int | None = None,
    ) -> list[Hit]:
        """At most ``top_k`` hits (default: settings), best first, all readable by ``user``."""
        ...


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
    ) -> None:
        """Search ``collection`` (normally the alias ``settings.collection``) with ``client``.

        ``stemmed=False`` runs BM25 on the original fields with the query as typed; it exists so
        the evaluation can measure what stemming buys, and is not for chat.
        """
        self._client = client
        self._stemmed = stemmed
        self._schema_checked = not stemmed
        self.collection_name = collection
        self._collection = client.collections.use(collection).with_consistency_level(
            consistency_level(settings.consistency_read)
        )
        self._embedder = embedder
        self._alpha = settings.alpha
        self._top_k = settings.top_k
        self._min_similarity = settings.score_threshold

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
        hits = select(candidates, top_k=k, min_similarity=self._min_similarity)
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
        try:  # a read: retried when a replica dropped out mid-request
            result = with_retries(lambda: hybrid(
                keywords,
                vector=vector,
                alpha=self._alpha if keywords.strip() else 1.0,  # only stop words: vectors alone
                fusion_type=HybridFusion.RELATIVE_SCORE,
                query_properties=SEARCH_PROPERTIES if self._stemmed else PLAIN_PROPERTIES,
                filters=build_where(user, filters),
                limit=limit,
                include_vector=True,
                return_metadata=MetadataQuery(score=True),
                return_properties=RETURN_PROPERTIES,
            ), retries=READ_RETRIES, what="search")  # fmt: skip
        except STORE_ERRORS as e:
            raise self._failure(e) from e
        vectors = [_vector_of(obj.vector) for obj in result.objects]
        similarities = cosines(vector, vectors)
        return [
            _candidate(obj, v, sim) for obj, v, sim in zip(result.objects, vectors, similarities, strict=True)
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
            problem = schema.keyword_problem(self._client, self.collection_name)
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


def _candidate(obj: Any, vector: tuple[float, ...], similarity: float | None) -> Candidate:
    score = obj.metadata.score if obj.metadata is not None else None
    chunk = chunk_from_properties(str(obj.uuid), obj.properties)
    hit = Hit(chunk=chunk, score=float(score or 0.0), similarity=similarity)
    return Candidate(hit=hit, vector=vector)


def _vector_of(raw: Mapping[str, Any] | list[float] | None) -> tuple[float, ...]:
    """The chunk's vector from ``include_vector``: the "default" named vector, or the only one."""
    if not raw:
        return ()
    if isinstance(raw, Mapping):
        value = raw.get("default", next(iter(raw.values())))
        return tuple(map(float, value))
    return tuple(map(float, raw))
