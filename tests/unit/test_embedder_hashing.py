"""The Embedder contract (tests/contract) against the hashing embedder the unit tests use."""

from __future__ import annotations

import pytest
from contract.embedder_contract import EmbedderContract
from fakes import HashingEmbedder


class TestHashingEmbedder(EmbedderContract):
    @pytest.fixture
    def embedder(self) -> HashingEmbedder:
        return HashingEmbedder(dim=64, max_tokens=32)
