"""The real sentence-transformers embedder with the packaged all-MiniLM-L6-v2."""

from __future__ import annotations

import math

import pytest

from backends.sentence_transformers import (
    PACKAGED_MODEL_NAME,
    SentenceTransformerEmbedder,
    default_embedding_model_path,
)
from core.settings import Settings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def embedder() -> SentenceTransformerEmbedder:
    return SentenceTransformerEmbedder.from_settings(Settings(embedding_threads=1))


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_packaged_model(embedder: SentenceTransformerEmbedder) -> None:
    assert embedder.name == PACKAGED_MODEL_NAME
    assert embedder.dim == 384


def test_vectors_are_normalized_and_ordered(embedder: SentenceTransformerEmbedder) -> None:
    texts = ["Hotel stays in London are capped at 180 GBP a night.", "Reset your VPN profile."]
    vectors = embedder.embed_documents(texts)
    assert len(vectors) == 2 and all(len(v) == 384 for v in vectors)
    assert all(math.isclose(math.sqrt(cosine(v, v)), 1.0, rel_tol=1e-4) for v in vectors)
    assert embedder.embed_documents([texts[1]])[0] == pytest.approx(vectors[1], abs=1e-5)
    assert embedder.embed_documents([]) == []


def test_related_texts_are_closer(embedder: SentenceTransformerEmbedder) -> None:
    query = embedder.embed_query("How much can I spend on a hotel in London?")
    hotel, vpn = embedder.embed_documents(
        [
            "Hotel stays in London are capped at 180 GBP a night.",
            "To connect to the VPN, install WireGuard and import the profile.",
        ]
    )
    assert cosine(query, hotel) > cosine(query, vpn) + 0.2


def test_an_explicit_model_path_works_the_same(embedder: SentenceTransformerEmbedder) -> None:
    path = default_embedding_model_path()
    explicit = SentenceTransformerEmbedder.from_settings(
        Settings(embedding_model=str(path), embedding_threads=1)
    )
    assert explicit.name == str(path) and explicit.dim == 384
    text = "Expenses over 500 GBP need a director's approval."
    assert explicit.embed_query(text) == pytest.approx(embedder.embed_query(text), abs=1e-5)
