"""The ChunkIndex contract (tests/contract) against the Weaviate index, on a real weaviate-server.

Each index the contract makes gets a collection name of its own (``make_settings`` draws one), on
the session's server; the vectors' dimension is the contract's ``DIM``, given to ``ensure``.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import weaviate
from contract.chunk_index_contract import ChunkIndexContract, MakeIndex

from backends.weaviate.index import WeaviateChunkIndex
from core.settings import Settings


class TestWeaviateChunkIndex(ChunkIndexContract):
    @pytest.fixture
    def make_index(
        self, weaviate_client: weaviate.WeaviateClient, make_settings: Callable[..., Settings]
    ) -> MakeIndex:
        def make() -> WeaviateChunkIndex:
            settings = make_settings()
            return WeaviateChunkIndex(weaviate_client, settings.weaviate.collection, settings)

        return make
