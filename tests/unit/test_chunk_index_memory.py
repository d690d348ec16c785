"""The ChunkIndex contract (tests/contract) against the in-memory index the unit tests use."""

from __future__ import annotations

import pytest
from contract.chunk_index_contract import ChunkIndexContract, MakeIndex

from backends.memory import MemoryChunkIndex


class TestMemoryChunkIndex(ChunkIndexContract):
    @pytest.fixture
    def make_index(self) -> MakeIndex:
        return MemoryChunkIndex
