"""How documents become chunks: the embedder, parsing limits, chunk sizes, access defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field

from core.domain import Sensitivity
from core.sections.base import Section


class EmbeddingSettings(Section):
    """The sentence-transformers model that embeds chunks (at ingest) and questions (at search)."""

    embedding_model: str | None = Field(
        default=None,
        description="Path (or offline cache name) of a sentence-transformers model; "
        "default: the packaged all-MiniLM-L6-v2.",
    )
    embedding_threads: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    embedding_batch_size: int = 32


class IngestSettings(Section):
    """Parsing limits, chunking and the access a document gets when nothing declares one."""

    parse_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description="Longest one file may take to parse; past it the parser is stopped and the "
        "file reported as failed (files are parsed in a worker process).",
    )
    max_file_bytes: int = Field(
        default=100_000_000,
        gt=0,
        description="Largest file ingested (and served by 'Download source'); a larger one is "
        "reported as failed with its size.",
    )
    max_expansion_ratio: float = Field(
        default=20.0,
        gt=0,
        description="Characters of text one byte of a file may become when parsed (any file may "
        "become 100,000); a zip-based file (DOCX, XLSX, PPTX, ODT) may also unpack to at most 5x "
        "this times its size. A file past either is reported as failed (an expansion bomb); "
        "real files measured at most 1 (docs/ingestion-limits.md).",
    )
    max_extracted_chars: int = Field(
        default=10_000_000,
        gt=0,
        description="Most characters of text any one file may become when parsed, whatever its "
        "size; a file past it is reported as failed (about 7,000 chunks).",
    )
    parse_max_memory_mb: int = Field(
        default=2048,
        ge=0,
        description="Memory (address space, RLIMIT_AS) the parser worker may add to what it holds "
        "once started; a file that needs more is reported as failed and the next file gets a "
        "fresh worker. 0: no cap.",
    )
    corpus_root: Path | None = Field(
        default=None,
        description="Top folder of the documents: _access.yaml and .docduetignore files are looked "
        "up from here down to each file when it holds the PATH ingested; unset (or not holding it): "
        "from that PATH down, and _access.yaml files above it may only narrow access.",
    )
    chunk_max_chars: int = Field(
        default=1500,
        description="Hard size of the title/section chunks in characters, before the token split.",
    )
    chunk_new_after_chars: int = 1000
    chunk_combine_under_chars: int = 300
    chunk_max_tokens: int | None = Field(
        default=None,
        ge=1,
        description="Most embedder tokens in one chunk; longer chunks are split on sentence and word "
        "boundaries. Unset: what the embedding model reads (its max_seq_length less special tokens, "
        "254 for all-MiniLM-L6-v2); a larger value is capped at that.",
    )
    chunk_overlap_tokens: int = Field(
        default=32,
        ge=0,
        description="Embedder tokens shared by consecutive pieces of a split chunk (whole sentences "
        "that fit; at most a quarter of a chunk).",
    )
    piece_max_tokens: int = Field(
        default=48,
        ge=8,
        description="Embedder tokens in one piece: each chunk's sentences are grouped into pieces of "
        "at most this size and every piece gets a vector of its own, so a passage is found by its "
        "best sentence as well as by its whole text. Changing it re-embeds every file at the next ingest.",
    )
    piece_vectors: Literal["separate", "late"] = Field(
        default="separate",
        description="How the piece vectors are made: 'separate' encodes every piece as a text of "
        "its own (the pieces' tokens again, in short texts); 'late' pools each piece's tokens from "
        "the chunk's own forward pass (one encode per chunk, needs a fast tokenizer), which suits "
        "models trained for it: with all-MiniLM-L6-v2 a late piece keeps little of its own meaning "
        "(docs/performance.md). Changing it re-embeds every file at the next ingest.",
    )
    default_groups: tuple[str, ...] = ("employees",)
    default_sensitivity: Sensitivity = Sensitivity.INTERNAL
