"""A chunk's vectors: one for its whole text and one per piece of it.

A chunk holds up to what the embedder reads (254 word pieces for all-MiniLM-L6-v2), often several
topics: a handbook's "Remote and hybrid work" section scores 0.19 cosine against "Which days are
the office anchor days?" while its first bullet alone scores 0.42. Each chunk's sentences are
therefore grouped into pieces of ``ingest.piece_max_tokens`` tokens (the same LangChain
splitter as the chunks, :mod:`ingest.splitter`), and every piece gets a vector as well; the vector
search scores a chunk by its whole text and by its best piece (Weaviate multi-vector, MaxSim).

Two ways to get the piece vectors (``ingest.piece_vectors``):

- ``late``: from the chunk's own forward pass, each piece the mean of its tokens' contextual
  embeddings ("late chunking", :class:`core.protocols.SpanEmbedder`). A chunk and its pieces
  cost one encode of the chunk.
- ``separate``: every piece encoded as a text of its own, which costs about as many encodes again
  as the chunk has pieces.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from core.domain import ChunkVectors
from core.protocols import Embedder, SpanEmbedder
from core.settings import IngestSettings
from ingest.splitter import TokenSplitter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkEncoder:
    """Embeds chunk texts and their pieces with batched calls to ``embedder``."""

    embedder: Embedder
    pieces: TokenSplitter
    late: bool = False

    def encode(self, texts: Sequence[str]) -> list[ChunkVectors]:
        """One :class:`ChunkVectors` per text, in order.

        A text that fits in one piece is embedded once and that vector is its only piece.
        """
        split = [self.pieces.split(text) for text in texts]
        done: dict[int, ChunkVectors] = {}
        if self.late and isinstance(self.embedder, SpanEmbedder):
            located = {
                i: _spans(text, pieces) for i, (text, pieces) in enumerate(zip(texts, split, strict=True))
            }
            late = [i for i, spans in located.items() if spans is not None]
            vectors = self.embedder.embed_spans([texts[i] for i in late], [located[i] or [] for i in late])
            for i, (whole, pieces) in zip(late, vectors, strict=True):
                done[i] = ChunkVectors(whole=whole, pieces=pieces or [whole])
        rest = [i for i in range(len(texts)) if i not in done]
        done.update(
            zip(rest, self._separate([texts[i] for i in rest], [split[i] for i in rest]), strict=True)
        )
        return [done[i] for i in range(len(texts))]

    def _separate(self, texts: Sequence[str], split: Sequence[list[str]]) -> list[ChunkVectors]:
        """Every piece of a text with more than one encoded as a text of its own."""
        if not texts:
            return []
        extra = [pieces if len(pieces) > 1 else [] for pieces in split]
        vectors = self.embedder.embed_documents([*texts, *(p for pieces in extra for p in pieces)])
        rest = iter(vectors[len(texts) :])
        return [
            ChunkVectors(whole=whole, pieces=[next(rest) for _ in pieces] or [whole])
            for whole, pieces in zip(vectors[: len(texts)], extra, strict=True)
        ]


def _spans(text: str, pieces: list[str]) -> list[tuple[int, int]] | None:
    """Where each piece lies in ``text.strip()`` (``[]`` for one piece; None if one is not found)."""
    if len(pieces) <= 1:
        return []
    stripped = text.strip()
    spans: list[tuple[int, int]] = []
    cursor = 0
    for piece in pieces:
        body = piece.strip()
        start = stripped.find(body, cursor)
        if start < 0:
            start = stripped.find(body)  # overlapping pieces may start before the cursor
        if start < 0:
            log.debug("piece not found in its chunk; embedding that chunk's pieces apart")
            return None
        spans.append((start, start + len(body)))
        cursor = start + 1
    return spans


def chunk_encoder(ingest: IngestSettings, embedder: Embedder) -> ChunkEncoder:
    """The encoder for ``embedder`` with pieces of ``ingest.piece_max_tokens`` of its tokens."""
    window = embedder.window
    size = min(ingest.piece_max_tokens, window.max_tokens)
    late = ingest.piece_vectors == "late"
    if late and not isinstance(embedder, SpanEmbedder):
        log.info("embedder %s cannot embed spans; piece vectors are encoded apart", embedder.name)
    return ChunkEncoder(embedder, TokenSplitter(window, size, 0), late=late)
