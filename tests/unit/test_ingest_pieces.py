"""Piece vectors: every chunk's sentences grouped into small pieces, embedded in one call."""

from __future__ import annotations

from collections.abc import Sequence

from fakes import CountingEmbedder, WordTokenizer

from core.protocols import TokenWindow
from core.settings import Settings
from ingest.pieces import ChunkEncoder, chunk_encoder
from ingest.splitter import TokenSplitter

WINDOW = TokenWindow("words", 100, WordTokenizer())
LONG = "Remote work is hybrid. Anchor days are Tuesday and Thursday. The home office budget is 400 pounds."


def encoder(size: int = 6) -> tuple[ChunkEncoder, CountingEmbedder]:
    embedder = CountingEmbedder()
    return ChunkEncoder(embedder, TokenSplitter(WINDOW, size, 0)), embedder


def test_a_long_chunk_gets_a_vector_per_piece_and_one_for_its_whole_text() -> None:
    encode, embedder = encoder()
    (vectors,) = encode.encode([LONG])
    (texts,) = embedder.calls  # one batched call: the whole text, then its pieces
    assert texts[0] == LONG and len(texts) == 1 + len(vectors.pieces) >= 3
    assert " ".join(texts[1:]).split() == LONG.split()  # the pieces cover the text, in order
    assert all(len(p.split()) <= 6 for p in texts[1:])
    assert vectors.whole == [float(len(LONG.split())), 1.0]
    assert vectors.pieces == [[float(len(p.split())), 1.0] for p in texts[1:]]


def test_a_chunk_that_fits_one_piece_is_embedded_once() -> None:
    encode, embedder = encoder(size=50)
    short, long_ = encode.encode(["Anchor days are Tuesday.", LONG + " " + LONG + " " + LONG])
    assert short.pieces == [short.whole]
    (texts,) = embedder.calls
    assert texts.count("Anchor days are Tuesday.") == 1 and len(long_.pieces) == 2


def test_vectors_stay_in_the_order_of_the_texts() -> None:
    encode, _ = encoder()
    texts = ["One two.", LONG, "Three four five.", LONG + " Extra words here."]
    out = encode.encode(texts)
    assert [v.whole[0] for v in out] == [len(t.split()) for t in texts]
    assert encode.encode([]) == []


def test_the_piece_size_comes_from_settings_and_never_exceeds_the_window() -> None:
    assert (
        chunk_encoder(Settings(piece_max_tokens=32).ingest, CountingEmbedder(WINDOW)).pieces.max_tokens == 32
    )
    assert (
        chunk_encoder(Settings(piece_max_tokens=500).ingest, CountingEmbedder(WINDOW)).pieces.max_tokens
        == 100
    )
    assert chunk_encoder(Settings().ingest, CountingEmbedder(WINDOW)).pieces.overlap == 0


class SpanRecorder(CountingEmbedder):
    """A span-capable embedder: per span the text it covers (its length in words), and the calls."""

    def __init__(self, window: TokenWindow | None = None) -> None:
        super().__init__(window)
        self.span_calls: list[tuple[list[str], list[list[str]]]] = []

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> list[tuple[list[float], list[list[float]]]]:
        covered = [[t.strip()[a:b] for a, b in s] for t, s in zip(texts, spans, strict=True)]
        self.span_calls.append((list(texts), covered))
        return [
            ([float(len(t.split())), 1.0], [[float(len(c.split())), 2.0] for c in cs])
            for t, cs in zip(texts, covered, strict=True)
        ]


def late_encoder(size: int = 6) -> tuple[ChunkEncoder, SpanRecorder]:
    embedder = SpanRecorder()
    return ChunkEncoder(embedder, TokenSplitter(WINDOW, size, 0), late=True), embedder


def test_late_pieces_come_from_the_chunks_own_pass_over_spans_that_are_its_pieces() -> None:
    encode, embedder = late_encoder()
    short, long_ = encode.encode(["Anchor days.", LONG])
    assert embedder.calls == []  # no text encoded apart
    ((texts, covered),) = embedder.span_calls
    assert texts == ["Anchor days.", LONG]
    assert covered[0] == [] and covered[1] == encode.pieces.split(LONG) and len(covered[1]) >= 3
    assert short.pieces == [short.whole]
    assert long_.pieces == [[float(len(p.split())), 2.0] for p in covered[1]]


def test_a_chunk_whose_pieces_cannot_be_located_is_embedded_apart_the_rest_stays_late() -> None:
    class Rewriting(TokenSplitter):
        def split(self, text: str) -> list[str]:
            pieces = super().split(text)
            return [p.upper() for p in pieces] if "Anchor" in text and len(pieces) > 1 else pieces

    embedder = SpanRecorder()
    encode = ChunkEncoder(embedder, Rewriting(WINDOW, 6, 0), late=True)
    other = "Claims are filed within thirty days of the purchase. Receipts are kept for seven years."
    apart, late = encode.encode([LONG, other])
    ((texts, _),) = embedder.span_calls
    assert texts == [other]
    (separate,) = embedder.calls
    assert separate[0] == LONG and len(apart.pieces) == len(separate) - 1 >= 3
    assert all(p[1] == 2.0 for p in late.pieces)


def test_separate_pieces_when_settings_say_so_even_for_a_span_embedder() -> None:
    embedder = SpanRecorder(WINDOW)
    encode = chunk_encoder(Settings().ingest, embedder)
    encode.encode([LONG])
    assert embedder.span_calls == [] and len(embedder.calls) == 1
    assert chunk_encoder(Settings(piece_vectors="late").ingest, SpanRecorder(WINDOW)).late
    assert not chunk_encoder(Settings().ingest, SpanRecorder(WINDOW)).late
