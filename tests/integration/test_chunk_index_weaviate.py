"""The ChunkIndex contract (tests/contract) against the Weaviate index, on a real weaviate-server."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
import weaviate
from contract.chunk_index_contract import ChunkIndexContract, MakeIndex

from backends.weaviate.index import WeaviateChunkIndex
from core.settings import Settings

_names = itertools.count()


class TestWeaviateChunkIndex(ChunkIndexContract):
    @pytest.fixture
    def make_index(
        self, weaviate_client: weaviate.WeaviateClient, make_settings: Callable[..., Settings]
    ) -> MakeIndex:
        def make() -> WeaviateChunkIndex:
            settings = make_settings()
            return WeaviateChunkIndex(weaviate_client, f"{settings.collection}_{next(_names)}", settings)

        return make
