"""A chunk's vectors: one for its whole text and one per piece of it, from one encoder call.

A chunk holds up to what the embedder reads (254 word pieces for all-MiniLM-L6-v2), often several
topics: a handbook's "Remote and hybrid work" section scores 0.19 cosine against "Which days are
the office anchor days?" while its first bullet alone scores 0.42. Each chunk's sentences are
therefore grouped into pieces of ``settings.piece_max_tokens`` tokens (the same LangChain
splitter as the chunks, :mod:`ingest.splitter`), and every piece is embedded as well; the vector
search scores a chunk by its whole text and by its best piece (Weaviate multi-vector, MaxSim).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.domain import ChunkVectors
from core.protocols import Embedder
from core.settings import Settings
from ingest.splitter import TokenSplitter


@dataclass(frozen=True)
class ChunkEncoder:
    """Embeds chunk texts and their pieces in one batched call to ``embedder``."""

    embedder: Embedder
    pieces: TokenSplitter

    def encode(self, texts: Sequence[str]) -> list[ChunkVectors]:
        """One :class:`ChunkVectors` per text, in order.

        A text that fits in one piece is embedded once and that vector is its only piece.
        """
        split = [self.pieces.split(text) for text in texts]
        extra = [pieces if len(pieces) > 1 else [] for pieces in split]
        vectors = self.embedder.embed_documents([*texts, *(p for pieces in extra for p in pieces)])
        rest = iter(vectors[len(texts) :])
        return [
            ChunkVectors(whole=whole, pieces=[next(rest) for _ in pieces] or [whole])
            for whole, pieces in zip(vectors[: len(texts)], extra, strict=True)
        ]


def chunk_encoder(settings: Settings, embedder: Embedder) -> ChunkEncoder:
    """The encoder for ``embedder`` with pieces of ``settings.piece_max_tokens`` of its tokens."""
    window = embedder.window
    size = min(settings.piece_max_tokens, window.max_tokens)
    return ChunkEncoder(embedder, TokenSplitter(window, size, 0))
