"""unstructured's elements grouped into docduet's sections: ``chunk_by_title``, page by page.

This is where the parser's document model (unstructured ``Element`` objects) becomes docduet's
own (:class:`core.protocols.Section`): each chunk ``chunk_by_title`` makes, with the heading it
sits under and its page. Ingestion then splits a section that is longer than the embedding
model reads (:mod:`ingest.chunking`); no element crosses to it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.errors import ConfigError
from core.protocols import ChunkSizes, Section

if TYPE_CHECKING:
    from unstructured.documents.elements import Element

_TABLES = frozenset({"Table", "TableChunk"})


def check_sizes(sizes: ChunkSizes) -> None:
    """ConfigError if ``chunk_by_title`` refuses ``sizes`` (checked once, before any file)."""
    _chunk_page([], sizes)


def title_sections(elements: Sequence[Element], sizes: ChunkSizes) -> tuple[Section, ...]:
    """``elements`` chunked by title within pages (tables with their heading), as sections.

    Each section is under the nearest Title at or before its first element; a new sheet
    (``page_name``) starts afresh, and before its first Title the sheet name is the section.
    """
    headings = _headings(elements)
    return tuple(
        Section(
            text=chunk.text or "",
            section=_heading_of(chunk.metadata.orig_elements or (), headings),
            page=chunk.metadata.page_number,
            category="table" if chunk.category in _TABLES else "text",
        )
        for chunk in _chunk_by_title(elements, sizes)
    )


def _chunk_by_title(elements: Sequence[Element], sizes: ChunkSizes) -> list[Element]:
    """chunk_by_title page by page: its combining of small sections ignores page breaks."""
    chunks: list[Element] = []
    for _, page in itertools.groupby(elements, key=lambda e: e.metadata.page_number):
        chunks.extend(_chunk_page(list(page), sizes))
    return chunks


def _chunk_page(elements: list[Element], sizes: ChunkSizes) -> list[Element]:
    from unstructured.chunking.title import chunk_by_title

    try:
        chunks: list[Any] = chunk_by_title(
            elements,
            max_characters=sizes.max_chars,
            new_after_n_chars=sizes.new_after_chars,
            combine_text_under_n_chars=sizes.combine_under_chars,
            multipage_sections=False,
            include_orig_elements=True,
            isolate_table=False,  # a table stays with its heading and neighbouring text
        )
    except ValueError as e:
        raise ConfigError(
            f"invalid chunk settings ({e}); check DOCDUET_CHUNK_MAX_CHARS >= "
            "DOCDUET_CHUNK_NEW_AFTER_CHARS and DOCDUET_CHUNK_COMBINE_UNDER_CHARS"
        ) from e
    return chunks


def _headings(elements: Sequence[Element]) -> dict[str, str]:
    """Element id -> the heading it sits under: the nearest Title at or before it."""
    current, sheet = "", None
    headings: dict[str, str] = {}
    for element in elements:
        page_name = element.metadata.page_name
        if page_name != sheet:
            current, sheet = "", page_name
        if element.category == "Title" and (element.text or "").strip():
            current = " ".join(element.text.split())
        headings[element.id] = current or page_name or ""
    return headings


def _heading_of(originals: Sequence[Element], headings: dict[str, str]) -> str:
    for original in originals:
        if original.id in headings:
            return headings[original.id]
    return ""
