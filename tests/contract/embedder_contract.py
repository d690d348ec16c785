"""The contract of :class:`core.protocols.Embedder`, run against every embedder.

What ingestion and retrieval rely on: ``dim``-long unit vectors (cosine is a dot product), one
per text and in the texts' order whatever the batch, the same vector for the same text, a query
nearer the passage that answers it than an unrelated one, a :class:`core.protocols.TokenWindow`
that counts tokens, and text past the window never embedded. A
:class:`core.protocols.SpanEmbedder` also gives each span a unit vector, and a span past the
window the whole text's vector.

A test module subclasses :class:`EmbedderContract` and provides the fixture ``embedder``. A
plugin author runs it from a docduet checkout with ``tests/`` on ``sys.path``:
``from contract.embedder_contract import EmbedderContract``.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from core.protocols import Embedder, SpanEmbedder, TokenWindow

MEALS = "Employees may claim up to 40 EUR per day for meals while travelling on business."
HOTEL = "The nightly hotel cap in London is 180 GBP including taxes."
BADGES = "Lost badges are replaced by the front desk on the ground floor."
QUESTION = "How much can I claim per day for meals?"
SAME = 0.999
"""Cosine above which two vectors count as the same (batching may move the last digits)."""


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """The dot product of two unit vectors (their lengths are checked separately)."""
    return sum(x * y for x, y in zip(a, b, strict=True))


def norm(v: Sequence[float]) -> float:
    return float(sum(x * x for x in v) ** 0.5)


def past_the_window(embedder: Embedder, tail: str) -> str:
    """A text whose first ``max_tokens`` tokens are filler and which ends with ``tail``."""
    words = ["policy"] * (embedder.window.max_tokens + 8)
    return " ".join([*words, tail])


class EmbedderContract:
    """What every Embedder does; subclasses provide the fixture ``embedder``."""

    def test_it_names_its_model_dimension_and_window(self, embedder: Embedder) -> None:
        assert isinstance(embedder.name, str) and embedder.name
        assert isinstance(embedder.dim, int) and embedder.dim > 0
        window = embedder.window
        assert isinstance(window, TokenWindow) and window.max_tokens > 0
        assert window.count("") == 0 < window.count(MEALS) <= window.count(f"{MEALS} {HOTEL}")

    def test_documents_become_unit_vectors_of_its_dimension(self, embedder: Embedder) -> None:
        vectors = embedder.embed_documents([MEALS, HOTEL])
        assert len(vectors) == 2
        for vector in vectors:
            assert len(vector) == embedder.dim and all(isinstance(x, float) for x in vector)
            assert norm(vector) == pytest.approx(1.0, abs=1e-3)
        assert embedder.embed_documents([]) == []

    def test_a_batch_keeps_the_texts_order(self, embedder: Embedder) -> None:
        texts = [MEALS, HOTEL, BADGES]
        alone = [embedder.embed_documents([t])[0] for t in texts]
        batch = embedder.embed_documents(texts)
        backwards = embedder.embed_documents(texts[::-1])[::-1]
        for one, in_batch, in_reverse in zip(alone, batch, backwards, strict=True):
            assert cosine(one, in_batch) > SAME and cosine(one, in_reverse) > SAME
        assert cosine(batch[0], batch[1]) < SAME  # different texts, different vectors

    def test_a_query_is_a_unit_vector_nearest_the_passage_that_answers_it(self, embedder: Embedder) -> None:
        query = embedder.embed_query(QUESTION)
        assert len(query) == embedder.dim and norm(query) == pytest.approx(1.0, abs=1e-3)
        assert cosine(query, embedder.embed_query(QUESTION)) > SAME
        meals, hotel, badges = embedder.embed_documents([MEALS, HOTEL, BADGES])
        assert cosine(query, meals) > max(cosine(query, hotel), cosine(query, badges))

    def test_text_past_the_window_is_not_embedded(self, embedder: Embedder) -> None:
        long_meals = past_the_window(embedder, MEALS)
        assert embedder.window.count(long_meals) > embedder.window.max_tokens
        one, other = embedder.embed_documents([long_meals, past_the_window(embedder, HOTEL)])
        assert cosine(one, other) > SAME

    def test_spans_get_unit_vectors_and_a_span_past_the_window_the_whole_one(
        self, embedder: Embedder
    ) -> None:
        if not isinstance(embedder, SpanEmbedder):
            pytest.skip(f"{embedder.name} embeds no spans (not a SpanEmbedder)")
        text = f"{MEALS} {HOTEL}"
        long_text = past_the_window(embedder, BADGES)
        late_span = (len(long_text) - len(BADGES), len(long_text))
        spans = [[(0, len(MEALS)), (len(MEALS) + 1, len(text))], [late_span]]
        (whole, pieces), (long_whole, (late,)) = embedder.embed_spans([text, long_text], spans)
        assert cosine(whole, embedder.embed_documents([text])[0]) > SAME
        assert len(pieces) == 2 and all(norm(p) == pytest.approx(1.0, abs=1e-3) for p in pieces)
        assert cosine(pieces[0], pieces[1]) < SAME
        assert cosine(late, long_whole) > SAME
