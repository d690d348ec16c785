"""Incremental ingestion against the in-memory chunk index: what a re-run writes, keeps and drops.

The same rules run against Weaviate in tests/integration/test_ingest.py; here they run in
milliseconds with a plain-text parser and a hashing embedder (tests/fakes.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes import HashingEmbedder, PlainTextParser

from backends.memory import MemoryChunkIndex
from core.settings import Settings
from ingest.pipeline import Ingestor
from ingest.summary import IngestSummary


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    leave = "# Leave\n\nEmployees get 27 days of annual leave.\n\nUp to 5 carry over.\n"
    (folder / "leave.md").write_text(leave)
    (folder / "travel.md").write_text("# Travel\n\nBook trains for trips under four hours.\n")
    (folder / "it.txt").write_text("Laptops are replaced every four years.\n")
    return folder


class Setup:
    def __init__(self, tmp_path: Path) -> None:
        self.index = MemoryChunkIndex()
        self.embedder = HashingEmbedder()
        self.index.ensure(embedding_model=self.embedder.name, dim=self.embedder.dim)
        self.parser = PlainTextParser()
        self.settings = Settings(data_dir=tmp_path / "data", corpus_root=tmp_path)

    def run(self, folder: Path, *, dry_run: bool = False) -> IngestSummary:
        self.parser.parsed.clear()
        return Ingestor(self.index, self.parser, self.embedder, self.settings).run([folder], dry_run=dry_run)


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


def notes(tmp_path: Path, count: int) -> Path:
    """A folder of ``count`` small Markdown notes."""
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(count):
        (folder / f"note-{i:02}.md").write_text(f"# Note {i}\n\nRoom {i} is booked on day {i}.\n")
    return folder


def sources(index: MemoryChunkIndex) -> set[str]:
    return {Path(s).name for s in index.snapshot()}


def test_the_first_run_adds_every_file(setup: Setup, docs: Path) -> None:
    summary = setup.run(docs)
    assert len(summary.added) == 3 and not summary.failed
    assert sources(setup.index) == {"leave.md", "travel.md", "it.txt"}
    assert summary.total_chunks == setup.index.count() > 0
    assert all(doc.complete_hash() for doc in setup.index.snapshot().values())


def test_a_second_run_over_unchanged_files_parses_and_writes_nothing(setup: Setup, docs: Path) -> None:
    setup.run(docs)
    before, embedded = {c.chunk_id for c in setup.index.chunks()}, setup.embedder.calls
    summary = setup.run(docs)
    assert len(summary.unchanged) == 3 and not summary.added and not summary.updated
    assert setup.parser.parsed == [] and setup.embedder.calls == embedded and summary.chunks == 0
    assert {c.chunk_id for c in setup.index.chunks()} == before


def test_an_edited_file_is_replaced_and_its_old_chunks_pruned(setup: Setup, docs: Path) -> None:
    setup.run(docs)
    others = {c.chunk_id for c in setup.index.chunks() if not c.source.endswith("leave.md")}
    (docs / "leave.md").write_text("# Leave\n\nEmployees get 30 days of annual leave.\n")
    summary = setup.run(docs)
    assert [Path(s).name for s in summary.updated] == ["leave.md"] and len(summary.unchanged) == 2
    assert [Path(s).name for s in setup.parser.parsed] == ["leave.md"]
    leave = [c for c in setup.index.chunks() if c.source.endswith("leave.md")]
    assert len({c.content_hash for c in leave}) == 1 and all("27 days" not in c.text for c in leave)
    assert any("30 days" in c.text for c in leave)
    assert {c.chunk_id for c in setup.index.chunks() if not c.source.endswith("leave.md")} == others
    assert all(doc.complete_hash() for doc in setup.index.snapshot().values())


def test_a_deleted_file_loses_its_chunks(setup: Setup, docs: Path) -> None:
    setup.run(docs)
    (docs / "travel.md").unlink()
    summary = setup.run(docs)
    assert [Path(s).name for s in summary.deleted] == ["travel.md"]
    assert sources(setup.index) == {"leave.md", "it.txt"}


def test_a_corrupt_file_is_reported_the_rest_ingested_and_a_rerun_adds_no_duplicates(
    setup: Setup, docs: Path
) -> None:
    (docs / "broken.md").write_text("# Broken\n\nBROKEN\n")
    first = setup.run(docs)
    assert [Path(f.source).name for f in first.failed] == ["broken.md"]
    assert "corrupt" in first.failed[0].reason
    assert sources(setup.index) == {"leave.md", "travel.md", "it.txt"}
    count = setup.index.count()
    second = setup.run(docs)
    assert [Path(f.source).name for f in second.failed] == ["broken.md"] and len(second.unchanged) == 3
    assert setup.index.count() == count


def test_a_dry_run_writes_nothing(setup: Setup, docs: Path) -> None:
    summary = setup.run(docs, dry_run=True)
    assert len(summary.added) == 3 and setup.index.count() == 0


def test_a_run_says_where_its_time_went(setup: Setup, docs: Path) -> None:
    summary = setup.run(docs)
    stages = summary.stage_seconds
    assert {"discover", "plan", "parse", "chunk", "embed", "write", "prune"} <= set(stages)
    assert all(v >= 0 for v in stages.values()) and sum(stages.values()) <= summary.seconds
    assert summary.to_json()["stage_seconds"] == {k: round(v, 3) for k, v in stages.items()}
    again = setup.run(docs)  # nothing changed: nothing parsed or embedded
    assert "parse" not in again.stage_seconds and "embed" not in again.stage_seconds


def test_the_chunks_of_many_files_are_embedded_together_and_each_file_still_written_whole(
    setup: Setup, tmp_path: Path
) -> None:
    folder = notes(tmp_path, 12)
    (folder / "note-05.md").write_text("BROKEN")
    summary = setup.run(folder)
    assert setup.embedder.calls == 1  # eleven files, one call: full, length-sorted batches
    assert len(summary.added) == 11 and [Path(f.source).name for f in summary.failed] == ["note-05.md"]
    assert len(sources(setup.index)) == 11 and summary.chunks == setup.index.count()


def test_chunks_are_embedded_a_few_encoder_batches_at_a_time_not_all_at_the_end(
    setup: Setup, tmp_path: Path
) -> None:
    folder = notes(tmp_path, 40)
    setup.settings = setup.settings.replace(embedding_batch_size=2)  # 8 chunks a call
    summary = setup.run(folder)
    assert len(summary.added) == 40 and setup.embedder.calls >= 40 // 8
