"""A file that hangs the parser, ingested through the real worker, parser, embedder and Weaviate."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from tests_helpers import chunk_ids

from backends.unstructured import UnstructuredParser
from core.domain import SourceFile
from core.settings import Settings
from docduet.compose import build_embedder, open_index
from ingest.isolation import IsolatedParser
from ingest.pipeline import Ingestor

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
TIME_LIMIT_S = 15.0


class HangsOnStuckFiles(UnstructuredParser):
    """The real parser, except that a file named ``stuck*`` never finishes (a pathological file)."""

    def parse(self, file: SourceFile, data: bytes):  # type: ignore[no-untyped-def]
        if file.path.name.startswith("stuck"):
            time.sleep(3600)
        return super().parse(file, data)


def test_a_hanging_file_is_reported_and_everything_else_is_ingested(
    settings: Settings, tmp_path: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("policies/travel-and-expense-policy.pdf", "it/vpn-setup.html"):
        shutil.copy(REPO / "corpora" / name, folder)
    (folder / "stuck.md").write_text("# Stuck\n\nThis file makes the parser loop forever.\n")

    embedder = build_embedder(settings)
    with (
        open_index(settings) as connection,
        IsolatedParser(HangsOnStuckFiles(), timeout_s=TIME_LIMIT_S) as parser,
    ):
        connection.index.ensure(embedding_model=embedder.name, dim=embedder.dim)
        started = time.monotonic()
        summary = Ingestor(connection.index, parser, embedder, settings).run([folder])
        elapsed = time.monotonic() - started

    stuck = (folder / "stuck.md").resolve().as_posix()
    (failure,) = summary.failed
    assert failure.source == stuck
    assert f"parsing took longer than {TIME_LIMIT_S:g} s" in failure.reason
    assert len(summary.added) == 2 and summary.chunks > 0
    assert set(chunk_ids(settings)) == set(summary.added)
    assert elapsed < TIME_LIMIT_S + 120  # stopped at the limit, not after the hour
