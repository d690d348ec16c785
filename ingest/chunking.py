"""Turn a document's sections into :class:`Chunk` objects with everything a citation needs.

The parser groups a document under its headings (:class:`core.protocols.Section`, sized with the
:class:`core.protocols.ChunkSizes` of :func:`chunk_sizes`); here a section longer than the
embedding model reads is split to its window (:mod:`ingest.splitter`), and each piece becomes a
chunk with the document's metadata.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from core.domain import Access, Chunk, SourceFile
from core.errors import IngestError
from core.protocols import ChunkSizes, Section, TokenWindow
from core.settings import Settings
from ingest.splitter import token_splitter

CHUNK_NAMESPACE = uuid.UUID("5b0e4c8e-2f7a-4a43-9d1e-6c8a1f0d2b71")
"""Fixed namespace of docduet chunk ids; changing it changes every id in every index."""


def chunk_id(source: str, content_hash: str, index: int) -> str:
    """The deterministic id of chunk ``index`` of ``source`` at ``content_hash``."""
    return str(uuid.uuid5(CHUNK_NAMESPACE, f"{source}|{content_hash}|{index}"))


def chunk_sizes(settings: Settings) -> ChunkSizes:
    """The sizes a parser groups sections by (``DOCDUET_CHUNK_MAX_CHARS``, ...)."""
    ingest = settings.ingest
    return ChunkSizes(
        max_chars=ingest.chunk_max_chars,
        new_after_chars=ingest.chunk_new_after_chars,
        combine_under_chars=ingest.chunk_combine_under_chars,
    )


def chunk_document(
    file: SourceFile,
    sections: Sequence[Section],
    *,
    access: Access,
    content_hash: str,
    settings: Settings,
    window: TokenWindow,
    title: str | None = None,
) -> list[Chunk]:
    """Chunk the parser's ``sections`` of ``file``, with the metadata a citation needs.

    A section longer than the embedding model reads (``window``, the embedder's) is split on
    sentence and word boundaries with a small token overlap; blank pieces are dropped; indexes
    are dense. ``title``: the parser's (read in its worker), else the file's stem.
    """
    title = title or file.path.stem
    modified = _modified(file)
    splitter = token_splitter(settings.ingest, window)
    pieces = [(text, section) for section in sections for text in splitter.split(section.text)]
    return [
        Chunk(
            chunk_id=chunk_id(file.source, content_hash, index),
            source=file.source,
            root=file.root.as_posix(),
            title=title,
            text=text,
            index=index,
            doc_type=file.suffix.lstrip("."),
            section=section.section,
            page=section.page,
            modified=modified,
            content_hash=content_hash,
            access=access,
        )
        for index, (text, section) in enumerate(pieces)
    ]


def _modified(file: SourceFile) -> datetime:
    try:
        return datetime.fromtimestamp(file.path.stat().st_mtime, tz=UTC)
    except OSError as e:
        raise IngestError(f"{file.source}: cannot stat ({e}); check it still exists") from e
