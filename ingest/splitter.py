"""Split text that is longer than the embedding model reads, on sentence and word boundaries.

Sizes are counted in the embedding model's own tokens (:class:`core.protocols.TokenWindow`), so
no chunk has a tail the model never embeds. The splitting itself is LangChain's
``RecursiveCharacterTextSplitter`` with the model's tokenizer as length function.
"""

from __future__ import annotations

import functools
import logging
import math
from dataclasses import dataclass

from langchain_text_splitters import RecursiveCharacterTextSplitter

from core.errors import ConfigError
from core.protocols import TokenWindow
from core.settings import IngestSettings

log = logging.getLogger(__name__)

SEPARATORS = [r"\n+|(?<=[.!?])\s+", r"(?<=[;:])\s+", r"(?<=,)\s+", r"\s+", ""]
"""Regexes tried in order: lines and sentences, clauses, words; characters only as a last resort.
Paragraphs are not a level of their own: a long paragraph would leave its short neighbour (say,
the heading) alone in a chunk."""
SLACK = 8
"""Tokens added to the even share so the greedy merge does not spill a tiny extra piece."""
MAX_OVERLAP_SHARE = 4
"""The overlap is at most a quarter of a chunk, whatever the setting (a small model's chunks are small)."""
MAX_RESPLITS = 8
"""A piece still over the limit (merging can add a token) is split again at most this often."""


@dataclass(frozen=True)
class TokenSplitter:
    """Splits texts into pieces of at most ``max_tokens`` tokens, ``overlap`` tokens shared."""

    window: TokenWindow
    max_tokens: int
    overlap: int

    def split(self, text: str) -> list[str]:
        """``text`` as it is when it fits, else pieces that each fit (blank pieces dropped)."""
        text = text.strip()
        if not text:
            return []
        total = self.window.count(text)
        if total <= self.max_tokens:
            return [text]
        return self._fit(text, self._even_size(total), self.overlap)

    def _even_size(self, total: int) -> int:
        """Piece size that splits ``total`` tokens into the fewest, evenly sized pieces."""
        step = self.max_tokens - self.overlap
        count = max(2, math.ceil((total - self.overlap) / step))
        return min(self.max_tokens, math.ceil((total + (count - 1) * self.overlap) / count) + SLACK)

    def _fit(self, text: str, size: int, overlap: int, depth: int = 0) -> list[str]:
        pieces: list[str] = []
        for piece in _splitter(self.window, size, overlap).split_text(text):
            if self.window.count(piece) <= self.max_tokens:
                pieces.append(piece)
            elif depth < MAX_RESPLITS:  # merging miscounted by a token or two: split it again
                smaller = min(size, self.max_tokens) - 1 - depth
                pieces.extend(self._fit(piece, max(1, smaller), min(overlap, smaller // 4), depth + 1))
            else:
                raise ConfigError(
                    f"could not split a passage to {self.max_tokens} tokens of {self.window.model}; "
                    "raise DOCDUET_CHUNK_MAX_TOKENS"
                )
        return [p for p in pieces if p.strip()]


def token_splitter(ingest: IngestSettings, window: TokenWindow) -> TokenSplitter:
    """The splitter ``ingest`` asks for, sized to ``window`` (the embedder's)."""
    limit = window.max_tokens
    wanted = ingest.chunk_max_tokens
    if wanted is not None and wanted > limit:
        log.warning(
            "DOCDUET_CHUNK_MAX_TOKENS=%d exceeds what %s reads (%d tokens); using %d",
            wanted, window.model, limit, limit,
        )  # fmt: skip
    max_tokens = limit if wanted is None else min(wanted, limit)
    if max_tokens < 1 or ingest.chunk_overlap_tokens < 0:
        raise ConfigError(
            f"invalid token chunk settings (max {max_tokens}, overlap {ingest.chunk_overlap_tokens}); "
            "set DOCDUET_CHUNK_MAX_TOKENS >= 1 and DOCDUET_CHUNK_OVERLAP_TOKENS >= 0"
        )
    overlap = min(ingest.chunk_overlap_tokens, max_tokens // MAX_OVERLAP_SHARE)
    return TokenSplitter(window, max_tokens, overlap)


@functools.lru_cache(maxsize=256)
def _splitter(window: TokenWindow, size: int, overlap: int) -> RecursiveCharacterTextSplitter:
    """LangChain's recursive splitter measuring in ``window``'s tokens (``from_huggingface_tokenizer``
    would do the same, with a noisy too-long-sequence warning on every long text)."""
    return RecursiveCharacterTextSplitter(
        chunk_size=size,
        chunk_overlap=overlap,
        length_function=window.count,
        separators=SEPARATORS,
        is_separator_regex=True,
        keep_separator="end",
    )
