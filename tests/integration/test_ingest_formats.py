"""Every sample file either parses to text or fails with a clear IngestError; nothing else.

Real unstructured partitioners on the public evaluation files (third-party: the ``formats`` and
``handbook-18f`` sets of DOCDUET_EVAL_DATA, see the README.md there). Slower than a unit test: the
PDF stack imports OpenCV and ONNX.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from eval_data import eval_set_path

from backends.sentence_transformers import embedding_window
from backends.unstructured import UnstructuredParser
from core.domain import Access, Sensitivity, SourceFile
from core.errors import IngestError
from core.settings import Settings
from ingest.chunking import chunk_document, chunk_sizes
from ingest.discover import discover

pytestmark = pytest.mark.integration

FORMATS = eval_set_path("formats")
HANDBOOK = eval_set_path("handbook-18f")
PER_FILE_LIMIT_S = 60.0

# What each hostile file must fail with; every other file under formats/ must parse.
EXPECTED_FAILURES = {
    "edge/empty.txt": "empty file",
    "edge/empty.xlsx": "no extractable text (empty?)",
    "edge/password.pdf": "encrypted: ",
    "edge/password_protected.xlsx": "encrypted: ",
    "edge/failure-after-repair.pdf": "no extractable text: unstructured flags the PDF as too complex",
    "pdf/single_table.pdf": "no extractable text (scanned or empty?)",
}


@pytest.fixture(scope="module")
def parser() -> UnstructuredParser:
    return UnstructuredParser()


def sample_files() -> list[SourceFile]:
    if not FORMATS.is_dir():
        return []
    return discover([FORMATS])


@pytest.mark.eval_data("formats")
@pytest.mark.parametrize("file", sample_files() or [None], ids=lambda f: f.path.name if f else "missing")
def test_each_sample_parses_or_fails_clearly(parser: UnstructuredParser, file: SourceFile) -> None:
    relative = file.path.relative_to(FORMATS).as_posix()
    started = time.perf_counter()
    try:
        sections = parser.parse(file, file.path.read_bytes()).sections
    except IngestError as e:
        message = str(e)
        expected = EXPECTED_FAILURES.get(relative)
        assert expected is not None, f"unexpected failure: {message}"
        assert message.startswith(f"{file.source}: {expected}")
        assert ";" in message, "the message says what to do next"
    else:
        assert relative not in EXPECTED_FAILURES, f"{relative} should have failed"
        assert sum(len(s.text.strip()) for s in sections) > 0
    assert time.perf_counter() - started < PER_FILE_LIMIT_S


def parse_and_chunk(parser: UnstructuredParser, file: SourceFile, access: Access, settings: Settings) -> list:  # type: ignore[type-arg]
    """What the pipeline does with one file: parse (sections and title), then chunk."""
    parsed = parser.parse(file, file.path.read_bytes())
    return chunk_document(
        file, parsed.sections, access=access, content_hash="h", settings=settings, title=parsed.title,
        window=embedding_window(settings),
    )


@pytest.mark.eval_data("formats")
def test_the_expected_failures_exist() -> None:
    assert all((FORMATS / name).is_file() for name in EXPECTED_FAILURES)


@pytest.mark.eval_data("formats")
def test_copy_protected_pdf_is_read(parser: UnstructuredParser) -> None:
    path = FORMATS / "edge" / "copy-protected.pdf"
    sections = parser.parse(SourceFile(path, path.parent), path.read_bytes()).sections
    pages = {s.page for s in sections}
    assert pages and all(isinstance(p, int) and p >= 1 for p in pages)


@pytest.mark.eval_data("formats")
def test_pdf_chunks_keep_their_pages(parser: UnstructuredParser) -> None:
    path = FORMATS / "pdf" / "multi-column-2p.pdf"
    file = SourceFile(path, path.parent)
    access = Access(("employees",), Sensitivity.INTERNAL)
    chunks = parse_and_chunk(parser, file, access, Settings())
    assert {c.page for c in chunks} == {1, 2}
    page_two = [c for c in chunks if c.page == 2]
    assert page_two and all(c.index > max(x.index for x in chunks if x.page == 1) for c in page_two)


@pytest.mark.eval_data("handbook-18f")
def test_handbook_chunks_have_front_matter_titles_and_no_front_matter_text(
    parser: UnstructuredParser,
) -> None:
    access = Access(("employees",), Sensitivity.INTERNAL)
    pages = discover([HANDBOOK / "pages" / "travel-and-leave"])
    assert len(pages) >= 10
    for file in pages:
        chunks = parse_and_chunk(parser, file, access, Settings())
        assert chunks, file.source
        assert chunks[0].title != file.path.stem, "the title comes from the front matter"
        assert not any(c.text.startswith("title:") or "\ntitle: " in c.text for c in chunks)
        assert all(c.doc_type == "md" and c.page is None for c in chunks)


@pytest.mark.eval_data("formats")
def test_rtf_keeps_its_heading_and_table(parser: UnstructuredParser) -> None:
    path = FORMATS / "fake-doc.rtf"
    file = SourceFile(path, path.parent)
    access = Access(("employees",), Sensitivity.INTERNAL)
    chunks = parse_and_chunk(parser, file, access, Settings())
    assert chunks and chunks[0].section == "My First Heading" and chunks[0].doc_type == "rtf"
    assert "Row 1, Cell 1" in " ".join(c.text for c in chunks)


def test_odt_sections_come_through_pandoc(parser: UnstructuredParser, tmp_path: Path) -> None:
    import pypandoc

    source = "# Remote work\n\nStaff work remotely two days a week.\n\n# Equipment\n\nLaptops are given.\n"
    path = tmp_path / "remote-work.odt"
    pypandoc.convert_text(source, "odt", format="md", outputfile=str(path))  # a real ODT, by pandoc
    file = SourceFile(path, tmp_path)
    access = Access(("employees",), Sensitivity.INTERNAL)
    settings = Settings(chunk_combine_under_chars=0)  # one chunk per section, to see the headings
    chunks = parse_and_chunk(UnstructuredParser(chunking=chunk_sizes(settings)), file, access, settings)
    assert [(c.section, c.doc_type) for c in chunks] == [("Remote work", "odt"), ("Equipment", "odt")]
    assert "two days a week" in chunks[0].text and "Laptops are given" in chunks[1].text


def test_a_corrupt_odt_fails_with_its_reason(parser: UnstructuredParser, tmp_path: Path) -> None:
    path = tmp_path / "broken.odt"
    path.write_bytes(b"PK\x03\x04 not really an OpenDocument file")
    with pytest.raises(IngestError, match=r"broken\.odt: cannot be parsed .*; the file may be corrupt"):
        parser.parse(SourceFile(path, tmp_path), path.read_bytes())
