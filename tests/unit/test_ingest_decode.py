"""Text decoding (BOMs, BOM-less UTF-16/32, cp1252, HTML charsets) and Markdown front matter."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import IngestError
from ingest.decode import decode, detect_encoding, html_declared_encoding, read_text
from ingest.frontmatter import split_front_matter

EDGE = Path(__file__).resolve().parents[1] / "fixtures" / "edge"

TEXT = "Grüße, naïve café — 15 € «ok»\nzweite Zeile\n"


@pytest.mark.parametrize(
    "encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-32", "utf-16-le", "utf-16-be", "utf-32-le"]
)
def test_unicode_encodings_round_trip(encoding: str) -> None:
    data = TEXT.encode(encoding)
    assert decode(data, origin="t") == TEXT


def test_cp1252_is_the_legacy_fallback() -> None:
    data = "Die schöne Frau, l'été, 3,50 € «à bientôt»\n".encode("cp1252")
    assert detect_encoding(data) == "cp1252"
    assert decode(data, origin="t") == "Die schöne Frau, l'été, 3,50 € «à bientôt»\n"


def test_plain_ascii_and_empty_are_utf8() -> None:
    assert detect_encoding(b"hello") == "utf-8"
    assert decode(b"", origin="t") == ""


def test_edge_files_decode() -> None:
    utf16 = read_text(EDGE / "fake-text-utf-16-le.txt")
    utf32 = read_text(EDGE / "fake-text-utf-32.txt")
    assert utf16.startswith("This is a test document to use for unit tests.")
    assert utf16 == utf32
    assert "\x00" not in utf16
    assert read_text(EDGE / "umlauts-non-utf8.md") == "## können\n\nkönnen\n\näöüß\n"
    html = read_text(EDGE / "fake-html-cp1252.html")
    assert "Die schöne Frau" in html and "L'été était très chaud" in html and "15,50 €" in html


def test_unreadable_path_raises(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="cannot read"):
        read_text(tmp_path / "missing.txt")


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'<meta charset="utf-8">', "utf-8"),
        (b"<meta http-equiv='Content-Type' content='text/html; charset=ISO-8859-1'>", "cp1252"),
        (b'<meta charset="shift_jis">', "shift_jis"),
        (b'<meta charset="no-such-codec">', None),
        (b"<p>no declaration</p>", None),
    ],
)
def test_html_declared_encoding(head: bytes, expected: str | None) -> None:
    assert html_declared_encoding(b"<html><head>" + head + b"</head><body>x</body></html>") == (expected)


def test_html_declaration_is_ignored_when_the_bytes_disagree() -> None:
    data = b'<meta charset="utf-8"><p>caf\xe9</p>'
    assert html_declared_encoding(data) is None


def test_front_matter_is_split_off() -> None:
    text = "---\ntitle: Travel\ntags: [a, b]\n---\n# Heading\n\nBody\n"
    front = split_front_matter(text, origin="t.md")
    assert front.title == "Travel"
    assert front.meta["tags"] == ["a", "b"]
    assert front.body == "# Heading\n\nBody\n"


@pytest.mark.parametrize(
    "text",
    [
        "---\r\ntitle: CRLF\r\n---\r\nbody\r\n",
        "\ufeff---\ntitle: BOM\n---\nbody\n",
        "---\ntitle: dots\n...\nbody\n",
        "---\ntitle: eof\n---",
    ],
)
def test_front_matter_variants(text: str) -> None:
    front = split_front_matter(text, origin="t.md")
    assert front.title in {"CRLF", "BOM", "dots", "eof"}
    assert "title" not in front.body and "---" not in front.body


def test_text_without_front_matter_is_all_body() -> None:
    for text in ("# Title\n\n---\n\nafter a rule\n", "text\n---\nx: y\n---\n", ""):
        front = split_front_matter(text, origin="t.md")
        assert front.body == text and dict(front.meta) == {} and front.title is None


def test_empty_front_matter_and_non_string_title() -> None:
    assert split_front_matter("---\n---\nbody", origin="t").body == "body"
    assert split_front_matter("---\ntitle: 42\n---\nbody", origin="t").title is None
