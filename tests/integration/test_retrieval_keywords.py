"""Stemmed keyword search and token-sized chunks through the real weaviate-server and embedder."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import weaviate
from index_parts import retriever_of
from weaviate.classes.config import Configure, VectorDistances
from weaviate.classes.data import DataObject

from backends.weaviate import schema
from backends.weaviate.client import open_client
from backends.weaviate.keywords import STEMMED_FIELDS
from core.domain import User
from core.errors import ConfigError, RetrievalError
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import build_embedder, run_ingest, run_reindex
from retrieval.retriever import HybridRetriever

pytestmark = pytest.mark.integration

READER = User("reader", ("employees",))
DOCUMENTS = {
    "remote-work.md": "# Remote work\n\nThe remote work policy allows two days a week at home, "
    "agreed with your manager in advance.",
    "canteen.md": "# Canteen\n\nThe canteen serves lunch from noon until two, with a vegetarian "
    "dish every day.",
    "parking.md": "# Parking\n\nStaff parking permits are issued by facilities each January.",
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in DOCUMENTS.items():
        (docs / name).write_text(text, encoding="utf-8")
    return docs


def keyword_only(
    settings: Settings, client: weaviate.WeaviateClient, *, stemmed: bool = True
) -> HybridRetriever:
    """BM25 alone (alpha 0), nothing cut by the similarity floor: ranks come from keywords only."""
    local = settings.replace(alpha=0.0, score_threshold=-1.0)
    return retriever_of(client, local, collection=settings.weaviate.collection, stemmed=stemmed)


def test_a_plural_query_finds_the_singular_chunk_first(
    make_settings: Callable[..., Settings], folder: Path
) -> None:
    settings = make_settings()
    assert run_ingest(settings, [folder], progress=NullProgress()).failed == []
    with open_client(settings, autostart=False) as client:
        hits = keyword_only(settings, client).retrieve("policies", user=READER, top_k=3)
        assert hits and hits[0].chunk.source.endswith("remote-work.md")
        assert "policy" in hits[0].chunk.text and "polici" not in hits[0].chunk.text  # shown as written
        unstemmed = keyword_only(settings, client, stemmed=False).retrieve("policies", user=READER, top_k=3)
        assert not any(h.chunk.source.endswith("remote-work.md") for h in unstemmed)
        stored = client.collections.use(settings.weaviate.collection).query.fetch_objects(limit=10).objects
        assert all(o.properties["text_stemmed"] for o in stored)
        only_stop_words = keyword_only(settings, client).retrieve("is it the", user=READER, top_k=3)
        assert len(only_stop_words) == 3  # searched by vector alone, no error


def test_long_documents_become_chunks_the_embedder_reads_whole(
    make_settings: Callable[..., Settings], folder: Path
) -> None:
    sentences = [f"Clause {n} of the handbook sets out rule number {n} for every office." for n in range(120)]
    (folder / "handbook.md").write_text("# Handbook\n\n" + " ".join(sentences), encoding="utf-8")
    settings = make_settings()
    run_ingest(settings, [folder], progress=NullProgress())
    window = build_embedder(settings).window  # type: ignore[attr-defined]
    with open_client(settings, autostart=False) as client:
        objects = client.collections.use(settings.weaviate.collection).query.fetch_objects(limit=100).objects
    handbook = sorted(
        (o.properties for o in objects if str(o.properties["source"]).endswith("handbook.md")),
        key=lambda p: int(p["chunk_index"]),  # type: ignore[call-overload]
    )
    assert len(handbook) >= 4
    assert all(window.count(str(p["text"])) <= window.max_tokens for p in handbook)
    assert "rule number 119 " in str(handbook[-1]["text"])  # the tail is in a chunk of its own


def make_old_index(client: weaviate.WeaviateClient, settings: Settings, folder: Path) -> str:
    """A schema-1 index as an earlier docduet built it: no stemmed fields, one chunk."""
    name = f"{settings.weaviate.collection}_20250101000000000000"
    embedder = build_embedder(settings)
    client.collections.create(
        name=name,
        description=json.dumps({"schema": 1, "embedding_model": embedder.name, "dim": embedder.dim}),
        properties=[p for p in schema.PROPERTIES if p.name not in STEMMED_FIELDS.values()],
        vector_config=Configure.Vectors.self_provided(
            vector_index_config=Configure.VectorIndex.hnsw(distance_metric=VectorDistances.COSINE)
        ),
    )
    text = DOCUMENTS["remote-work.md"]
    client.collections.use(name).data.insert_many([
        DataObject(
            properties={
                "text": text, "title": "Remote work", "section": "Remote work",
                "source": str(folder / "remote-work.md"), "root": str(folder), "doc_type": "md",
                "content_hash": "old", "sensitivity": "internal", "access_groups": ["employees"],
                "chunk_index": 0, "chunk_count": 1, "modified": datetime(2025, 1, 1, tzinfo=UTC),
            },
            vector=embedder.embed_documents([text])[0],
        )
    ])  # fmt: skip
    schema.point_alias(client, settings.weaviate.collection, name)
    return name


def test_an_index_built_before_stemming_is_reported_and_rebuilt_by_reindex_full(
    make_settings: Callable[..., Settings], folder: Path
) -> None:
    settings = make_settings()
    with open_client(settings, autostart=False) as client:
        old = make_old_index(client, settings, folder)
        searcher = retriever_of(client, settings)
        with pytest.raises(RetrievalError, match=r"text_stemmed.*docduet reindex --full"):
            searcher.retrieve("remote work policies", user=READER)
    with pytest.raises(ConfigError, match=r"docduet reindex --full"):
        run_ingest(settings, [folder], progress=NullProgress())
    summary = run_reindex(settings, progress=NullProgress(), full=True)
    assert summary.failed == []
    with open_client(settings, autostart=False) as client:
        assert schema.resolve_alias(client, settings.weaviate.collection) != old
        assert schema.index_problem(client, settings.weaviate.collection) is None
        hits = keyword_only(settings, client).retrieve("policies", user=READER, top_k=3)
    assert hits and hits[0].chunk.source.endswith("remote-work.md")
