"""Content fingerprints: a file is re-ingested when its bytes, access or pipeline change."""

from __future__ import annotations

import hashlib

from core.domain import Access, SourceFile
from core.errors import IngestError
from core.settings import Settings
from ingest.safefile import DEFAULT_MAX_FILE_BYTES, open_regular

PIPELINE_VERSION = "ingest-2"
"""Bump whenever parsing or chunking logic changes the chunks a file produces."""


def pipeline_id(settings: Settings, embedding_model: str) -> str:
    """Everything besides a file's bytes and access that decides its chunks and vectors."""
    return (
        f"{PIPELINE_VERSION}|embed={embedding_model}|max={settings.chunk_max_chars}"
        f"|new={settings.chunk_new_after_chars}|combine={settings.chunk_combine_under_chars}"
        f"|tokens={settings.chunk_max_tokens or 'model'}|overlap={settings.chunk_overlap_tokens}"
        f"|pieces={settings.piece_max_tokens}"
        # named only when not the default, so that indexes built before the setting stay current
        + ("" if settings.piece_vectors == "separate" else f"|piece_vectors={settings.piece_vectors}")
    )


def fingerprint(
    file: SourceFile, access: Access, *, pipeline: str, max_bytes: int = DEFAULT_MAX_FILE_BYTES
) -> str:
    """Hex SHA-256 of the file's bytes, its access and ``pipeline`` (see :func:`pipeline_id`).

    Only a regular file of at most ``max_bytes`` is read (no link, FIFO or device).
    """
    try:
        with open_regular(file.path, max_bytes=max_bytes, origin=file.source) as handle:
            content = hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError as e:
        raise IngestError(f"{file.source}: cannot read ({e}); check it exists and is readable") from e
    parts = (pipeline, ",".join(sorted(access.groups)), access.sensitivity.value, content)
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()
