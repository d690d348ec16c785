"""Piece vectors: every chunk's sentences grouped into small pieces, embedded in one call."""

from __future__ import annotations

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
    assert chunk_encoder(Settings(piece_max_tokens=32), CountingEmbedder(WINDOW)).pieces.max_tokens == 32
    assert chunk_encoder(Settings(piece_max_tokens=500), CountingEmbedder(WINDOW)).pieces.max_tokens == 100
    assert chunk_encoder(Settings(), CountingEmbedder(WINDOW)).pieces.overlap == 0
