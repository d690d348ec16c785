"""Content fingerprints: a file is re-ingested when its bytes, access or pipeline change."""

from __future__ import annotations

import hashlib

from core.domain import Access
from core.settings import IngestSettings

PIPELINE_VERSION = "ingest-2"
"""Bump whenever parsing or chunking logic changes the chunks a file produces."""


def pipeline_id(ingest: IngestSettings, embedding_model: str) -> str:
    """Everything besides a file's bytes and access that decides its chunks and vectors."""
    return (
        f"{PIPELINE_VERSION}|embed={embedding_model}|max={ingest.chunk_max_chars}"
        f"|new={ingest.chunk_new_after_chars}|combine={ingest.chunk_combine_under_chars}"
        f"|tokens={ingest.chunk_max_tokens or 'model'}|overlap={ingest.chunk_overlap_tokens}"
        f"|pieces={ingest.piece_max_tokens}"
        # named only when not the default, so that indexes built before the setting stay current
        + ("" if ingest.piece_vectors == "separate" else f"|piece_vectors={ingest.piece_vectors}")
    )


def fingerprint(data: bytes, access: Access, *, pipeline: str) -> str:
    """Hex SHA-256 of a file's bytes ``data``, its access and ``pipeline`` (see :func:`pipeline_id`).

    ``data`` is the one read of the file (:func:`ingest.fdwalk.read_document`) that is also
    parsed and whose access is decided, so the hash always describes what was indexed.
    """
    content = hashlib.sha256(data).hexdigest()
    parts = (pipeline, ",".join(sorted(access.groups)), access.sensitivity.value, content)
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()
