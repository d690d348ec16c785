"""The Embedder contract (tests/contract) against the packaged all-MiniLM-L6-v2, as the root builds it."""

from __future__ import annotations

import pytest
from contract.embedder_contract import EmbedderContract

from backends.sentence_transformers import SentenceTransformerEmbedder
from core.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder.from_settings(Settings())


class TestSentenceTransformerEmbedder(EmbedderContract):
    @pytest.fixture
    def embedder(self, minilm: SentenceTransformerEmbedder) -> SentenceTransformerEmbedder:
        return minilm
