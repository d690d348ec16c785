"""Short ways for integration tests to reach the real Weaviate index through an open client."""

from __future__ import annotations

from typing import Any

import weaviate

from backends.weaviate.index import WeaviateChunkIndex
from core.protocols import Embedder
from core.settings import Settings
from docduet.compose import build_embedder
from retrieval.retriever import HybridRetriever


def index_of(
    client: weaviate.WeaviateClient, settings: Settings, collection: str | None = None
) -> WeaviateChunkIndex:
    """The chunk index ``collection`` (default: ``settings.weaviate.collection``) on ``client``."""
    return WeaviateChunkIndex(client, collection or settings.weaviate.collection, settings)


def retriever_of(
    client: weaviate.WeaviateClient,
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    collection: str | None = None,
    **options: Any,
) -> HybridRetriever:
    """docduet's retriever over ``collection`` (default: ``settings.weaviate.collection``) on ``client``."""
    index = index_of(client, settings, collection)
    return HybridRetriever(index, embedder or build_embedder(settings), settings.retrieval, **options)
