"""Chunking: sections from headings (the parser's, through its seam), page numbers, ids, titles, blanks."""

from __future__ import annotations

import functools
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import unstructured.documents.elements as unstructured_elements

from backends.sentence_transformers import embedding_window
from backends.title_chunking import title_sections
from backends.titles import document_title
from backends.unstructured import UnstructuredParser
from core.domain import Access, Sensitivity, SourceFile
from core.errors import ConfigError
from core.protocols import ChunkSizes, Section, TokenWindow
from core.settings import Settings
from ingest.chunking import CHUNK_NAMESPACE, chunk_document, chunk_id, chunk_sizes

Title = unstructured_elements.Title
NarrativeText = unstructured_elements.NarrativeText
Table = unstructured_elements.Table
Text = unstructured_elements.Text
ElementMetadata = unstructured_elements.ElementMetadata

ACCESS = Access(("employees",), Sensitivity.INTERNAL)
SETTINGS = Settings(chunk_max_chars=400, chunk_new_after_chars=300, chunk_combine_under_chars=0)
PARAGRAPH = "Employees book travel through the portal and keep every receipt. " * 3  # ~200 chars


def el(kind: type, text: str, page: int | None = None, sheet: str | None = None):  # type: ignore[no-untyped-def]
    return kind(text=text, metadata=ElementMetadata(page_number=page, page_name=sheet))


@pytest.fixture
def file(tmp_path: Path) -> SourceFile:
    path = tmp_path / "travel-policy.pdf"
    path.write_bytes(b"%PDF-1.4 not really")
    os.utime(path, (1_700_000_000, 1_700_000_000))
    return SourceFile(path, tmp_path)


@functools.cache
def window() -> TokenWindow:
    """The packaged embedding model's tokens (what ingestion sizes chunks to)."""
    return embedding_window(SETTINGS)


def chunk(file: SourceFile, elements: list, settings: Settings = SETTINGS, **kw: object) -> list:  # type: ignore[type-arg]
    """What ingestion makes of ``elements``: the back end's sections, then ingest's chunks."""
    sections = title_sections(elements, chunk_sizes(settings))
    options = {"access": ACCESS, "content_hash": "abc", "settings": settings, "window": window(), **kw}
    return chunk_document(file, sections, **options)  # type: ignore[arg-type]


def test_sections_come_from_the_preceding_heading(file: SourceFile) -> None:
    elements = [
        el(NarrativeText, "Preamble before any heading. " * 4, 1),
        el(Title, "1. Booking", 1),
        el(NarrativeText, PARAGRAPH, 1),
        el(NarrativeText, PARAGRAPH, 1),  # overflows the soft limit: a second chunk, same section
        el(Title, "2. Meals", 1),
        el(NarrativeText, "Meals are capped at 40 GBP a day.", 1),
    ]
    chunks = chunk(file, elements)
    assert [c.section for c in chunks] == ["", "1. Booking", "1. Booking", "2. Meals"]
    assert chunks[1].text.startswith("1. Booking\n\n")
    assert not chunks[2].text.startswith("1. Booking")
    assert chunks[3].text == "2. Meals\n\nMeals are capped at 40 GBP a day."


def test_pages_are_kept_and_chunks_do_not_span_pages(file: SourceFile) -> None:
    settings = Settings(chunk_max_chars=1500, chunk_new_after_chars=1000, chunk_combine_under_chars=300)
    elements = [
        el(Title, "Hotels", 1),
        el(NarrativeText, "London cap is 180 GBP.", 1),
        el(NarrativeText, "Rotterdam cap is 150 EUR.", 2),
        el(Title, "Mileage", 3),
        el(NarrativeText, "0.45 GBP per mile.", 3),
    ]
    chunks = chunk(file, elements, settings=settings)
    assert [(c.page, c.section) for c in chunks] == [(1, "Hotels"), (2, "Hotels"), (3, "Mileage")]
    assert "Rotterdam" in chunks[1].text and "London" not in chunks[1].text


def test_a_table_stays_with_its_heading(file: SourceFile) -> None:
    elements = [
        el(Title, "Rating scale", 1),
        el(Table, "Rating Meaning 1 Poor 2 Fair 3 Good", 1),
        el(NarrativeText, "Ratings are calibrated by HR.", 1),
    ]
    chunks = chunk(file, elements)
    assert len(chunks) == 1
    assert chunks[0].text.startswith("Rating scale\n\nRating Meaning 1 Poor")
    assert chunks[0].section == "Rating scale"


def test_sheet_names_are_sections_until_a_heading_and_reset_per_sheet(file: SourceFile) -> None:
    elements = [
        el(Table, "Level Min Max L1 30k 40k", 1, "Leeds"),
        el(Title, "Notes", 1, "Leeds"),
        el(NarrativeText, "Bands reviewed yearly.", 1, "Leeds"),
        el(Table, "Level Min Max L1 35k 45k", 2, "Rotterdam"),
    ]
    chunks = chunk(file, elements)
    assert [c.section for c in chunks] == ["Leeds", "Notes", "Rotterdam"]


def test_blank_elements_give_no_chunks_and_indexes_stay_dense(file: SourceFile) -> None:
    elements = [
        el(Text, "   ", 1),
        el(NarrativeText, "First.", 1),
        el(Text, "\n\n", 2),
        el(NarrativeText, "Second.", 3),
    ]
    chunks = chunk(file, elements)
    assert [c.text for c in chunks] == ["First.", "Second."]
    assert [c.index for c in chunks] == [0, 1]
    assert chunk(file, [el(Text, "  ", 1)]) == []


def test_metadata_of_every_chunk(file: SourceFile) -> None:
    [only] = chunk(file, [el(NarrativeText, "Some text.", 4)])
    assert only.source == file.source and only.root == file.root.as_posix()
    assert only.doc_type == "pdf"
    assert only.modified == datetime.fromtimestamp(1_700_000_000, tz=UTC)
    assert only.modified.tzinfo is not None
    assert only.access == ACCESS and only.content_hash == "abc"
    assert only.page == 4


def test_ids_are_deterministic_uuid5s(file: SourceFile) -> None:
    elements = [el(Title, "A", 1), el(NarrativeText, PARAGRAPH, 1), el(NarrativeText, PARAGRAPH, 2)]
    first = chunk(file, elements)
    again = chunk(file, elements)
    assert [c.chunk_id for c in first] == [c.chunk_id for c in again]
    assert len({c.chunk_id for c in first}) == len(first) == 2
    expected = uuid.uuid5(CHUNK_NAMESPACE, f"{file.source}|abc|1")
    assert first[1].chunk_id == str(expected) == chunk_id(file.source, "abc", 1)
    assert uuid.UUID(first[0].chunk_id).version == 5
    changed = chunk(file, elements, content_hash="def")
    assert {c.chunk_id for c in changed}.isdisjoint(c.chunk_id for c in first)


def test_the_namespace_is_fixed() -> None:
    # Changing it would silently re-key every index; this pins it.
    assert chunk_id("/docs/a.md", "h", 0) == str(
        uuid.uuid5(uuid.UUID("5b0e4c8e-2f7a-4a43-9d1e-6c8a1f0d2b71"), "/docs/a.md|h|0")
    )


def test_invalid_chunk_settings_raise_config_error_when_the_parser_is_built() -> None:
    with pytest.raises(ConfigError, match="DOCDUET_CHUNK_MAX_CHARS"):
        UnstructuredParser(chunking=chunk_sizes(Settings(chunk_max_chars=0)))
    assert UnstructuredParser(chunking=chunk_sizes(SETTINGS)).chunking == ChunkSizes(400, 300, 0)


def test_the_default_sizes_are_the_settings_defaults() -> None:
    assert chunk_sizes(Settings()) == ChunkSizes() == UnstructuredParser().chunking


def test_sections_say_text_or_table(file: SourceFile) -> None:
    sections = title_sections([el(Table, "Rating Meaning 1 Poor", 1)], chunk_sizes(SETTINGS))
    assert sections == (Section("Rating Meaning 1 Poor", "", 1, "table"),)
    mixed = title_sections([el(Title, "Scale", 1), el(Table, "1 Poor", 1)], chunk_sizes(SETTINGS))
    assert [s.category for s in mixed] == ["text"]  # the table shares its heading's section


# --- titles ------------------------------------------------------------------------------


def titled(tmp_path: Path, name: str, content: str | bytes, elements: list) -> str:  # type: ignore[type-arg]
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return document_title(SourceFile(path, tmp_path), elements, path.read_bytes())


def test_title_from_front_matter(tmp_path: Path) -> None:
    text = "---\ntitle: Travel   policy\n---\n# Heading\n"
    assert titled(tmp_path, "a.md", text, [el(Title, "Heading")]) == "Travel policy"


def test_title_from_html_title_element(tmp_path: Path) -> None:
    html = "<html><head><title>VPN guide</title></head><body><h1>Setup</h1></body></html>"
    assert titled(tmp_path, "a.html", html, [el(Title, "Setup")]) == "VPN guide"


def test_title_from_docx_core_properties(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Security policy"
    document.add_heading("1. Scope")
    document.save(str(tmp_path / "p.docx"))
    data = (tmp_path / "p.docx").read_bytes()
    assert document_title(SourceFile(tmp_path / "p.docx", tmp_path), [el(Title, "1. Scope")], data) == (
        "Security policy"
    )
    document.core_properties.title = "Word Document"  # an editor's placeholder says nothing
    document.save(str(tmp_path / "q.docx"))
    data = (tmp_path / "q.docx").read_bytes()
    source = SourceFile(tmp_path / "q.docx", tmp_path)
    assert document_title(source, [el(Title, "1. Scope")], data) == "1. Scope"


def test_title_falls_back_to_first_title_element_then_stem(tmp_path: Path) -> None:
    elements = [el(NarrativeText, "intro"), el(Title, "  Real\n heading "), el(Title, "Second")]
    assert titled(tmp_path, "notes.txt", "x", elements) == "Real heading"
    assert titled(tmp_path, "notes.txt", "x", [el(NarrativeText, "intro")]) == "notes"
    assert titled(tmp_path, "broken.docx", b"not a zip", [el(Title, "From text")]) == "From text"


def test_title_from_email_subject(tmp_path: Path) -> None:
    mail = "From: a@x.example\nTo: b@x.example\nSubject: Office move\n\nHello\n"
    assert titled(tmp_path, "m.eml", mail, [el(NarrativeText, "Hello")]) == "Office move"


def test_chunks_carry_the_document_title_without_reading_the_file(tmp_path: Path) -> None:
    path = tmp_path / "guide.md"
    path.write_text("---\ntitle: Front matter\n---\nbody\n", encoding="utf-8")  # not read here
    [only] = chunk(SourceFile(path, tmp_path), [el(NarrativeText, "body")], title="Guide")
    assert only.title == "Guide" and only.doc_type == "md"
    [untitled] = chunk(SourceFile(path, tmp_path), [el(Title, "Heading"), el(NarrativeText, "body")])
    assert untitled.title == "guide"  # a parser that gives no title: the file's name
