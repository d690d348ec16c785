"""The parsing seam from ingestion's side: it reads what the parser declares, and gets plain sections.

Against the in-memory index with tests/fakes.py's parser and embedder; the parser contract itself
is tests/contract/parser_contract.py.
"""

from __future__ import annotations

from pathlib import Path

from fakes import HashingEmbedder, PlainTextParser

from backends.memory import MemoryChunkIndex
from backends.unstructured import UnstructuredParser
from core.domain import SourceFile
from core.protocols import Parsed, Section
from core.settings import Settings
from ingest.discover import SUPPORTED_SUFFIXES
from ingest.pipeline import Ingestor


class NotesParser(PlainTextParser):
    """Reads only ``.notes`` files, as plain text: a parser for a suffix the built-in one does not read."""

    SUFFIXES = (".notes",)
    suffixes = frozenset(SUFFIXES)


def ingest(root: Path, parser: PlainTextParser) -> tuple[MemoryChunkIndex, dict[str, int], list[str]]:
    index, embedder = MemoryChunkIndex(), HashingEmbedder()
    index.ensure(embedding_model=embedder.name, dim=embedder.dim)
    settings = Settings(data_dir=root.parent / "data")
    summary = Ingestor(index, parser, embedder, settings).run([root])
    return index, summary.unsupported, [failure.source for failure in summary.failed]


def test_ingestion_scans_for_the_suffixes_its_parser_declares(tmp_path: Path) -> None:
    root = tmp_path / "docs"
    root.mkdir()
    (root / "travel.md").write_text("# Travel\n\nBook trains early.\n")
    (root / "limits.csv").write_text("category,limit\nhotel,180\n")  # the built-in parser reads it
    (root / "minutes.notes").write_text("# Minutes\n\nThe board met.\n")  # only NotesParser does
    index, unsupported, failed = ingest(root, PlainTextParser())
    assert {c.source.rsplit("/", 1)[1] for c in index.chunks()} == {"travel.md"}
    assert unsupported == {".csv": 1, ".notes": 1} and failed == []  # passed over, not failed
    index, unsupported, failed = ingest(root, NotesParser())
    assert {c.section for c in index.chunks()} == {"Minutes"}
    assert unsupported == {".csv": 1, ".md": 1} and failed == []


def test_the_built_in_parser_declares_what_discovery_looks_for_by_default() -> None:
    assert UnstructuredParser().suffixes == SUPPORTED_SUFFIXES


def test_the_fake_parser_returns_sections_under_their_headings(tmp_path: Path) -> None:
    data = b"Before any heading.\n\n# Travel\n\nBook trains early.\n\nKeep receipts.\n\n"
    data += b"# Meals\n\nUp to 40 EUR.\n"
    parsed = PlainTextParser().parse(SourceFile(tmp_path / "policy.md", tmp_path), data)
    assert parsed == Parsed(
        (
            Section("Before any heading."),
            Section("Travel\n\nBook trains early.\n\nKeep receipts.", "Travel"),
            Section("Meals\n\nUp to 40 EUR.", "Meals"),
        ),
        "Travel",
    )
