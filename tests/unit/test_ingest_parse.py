"""Parsing small real files: decoding, front matter, and clear errors for hostile input.

The PDF and whole-folder sweeps (slower: PDF imports pull in OpenCV and ONNX) are in
tests/integration/test_ingest_formats.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.unstructured import UnstructuredParser
from core.domain import SourceFile
from core.errors import IngestError
from core.protocols import Parsed
from ingest.fdwalk import read_document
from ingest.safefile import DEFAULT_MAX_FILE_BYTES

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
EDGE = FIXTURES / "edge"
HANDBOOK = FIXTURES / "handbook"


@pytest.fixture(scope="module")
def parser() -> UnstructuredParser:
    return UnstructuredParser()


def parse(parser: UnstructuredParser, file: SourceFile) -> Parsed:
    """As ingestion does: the file read once, by descriptor (hostile files refused), then parsed."""
    return parser.parse(file, read_document(file, max_bytes=DEFAULT_MAX_FILE_BYTES))


def parse_text(parser: UnstructuredParser, path: Path) -> str:
    sections = parse(parser, SourceFile(path, path.parent)).sections
    return "\n".join(s.text for s in sections)


def write(path: Path, data: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8")
    return path



@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("fake-text-utf-16-le.txt", "This is a test document to use for unit tests."),
        ("fake-text-utf-32.txt", "This is a test document to use for unit tests."),
        ("umlauts-non-utf8.md", "können"),
        ("fake-html-cp1252.html", "Die schöne Frau hat einen Kaffee"),
    ],
)
def test_non_utf8_edge_files_decode(parser: UnstructuredParser, name: str, expected: str) -> None:
    text = parse_text(parser, EDGE / name)
    assert expected in text
    assert "\x00" not in text and "\ufffd" not in text


def test_cp1252_html_keeps_accents_and_euro(parser: UnstructuredParser) -> None:
    text = parse_text(parser, EDGE / "fake-html-cp1252.html")
    assert "15,50 €" in text and "L'été était très chaud" in text and "äöüß" not in text


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("empty.txt", "empty file"),
        ("empty.xlsx", "no extractable text"),
        ("password_protected.xlsx", "encrypted: "),
    ],
)
def test_hostile_edge_files_raise_a_clear_ingest_error(
    parser: UnstructuredParser, name: str, reason: str
) -> None:
    path = EDGE / name
    with pytest.raises(IngestError) as caught:
        parse(parser, SourceFile(path, path.parent))
    message = str(caught.value)
    assert message.startswith(f"{path.as_posix()}: {reason}")
    assert ";" in message, "the message says what to do next"


def test_markdown_front_matter_is_not_indexed(parser: UnstructuredParser, tmp_path: Path) -> None:
    path = write(
        tmp_path / "p.md",
        "---\ntitle: Secret title\naccess_groups: [hr]\nredirect: /x\n---\n# Leave\n\nTake leave.\n",
    )
    text = parse_text(parser, path)
    assert "Leave" in text and "Take leave." in text
    assert "access_groups" not in text and "redirect" not in text and "Secret title" not in text


def test_handbook_pages_parse_without_front_matter(parser: UnstructuredParser) -> None:
    about = parse_text(parser, HANDBOOK / "about.md")
    assert "In a nutshell, the Handbook is our take on internal government documentation" in about
    assert "title:" not in about and "tts-handbook" not in about
    with pytest.raises(IngestError, match="front matter only"):
        parse_text(parser, HANDBOOK / "about-us" / "org-chart.md")


def test_whitespace_only_and_front_matter_only_files(parser: UnstructuredParser, tmp_path: Path) -> None:
    for name, data in (("blank.txt", " \n\t\n"), ("only.md", "---\ntitle: x\n---\n")):
        with pytest.raises(IngestError, match=r"empty|no extractable text"):
            parse(parser, SourceFile(write(tmp_path / name, data), tmp_path))


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("fake.docx", b"PK\x03\x04 this is not really a zip", "corrupt .docx"),
        ("fake.xlsx", b"just some text in a spreadsheet name", "corrupt .xlsx"),
        ("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "a legacy binary Office"),
        ("binary.txt", bytes(range(256)) * 8, ""),
    ],
)
def test_corrupt_files_raise_ingest_error(
    parser: UnstructuredParser, tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    path = write(tmp_path / name, data)
    try:
        text = parse_text(parser, path)
    except IngestError as e:
        assert str(e).startswith(f"{path.as_posix()}: {reason}")
    else:
        assert name == "binary.txt" and text.strip(), "only undecodable text may come through"


def test_unsupported_and_missing_files(parser: UnstructuredParser, tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="unsupported file type"):
        parse(parser, SourceFile(write(tmp_path / "a.doc", "legacy"), tmp_path))
    with pytest.raises(IngestError, match=r"gone\.txt: the file is gone"):
        parse(parser, SourceFile(tmp_path / "gone.txt", tmp_path))


def test_csv_is_parsed_as_a_table(parser: UnstructuredParser, tmp_path: Path) -> None:
    path = write(tmp_path / "limits.csv", "category,limit\nhotel,180\nmeals,40\n")
    sections = parse(parser, SourceFile(path, tmp_path)).sections
    assert [s.category for s in sections] == ["table"]
    assert "hotel 180" in sections[0].text


def test_the_title_is_read_with_the_file(parser: UnstructuredParser, tmp_path: Path) -> None:
    path = write(tmp_path / "guide.md", "---\ntitle: Travel   guide\n---\n# Heading\n\nBody text.\n")
    assert parse(parser, SourceFile(path, tmp_path)).title == "Travel guide"
    html = write(tmp_path / "vpn.html", "<html><head><title>VPN</title></head><body><p>Hi</p></body></html>")
    assert parse(parser, SourceFile(html, tmp_path)).title == "VPN"


def test_a_fifo_is_refused_without_blocking(parser: UnstructuredParser, tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # opening it for reading the usual way blocks until a writer comes
    with pytest.raises(IngestError, match=r"pipe\.txt: a FIFO \(named pipe\), not a regular file"):
        parse(parser, SourceFile(fifo, tmp_path))


def test_a_link_is_not_followed(parser: UnstructuredParser, tmp_path: Path) -> None:
    secret = write(tmp_path / "outside" / "key.txt", "the weaviate key")
    link = tmp_path / "docs" / "ops-notes.txt"
    link.parent.mkdir()
    link.symlink_to(secret)
    with pytest.raises(IngestError, match="symbolic link"):
        parse(parser, SourceFile(link, link.parent))


def test_a_file_over_the_size_limit_fails_with_its_size(tmp_path: Path) -> None:
    path = write(tmp_path / "big.txt", "word " * 300)
    small = UnstructuredParser(max_file_bytes=1000)
    with pytest.raises(IngestError, match=r"big\.txt: too large \(1,500 bytes; the limit is 1,000 bytes"):
        parse(small, SourceFile(path, tmp_path))


def test_parsers_read_a_private_copy_of_the_checked_bytes(tmp_path: Path) -> None:
    import stat

    from backends.unstructured import _private_copy

    original = write(tmp_path / "docs" / "notes.docx", b"PK\x03\x04 checked bytes")
    with _private_copy(SourceFile(original, tmp_path), original.read_bytes()) as copy:
        assert copy.name == "notes.docx" and copy.read_bytes() == original.read_bytes()
        assert stat.S_IMODE(copy.stat().st_mode) == 0o600
        assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o700
        original.unlink()
        original.symlink_to("/proc/self/environ")  # swapped after the checks: the copy is unmoved
        assert copy.read_bytes() == b"PK\x03\x04 checked bytes"
    assert not copy.exists()


def test_errors_name_the_document_not_its_copy(parser: UnstructuredParser, tmp_path: Path) -> None:
    path = write(tmp_path / "broken.docx", b"PK\x03\x04 this is not really a zip")
    with pytest.raises(IngestError) as caught:
        parse(parser, SourceFile(path, tmp_path))
    assert "docduet-parse-" not in str(caught.value)
