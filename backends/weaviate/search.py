"""The hybrid search of the Weaviate chunk index (BM25 + vectors, relative-score fusion).

Every search carries the asker's access filter inside the Weaviate query
(:func:`backends.weaviate.filters.build_where`); scoring the results (similarity floors,
near-duplicates) is the retriever's job (:mod:`retrieval.retriever`).
"""

from __future__ import annotations

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
from backends.weaviate.records import RETURN_PROPERTIES, chunk_from_properties
from backends.weaviate.replication import (
    READ_RETRIES,
    STORE_ERRORS,
    consistency_level,
    too_few_replicas,
    with_retries,
)
from core.errors import BackendUnavailableError, DocduetError, RetrievalError
from core.index import Found, SearchRequest

SEARCH_PROPERTIES = list(STEMMED_FIELDS.values())
"""Properties the keyword (BM25) half of the hybrid search reads: the stemmed copies."""
PLAIN_PROPERTIES = list(STEMMED_FIELDS)
"""The unstemmed fields, for comparing against the stemmed search (evaluation only)."""
PIECE_WEIGHT = 0.5
"""Share of the best piece in a chunk's vector score; the whole text has the rest.
Both scores are normalised per query first (Weaviate's relative-score join). On 300 SciFact
queries this scored nDCG@10 0.738 against 0.727 for the whole text alone (docs/evaluation.md)."""
VECTORS = [schema.WHOLE_VECTOR, schema.PIECES_VECTOR]
EMPTY_INDEX = "the index is empty; run `docduet ingest corpora/` (or your documents folder) first"
_HINT = "check `docduet db status` (or WEAVIATE_URL) and try again"
_UNREACHABLE = (
    WeaviateClosedClientError,
    WeaviateConnectionError,
    WeaviateGRPCUnavailableError,
    httpx.TransportError,
)


class WeaviateSearch:
    """Hybrid search over one collection or alias, read at ``consistency``."""

    def __init__(self, client: weaviate.WeaviateClient, name: str, *, consistency: str = "ONE") -> None:
        self._client = client
        self.name = name
        self._collection = client.collections.use(name).with_consistency_level(
            consistency_level(consistency)
        )
        self._schema_checked = False

    def search(self, request: SearchRequest) -> list[Found]:
        """At most ``request.limit`` chunks ``request.user`` may read, best first.

        Raises :class:`RetrievalError` when the index does not exist (or predates this docduet)
        and :class:`BackendUnavailableError` when Weaviate cannot be reached.
        """
        self._ensure_index(request.stemmed)
        keywords = query_terms(request.text) if request.stemmed else request.text
        vector = list(request.vector)
        if request.pieces:  # the whole text and the best piece (MaxSim), each normalised per query
            target: Any = TargetVectors.relative_score(
                {schema.WHOLE_VECTOR: 1 - PIECE_WEIGHT, schema.PIECES_VECTOR: PIECE_WEIGHT}
            )
            query_vector: Any = {schema.WHOLE_VECTOR: vector, schema.PIECES_VECTOR: [vector]}
        else:
            target, query_vector = schema.WHOLE_VECTOR, vector
        hybrid = self._collection.query.hybrid
        try:  # a read: retried when a replica dropped out mid-request
            result = with_retries(lambda: hybrid(
                keywords,
                vector=query_vector,
                target_vector=target,
                alpha=request.alpha if keywords.strip() else 1.0,  # only stop words: vectors alone
                fusion_type=HybridFusion.RELATIVE_SCORE,
                query_properties=SEARCH_PROPERTIES if request.stemmed else PLAIN_PROPERTIES,
                filters=build_where(request.user, request.filters),
                limit=request.limit,
                include_vector=VECTORS,
                return_metadata=MetadataQuery(score=True),
                return_properties=RETURN_PROPERTIES,
            ), retries=READ_RETRIES, what="search")  # fmt: skip
        except STORE_ERRORS as e:
            raise self._failure(e) from e
        return [_found(obj, request.pieces) for obj in result.objects]

    def _ensure_index(self, stemmed: bool) -> None:
        """Fail fast (about 1 ms on loopback) when the server is down or the index is missing.

        Without this, weaviate-client retries an unreachable gRPC search for 63 s before it raises.
        """
        try:
            exists = with_retries(
                lambda: self._client.collections.exists(self.name),
                retries=READ_RETRIES, what="checking the index",
            )  # fmt: skip
        except STORE_ERRORS as e:
            hint = too_few_replicas(e) or f"Weaviate is unreachable: {e}; {_HINT}"
            raise BackendUnavailableError(hint) from e
        if not exists:
            raise RetrievalError(EMPTY_INDEX)
        if stemmed and not self._schema_checked:  # once: the stemmed fields must be there
            problem = schema.index_problem(self._client, self.name)
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
            return RetrievalError(EMPTY_INDEX)
        if "non-existing index" in str(error):
            return BackendUnavailableError(
                "Weaviate is still loading the index (a node was just restarted?); try again in a "
                f"few seconds, or {_HINT}"
            )
        return RetrievalError(
            f"search in {self.name!r} failed: {error}; check the Weaviate log (`docduet db status`)"
        )


def _found(obj: Any, pieces: bool) -> Found:
    score = obj.metadata.score if obj.metadata is not None else None
    return Found(
        chunk=chunk_from_properties(str(obj.uuid), obj.properties),
        score=float(score or 0.0),
        vector=_vector_of(obj.vector, schema.WHOLE_VECTOR),
        pieces=tuple(_pieces_of(obj.vector)) if pieces else (),
    )


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
