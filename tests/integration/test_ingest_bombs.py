"""Expansion bombs in a real ingest: each fails with its reason, the other files are indexed.

Through the composition root (``run_ingest`` -> ``build_parser``: unstructured in the capped
worker process with the DOCDUET_* limits), the real embedder and a real weaviate-server.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from bombs import docx_bomb, write, xlsx_bomb
from tests_helpers import chunk_ids

from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import run_ingest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
REAL = ("policies/information-security-policy.docx", "hr/salary-bands-2025.xlsx", "it/vpn-setup.html")


def folder_with_real_files(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in REAL:
        shutil.copy(REPO / "corpora" / name, folder)
    return folder


def test_bombs_fail_with_their_reason_and_the_other_files_are_ingested(
    settings: Settings, tmp_path: Path
) -> None:
    folder = folder_with_real_files(tmp_path)
    write(folder / "zip-bomb.docx", docx_bomb(400_000))  # 104 KB -> 30 MB of XML
    write(folder / "paragraphs.docx", docx_bomb(30_000))  # 8.7 KB -> 1.3 million characters
    write(folder / "shared-string.xlsx", xlsx_bomb(5_000, 10, "y" * 280))  # 6 KB -> 14 million

    started = time.monotonic()
    summary = run_ingest(settings, [folder], progress=NullProgress())
    elapsed = time.monotonic() - started

    failed = {Path(f.source).name: f.reason for f in summary.failed}
    assert set(failed) == {"zip-bomb.docx", "paragraphs.docx", "shared-string.xlsx"}
    assert "its zip members unpack to 30,400,894 bytes" in failed["zip-bomb.docx"]
    for name in ("paragraphs.docx", "shared-string.xlsx"):
        assert "characters from" in failed[name] and "it may be a decompression bomb" in failed[name]
    assert all("raise DOCDUET_MAX_EXPANSION_RATIO and re-run" in r for r in failed.values())
    assert sorted(Path(s).name for s in summary.added) == sorted(Path(n).name for n in REAL)
    assert set(chunk_ids(settings)) == set(summary.added)  # nothing of a bomb reached the index
    assert elapsed < 180  # the bombs cost milliseconds; parsed, they took minutes each


def test_the_memory_cap_stops_a_bomb_the_text_limits_let_through(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    """With the text limits raised out of the way, the worker's memory cap is what stops it."""
    settings = make_settings(max_expansion_ratio=1e9, max_extracted_chars=10**12, parse_max_memory_mb=300)
    folder = folder_with_real_files(tmp_path)
    # 76 MB of XML: python-docx's tree of it alone needs about 550 MB (parsed before the real files)
    write(folder / "a-bomb.docx", docx_bomb(1_000_000))

    summary = run_ingest(settings, [folder], progress=NullProgress())

    (failure,) = summary.failed
    assert failure.source.endswith("/a-bomb.docx")
    assert "parsing ran out of memory (the parser may use 300 MB for a file" in failure.reason
    assert "raise DOCDUET_PARSE_MAX_MEMORY_MB, then re-run" in failure.reason
    assert len(summary.added) == len(REAL)  # the next files got a fresh worker
