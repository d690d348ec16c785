"""The real sentence-transformers embedder with the packaged all-MiniLM-L6-v2."""

from __future__ import annotations

import itertools
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


SITE = (
    "Cycle racks are in the basement; locker keys come from reception. "
    "The canteen serves lunch from 12:00 to 14:00 with a vegan dish every day. "
    "In an evacuation, gather at the muster point on the riverside lawn."
)


def test_late_spans_come_from_the_texts_own_pass(embedder: SentenceTransformerEmbedder) -> None:
    text = f"  {SITE}\n"
    cuts = [0, SITE.index("The canteen"), SITE.index("In an"), len(SITE)]
    spans = list(itertools.pairwise(cuts))
    ((whole, pieces),) = embedder.embed_spans([text], [spans])
    assert cosine(whole, embedder.embed_documents([SITE])[0]) > 0.999  # the usual vector
    assert len(pieces) == 3 and all(math.isclose(cosine(p, p), 1.0, rel_tol=1e-5) for p in pieces)
    apart = embedder.embed_documents([SITE[a:b] for a, b in spans])
    for i, piece in enumerate(pieces):  # each late piece is nearest its own sentence encoded apart
        assert max(range(3), key=lambda j: cosine(piece, apart[j])) == i
    ((_, everything),) = embedder.embed_spans([SITE], [[(0, len(SITE))]])
    assert cosine(everything[0], whole) > 0.97  # the mean of all its tokens is nearly its vector
    assert embedder.embed_spans([], []) == []


def test_counting_tokens_leaves_the_encoders_tokenizer_alone(
    embedder: SentenceTransformerEmbedder,
) -> None:
    # Ingestion counts tokens on its parse thread while the model encodes on another; a fast
    # tokenizer keeps padding as state that each call rewrites, so a shared one loses the batch's.
    embedder.embed_documents(["short", "a much longer text " * 20])
    backend = embedder._model.tokenizer.backend_tokenizer
    padding = backend.padding
    assert padding is not None
    assert embedder.window.count("a much longer text " * 20) == 80
    assert backend.padding == padding
