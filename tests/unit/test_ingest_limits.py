"""Expansion bombs: a small file that parses into millions of characters fails alone, early.

Through the real unstructured parser (in this process) with the bombs of ``tests/bombs.py``; the
worker's memory cap is in tests/unit/test_parse_isolation.py, the whole ingest in
tests/integration/test_ingest_bombs.py.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from bombs import docx_bomb, write, xlsx_bomb

from backends.unstructured import UnstructuredParser
from core.domain import SourceFile
from core.errors import IngestError
from core.protocols import Parsed
from ingest.limits import ExpansionLimit, out_of_memory

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOTES = ("team,note\n" + "ops,a plain sentence of the notes\n" * 300).encode()
"""A plain table (CSV: no language model to load): about one character a byte."""
BOUND_S = 10.0
"""A refusal takes well under a second; the bombs parsed would take minutes and gigabytes."""


@pytest.fixture(scope="module")
def parser() -> UnstructuredParser:
    return UnstructuredParser()  # the default limits, as DOCDUET_* defaults set them


def parse(parser: UnstructuredParser, path: Path) -> Parsed:
    return parser.parse(SourceFile(path, path.parent), path.read_bytes())


def refused(parser: UnstructuredParser, path: Path) -> str:
    started = time.monotonic()
    with pytest.raises(IngestError) as err:
        parse(parser, path)
    assert time.monotonic() - started < BOUND_S
    return str(err.value)


def test_the_limit_grows_with_the_file_between_a_floor_and_a_ceiling() -> None:
    limit = ExpansionLimit(ratio=20, ceiling_chars=10_000_000, floor_chars=100_000)
    assert limit.allowed(1_000) == 100_000
    assert limit.allowed(90_000) == 1_800_000
    assert limit.allowed(5_000_000) == 10_000_000


def test_a_docx_whose_zip_unpacks_a_thousandfold_is_refused_before_parsing(
    parser: UnstructuredParser, tmp_path: Path
) -> None:
    """The attack's DOCX: 104 KB of zip holding 30 MB of XML (16.8 million characters)."""
    bomb = write(tmp_path / "bomb.docx", docx_bomb(400_000))
    reason = refused(parser, bomb)
    assert reason.startswith(f"{bomb.as_posix()}: its zip members unpack to 30,400,894 bytes from ")
    assert "it may be a zip bomb" in reason and "raise DOCDUET_MAX_EXPANSION_RATIO and re-run" in reason


def test_a_docx_of_repeated_paragraphs_is_refused_by_its_text(
    parser: UnstructuredParser, tmp_path: Path
) -> None:
    """Under the zip check's floor (2.3 MB unpacked), still 150 characters a byte of text."""
    bomb = write(tmp_path / "paragraphs.docx", docx_bomb(30_000))
    size = bomb.stat().st_size
    reason = refused(parser, bomb)
    assert "expands to at least " in reason
    assert f"characters from {size:,} bytes, more than the limit of {20 * size:,}" in reason
    assert "raise DOCDUET_MAX_EXPANSION_RATIO and re-run" in reason


def test_an_xlsx_whose_cells_share_one_long_string_is_refused_by_its_text(
    parser: UnstructuredParser, tmp_path: Path
) -> None:
    """50,000 cells that all show one 280-character string: 14 million characters in 6 KB."""
    bomb = write(tmp_path / "ledger.xlsx", xlsx_bomb(5_000, 10, "y" * 280))
    reason = refused(parser, bomb)
    assert f"{bomb.as_posix()}: expands to at least " in reason
    assert "it may be a decompression bomb" in reason


def test_an_xlsx_of_a_million_cells_is_refused_before_parsing(
    parser: UnstructuredParser, tmp_path: Path
) -> None:
    bomb = write(tmp_path / "cells.xlsx", xlsx_bomb(100_000, 10, "Quarterly total"))
    assert "its zip members unpack to 22,102,064 bytes" in refused(parser, bomb)


def test_text_past_the_ratio_is_refused_after_parsing_for_any_format(
    parser: UnstructuredParser, tmp_path: Path
) -> None:
    """What the checks before partitioning cannot see is counted on the elements themselves."""
    table = write(tmp_path / "notes.csv", NOTES)
    strict = UnstructuredParser(expansion=ExpansionLimit(ratio=0.5, floor_chars=0))
    with pytest.raises(IngestError) as err:
        parse(strict, table)
    assert str(err.value).startswith(f"{table.as_posix()}: expands to 10,209 characters from 10,210 bytes")
    assert "limit of 5,105" in str(err.value) and "raise DOCDUET_MAX_EXPANSION_RATIO" in str(err.value)
    assert len(parse(parser, table).sections) > 0  # the default ratio lets it through


def test_text_past_the_ceiling_names_the_ceiling_setting(tmp_path: Path) -> None:
    table = write(tmp_path / "notes.csv", NOTES)
    capped = UnstructuredParser(expansion=ExpansionLimit(ceiling_chars=5_000, floor_chars=0))
    with pytest.raises(
        IngestError, match=r"more than the limit of 5,000 .*raise DOCDUET_MAX_EXTRACTED_CHARS"
    ):
        parse(capped, table)


@pytest.mark.parametrize(
    "path",
    [
        FIXTURES / "adversarial" / "first-aid-kits.docx",
        Path(__file__).resolve().parents[2] / "corpora" / "hr" / "salary-bands-2025.xlsx",
        Path(__file__).resolve().parents[2] / "corpora" / "all-hands" / "q1-2025-all-hands.pptx",
    ],
)
def test_real_office_files_pass_the_default_limits(parser: UnstructuredParser, path: Path) -> None:
    assert any(s.text.strip() for s in parse(parser, path).sections)


def test_failed_allocations_are_recognised_under_the_errors_that_wrap_them() -> None:
    try:
        try:
            raise MemoryError
        except MemoryError as e:
            raise IngestError("notes.docx: cannot be parsed (MemoryError: )") from e
    except IngestError as wrapped:
        assert out_of_memory(wrapped)
    assert out_of_memory(ValueError("Memory allocation failed : xmlSAX2Characters, line 1"))
    assert not out_of_memory(IngestError("notes.docx: corrupt .docx"))
