"""Turn a document's elements into :class:`Chunk` objects with everything a citation needs."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from core.domain import Access, Chunk, SourceFile
from core.errors import ConfigError, IngestError
from core.protocols import TokenWindow
from core.settings import Settings
from ingest.splitter import TokenSplitter, token_splitter
from ingest.titles import first_title

if TYPE_CHECKING:
    from unstructured.documents.elements import Element

CHUNK_NAMESPACE = uuid.UUID("5b0e4c8e-2f7a-4a43-9d1e-6c8a1f0d2b71")
"""Fixed namespace of docduet chunk ids; changing it changes every id in every index."""


def chunk_id(source: str, content_hash: str, index: int) -> str:
    """The deterministic id of chunk ``index`` of ``source`` at ``content_hash``."""
    return str(uuid.uuid5(CHUNK_NAMESPACE, f"{source}|{content_hash}|{index}"))


@dataclass(frozen=True)
class _Piece:
    text: str
    page: int | None
    section: str


def chunk_document(
    file: SourceFile,
    elements: Sequence[Element],
    *,
    access: Access,
    content_hash: str,
    settings: Settings,
    window: TokenWindow,
    title: str | None = None,
) -> list[Chunk]:
    """Chunk ``elements`` by title within pages, with the metadata a citation needs.

    Tables share chunks with their heading and neighbours; a chunk longer than the embedding
    model reads (``window``, the embedder's) is split on sentence and word
    boundaries with a small token overlap; blank chunks are dropped; indexes are dense.
    """
    title = title or first_title(file, elements)  # the parser's (read in its worker), else derived
    modified = _modified(file)
    pieces = _pieces(elements, settings, token_splitter(settings, window))
    return [
        Chunk(
            chunk_id=chunk_id(file.source, content_hash, index),
            source=file.source,
            root=file.root.as_posix(),
            title=title,
            text=piece.text,
            index=index,
            doc_type=file.suffix.lstrip("."),
            section=piece.section,
            page=piece.page,
            modified=modified,
            content_hash=content_hash,
            access=access,
        )
        for index, piece in enumerate(pieces)
    ]


def _pieces(elements: Sequence[Element], settings: Settings, splitter: TokenSplitter) -> list[_Piece]:
    sections = _sections(elements)
    pieces = []
    for chunk in _chunk_by_title(elements, settings):
        section = _section_of(chunk.metadata.orig_elements or (), sections)
        for text in splitter.split(chunk.text or ""):
            pieces.append(_Piece(text=text, page=chunk.metadata.page_number, section=section))
    return pieces


def _chunk_by_title(elements: Sequence[Element], settings: Settings) -> list[Element]:
    """chunk_by_title page by page: its combining of small sections ignores page breaks."""
    chunks: list[Element] = []
    for _, page in itertools.groupby(elements, key=lambda e: e.metadata.page_number):
        chunks.extend(_chunk_page(list(page), settings))
    return chunks


def _chunk_page(elements: list[Element], settings: Settings) -> list[Element]:
    from unstructured.chunking.title import chunk_by_title

    try:
        return chunk_by_title(
            elements,
            max_characters=settings.chunk_max_chars,
            new_after_n_chars=settings.chunk_new_after_chars,
            combine_text_under_n_chars=settings.chunk_combine_under_chars,
            multipage_sections=False,
            include_orig_elements=True,
            isolate_table=False,  # a table stays with its heading and neighbouring text
        )
    except ValueError as e:
        raise ConfigError(
            f"invalid chunk settings ({e}); check DOCDUET_CHUNK_MAX_CHARS >= "
            "DOCDUET_CHUNK_NEW_AFTER_CHARS and DOCDUET_CHUNK_COMBINE_UNDER_CHARS"
        ) from e


def _sections(elements: Sequence[Element]) -> dict[str, str]:
    """Element id -> the heading it sits under: the nearest Title at or before it.

    A new sheet (``page_name``, e.g. of a spreadsheet) starts afresh; before its first Title
    the sheet name is the section.
    """
    current, sheet = "", None
    sections: dict[str, str] = {}
    for element in elements:
        page_name = element.metadata.page_name
        if page_name != sheet:
            current, sheet = "", page_name
        if element.category == "Title" and (element.text or "").strip():
            current = " ".join(element.text.split())
        sections[element.id] = current or page_name or ""
    return sections


def _section_of(originals: Sequence[Element], sections: dict[str, str]) -> str:
    for original in originals:
        if original.id in sections:
            return sections[original.id]
    return ""


def _modified(file: SourceFile) -> datetime:
    try:
        return datetime.fromtimestamp(file.path.stat().st_mtime, tz=UTC)
    except OSError as e:
        raise IngestError(f"{file.source}: cannot stat ({e}); check it still exists") from e
