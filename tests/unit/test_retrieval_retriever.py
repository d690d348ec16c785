"""HybridRetriever over the Weaviate chunk index with a stand-in client: query shape, hits, errors.

The real Weaviate is exercised in tests/integration/test_retrieval.py; here the client is a stub so
the retriever's own logic (what it asks for, what it does with the answer) runs without services.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from weaviate.classes.query import HybridFusion
from weaviate.exceptions import (
    WeaviateClosedClientError,
    WeaviateConnectionError,
    WeaviateQueryError,
)

from backends.weaviate.index import WeaviateChunkIndex
from backends.weaviate.keywords import ANALYZER
from core.domain import ANONYMOUS, Sensitivity, User
from core.errors import BackendUnavailableError, RetrievalError
from core.filters import SearchFilters
from core.protocols import Retriever
from core.settings import Settings
from retrieval.retriever import OVERFETCH, HybridRetriever

QUERY_VECTOR = [1.0, 0.0, 0.0]


class StubEmbedder:
    name, dim = "stub", 3

    def embed_query(self, text: str) -> list[float]:
        return list(QUERY_VECTOR)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [list(QUERY_VECTOR) for _ in texts]


CURRENT_SCHEMA = ("text", "title", "section", "text_stemmed", "title_stemmed", "section_stemmed")


class StubClient:
    """Records hybrid() calls; answers with ``objects`` or raises ``error``.

    Its collection has the properties ``schema`` and the keyword analyzer ``analyzer``.
    """

    def __init__(
        self,
        objects: list[Any] = (),
        error: Exception | None = None,
        exists: Any = True,
        schema: tuple[str, ...] = CURRENT_SCHEMA,
        analyzer: str | None = ANALYZER,
        vectors: tuple[str, ...] = ("default", "pieces"),
    ):
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.objects, self.error, self._exists = list(objects), error, exists
        self.collections = self
        self.alias = SimpleNamespace(get=lambda alias_name: None)
        self.config_reads = 0
        self._config = SimpleNamespace(
            properties=[SimpleNamespace(name=n) for n in schema],
            description=json.dumps({"schema": 3, "keywords": analyzer}),
            vector_config={name: SimpleNamespace() for name in vectors},
        )

    def use(self, name: str) -> Any:
        collection = SimpleNamespace(
            query=SimpleNamespace(hybrid=self._hybrid), config=SimpleNamespace(get=self._read_config)
        )
        collection.with_consistency_level = lambda level: collection
        return collection

    def _read_config(self) -> Any:
        self.config_reads += 1
        return self._config

    def exists(self, name: str) -> bool:
        if isinstance(self._exists, Exception):
            raise self._exists
        return bool(self._exists)

    def _hybrid(self, query: str, **kwargs: Any) -> Any:
        self.calls.append((query, kwargs))
        if self.error is not None:
            raise self.error
        return SimpleNamespace(objects=self.objects)


def obj(
    n: int,
    text: str,
    vector: list[float],
    score: float,
    pieces: list[list[float]] | None = None,
    **props: Any,
) -> Any:
    properties = {
        "text": text, "title": "Handbook", "section": "Leave", "source": f"/c/{n}.md",
        "root": "/c", "doc_type": "md", "content_hash": "h", "sensitivity": "internal",
        "access_groups": ["employees"], "page": None, "chunk_index": n,
        "modified": datetime(2025, 2, 1, tzinfo=UTC), **props,
    }  # fmt: skip
    return SimpleNamespace(
        uuid=f"00000000-0000-0000-0000-{n:012d}", properties=properties,
        vector={"default": vector, "pieces": pieces or [vector]},
        metadata=SimpleNamespace(score=score),
    )  # fmt: skip


def weaviate_retriever(client: StubClient, settings: Settings, **options: bool) -> HybridRetriever:
    index = WeaviateChunkIndex(client, "Chunks", settings)  # type: ignore[arg-type]
    return HybridRetriever(index, StubEmbedder(), settings.retrieval, **options)  # type: ignore[arg-type]


def retriever(client: StubClient, **settings: Any) -> HybridRetriever:
    base = {"top_k": 2, "alpha": 0.4, "score_threshold": 0.3, **settings}
    return weaviate_retriever(client, Settings(**base))


def test_is_a_retriever():
    assert isinstance(retriever(StubClient()), Retriever)


def test_query_is_hybrid_relative_score_with_access_filter_and_overfetch():
    client = StubClient()
    retriever(client).retrieve("parental leave", user=ANONYMOUS, filters=SearchFilters(doc_types=("md",)))
    ((query, kw),) = client.calls
    assert query == "parent leav"  # BM25 reads stemmed fields with the stemmed query
    assert kw["vector"] == {"default": QUERY_VECTOR, "pieces": [QUERY_VECTOR]}
    join = kw["target_vector"]  # the whole text and the best piece, normalised per query
    assert join.target_vectors == ["default", "pieces"] and join.weights == {"default": 0.5, "pieces": 0.5}
    assert kw["alpha"] == 0.4 and kw["fusion_type"] == HybridFusion.RELATIVE_SCORE
    assert kw["query_properties"] == ["text_stemmed", "title_stemmed", "section_stemmed"]
    assert kw["limit"] == 2 * OVERFETCH and kw["include_vector"] == ["default", "pieces"]
    where = kw["filters"]
    assert where.filters[0].target == "access_groups" and where.filters[0].value == ["public"]


def test_unstemmed_search_reads_the_original_fields_with_the_query_as_typed():
    client = StubClient(schema=("text", "title", "section"), analyzer=None)
    weaviate_retriever(client, Settings(alpha=0.4), stemmed=False).retrieve(
        "Parental Policies", user=ANONYMOUS
    )  # type: ignore[arg-type]
    ((query, kw),) = client.calls
    assert query == "Parental Policies" and kw["query_properties"] == ["text", "title", "section"]
    assert client.config_reads == 0


def test_a_query_of_stop_words_only_searches_by_vector_alone():
    client = StubClient()
    retriever(client).retrieve("Is it the one?", user=ANONYMOUS)
    ((query, kw),) = client.calls
    assert query == "one" and kw["alpha"] == 0.4
    client = StubClient()
    retriever(client).retrieve("is it THE", user=ANONYMOUS)
    ((query, kw),) = client.calls
    assert query == "" and kw["alpha"] == 1.0


def test_an_index_without_stemmed_fields_is_reported_before_searching():
    client = StubClient(schema=("text", "title", "section"), analyzer=None)
    with pytest.raises(RetrievalError, match=r"reindex --full") as info:
        retriever(client).retrieve("leave", user=ANONYMOUS)
    assert "text_stemmed" in str(info.value) and client.calls == []


def test_an_index_without_piece_vectors_is_reported_before_searching():
    client = StubClient(vectors=("default",))
    with pytest.raises(RetrievalError, match=r"without piece vectors.*reindex --full"):
        retriever(client).retrieve("leave", user=ANONYMOUS)
    assert client.calls == []


def test_whole_text_search_targets_the_chunk_vector_alone():
    client = StubClient()
    weaviate_retriever(client, Settings(), pieces=False).retrieve(
        "leave", user=ANONYMOUS
    )  # type: ignore[arg-type]
    ((_, kw),) = client.calls
    assert kw["vector"] == QUERY_VECTOR and kw["target_vector"] == "default"


def test_a_long_chunk_is_as_similar_as_its_best_piece():
    client = StubClient([
        # the whole text is about something else (cosine 0.1, under the 0.3 floor); one piece answers
        obj(1, "Remote work. Anchor days are Tuesday and Thursday. Home office budget.",
            [0.1, 0.995, 0.0], 0.9, pieces=[[0.0, 1.0, 0.0], [0.8, 0.6, 0.0], [0.0, 0.0, 1.0]]),
        obj(2, "Off topic.", [0.1, 0.995, 0.0], 0.8, pieces=[[0.0, 1.0, 0.0]]),
    ])  # fmt: skip
    carol = User("carol", ("employees",))
    hits = retriever(client, piece_score_threshold=0.5).retrieve("anchor days", user=carol)
    assert [h.chunk.source for h in hits] == ["/c/1.md"]
    assert hits[0].similarity == pytest.approx(0.8)
    assert retriever(client, piece_score_threshold=0.9).retrieve("anchor days", user=ANONYMOUS) == []


def test_an_index_stemmed_by_another_analyzer_is_reported():
    client = StubClient(analyzer="porter-0")
    with pytest.raises(RetrievalError, match=r"'porter-0'.*reindex --full"):
        retriever(client).retrieve("leave", user=ANONYMOUS)


def test_the_schema_is_checked_once_per_retriever():
    client = StubClient()
    searcher = retriever(client)
    searcher.retrieve("leave", user=ANONYMOUS)
    searcher.retrieve("holidays", user=ANONYMOUS)
    assert client.config_reads == 1 and len(client.calls) == 2


def test_explicit_top_k_overrides_settings():
    client = StubClient()
    retriever(client).retrieve("q", user=ANONYMOUS, top_k=7)
    assert client.calls[0][1]["limit"] == 7 * OVERFETCH


def test_hits_are_domain_objects_thresholded_and_deduplicated():
    client = StubClient([
        obj(1, "Parental leave is 4 weeks.", [0.9, 0.1, 0.0], 1.0, page=3, sensitivity="confidential"),
        obj(2, "parental leave is 4 weeks", [0.0, 1.0, 0.0], 0.8),  # same text
        obj(3, "Off topic.", [0.1, 0.99, 0.0], 0.7),  # similarity ~0.1 < 0.3
        obj(4, "Sick leave.", [0.6, 0.0, 0.8], 0.5),
    ])  # fmt: skip
    hits = retriever(client).retrieve("leave", user=User("carol", ("employees",)))
    assert [h.chunk.source for h in hits] == ["/c/1.md", "/c/4.md"]
    first = hits[0]
    assert first.score == 1.0 and first.similarity == pytest.approx(0.9 / (0.82**0.5))
    assert first.chunk.chunk_id == "00000000-0000-0000-0000-000000000001"
    assert first.chunk.page == 3 and first.chunk.access.sensitivity is Sensitivity.CONFIDENTIAL
    assert first.chunk.access.groups == ("employees",)
    assert first.chunk.modified == datetime(2025, 2, 1, tzinfo=UTC)


def test_unknown_sensitivity_is_treated_as_confidential():
    client = StubClient([obj(1, "x", QUERY_VECTOR, 1.0, sensitivity="top-secret")])
    (hit,) = retriever(client).retrieve("x", user=ANONYMOUS)
    assert hit.chunk.access.sensitivity is Sensitivity.CONFIDENTIAL


def test_blank_query_searches_nothing_and_bad_top_k_is_an_error():
    client = StubClient()
    assert retriever(client).retrieve("  ", user=ANONYMOUS) == []
    assert client.calls == []
    with pytest.raises(RetrievalError, match="top_k"):
        retriever(client).retrieve("q", user=ANONYMOUS, top_k=0)


def test_missing_index_is_found_before_searching():
    client = StubClient(exists=False)
    with pytest.raises(RetrievalError, match="docduet ingest"):
        retriever(client).retrieve("q", user=ANONYMOUS)
    assert client.calls == []


def test_unreachable_server_is_found_before_searching():
    client = StubClient(exists=WeaviateConnectionError("refused"))
    with pytest.raises(BackendUnavailableError, match="docduet db status") as info:
        retriever(client).retrieve("q", user=ANONYMOUS)
    assert isinstance(info.value.__cause__, WeaviateConnectionError)
    assert client.calls == [], "no search, so no 63 s of client-side gRPC retries"


def test_index_dropped_between_check_and_search_says_to_ingest():
    client = StubClient(error=WeaviateQueryError("could not find class Chunks in schema", "GRPC"))
    with pytest.raises(RetrievalError, match="docduet ingest") as info:
        retriever(client).retrieve("q", user=ANONYMOUS)
    assert isinstance(info.value.__cause__, WeaviateQueryError)


def test_server_lost_during_search_is_backend_unavailable():
    message = "failed after 5 retries. Details: <_InactiveRpcError status = StatusCode.UNAVAILABLE>"
    client = StubClient(error=WeaviateQueryError(message, "GRPC search"))
    with pytest.raises(BackendUnavailableError) as info:
        retriever(client).retrieve("q", user=ANONYMOUS)
    assert isinstance(info.value.__cause__, WeaviateQueryError)


def test_other_query_error_is_a_retrieval_error():
    client = StubClient(error=WeaviateQueryError("bad bm25 input", "GRPC"))
    with pytest.raises(RetrievalError, match="bad bm25 input"):
        retriever(client).retrieve("q", user=ANONYMOUS)


def test_an_index_still_loading_after_a_restart_is_retried_then_backend_unavailable():
    loading = "Query call with protocol GRPC search failed: browse non-existing index for Chunks_1"
    client = StubClient(error=WeaviateQueryError(loading, "GRPC"))
    with pytest.raises(BackendUnavailableError, match="still loading the index"):
        retriever(client).retrieve("q", user=ANONYMOUS)
    assert len(client.calls) == 3  # the search and its two retries


def test_closed_client_is_backend_unavailable():
    client = StubClient(error=WeaviateClosedClientError())
    with pytest.raises(BackendUnavailableError):
        retriever(client).retrieve("q", user=ANONYMOUS)
