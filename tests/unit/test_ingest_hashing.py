"""Fingerprints: stable, and different whenever bytes, access or the pipeline change."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core.domain import Access, Sensitivity, SourceFile
from core.errors import IngestError
from core.settings import Settings
from ingest.hashing import PIPELINE_VERSION, fingerprint, pipeline_id

ACCESS = Access(("employees",), Sensitivity.INTERNAL)


@pytest.fixture
def file(tmp_path: Path) -> SourceFile:
    path = tmp_path / "a.txt"
    path.write_bytes(b"hello world\n")
    return SourceFile(path, tmp_path)


def test_stable_and_hex(file: SourceFile) -> None:
    first = fingerprint(file, ACCESS, pipeline="p1")
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert fingerprint(file, ACCESS, pipeline="p1") == first


def test_group_order_does_not_matter(file: SourceFile) -> None:
    a = fingerprint(file, Access(("a", "b"), Sensitivity.INTERNAL), pipeline="p")
    b = fingerprint(file, Access(("b", "a"), Sensitivity.INTERNAL), pipeline="p")
    assert a == b


def test_changes_with_bytes(file: SourceFile) -> None:
    before = fingerprint(file, ACCESS, pipeline="p")
    file.path.write_bytes(b"hello world!\n")
    assert fingerprint(file, ACCESS, pipeline="p") != before


def test_same_bytes_same_hash_regardless_of_name_or_mtime(tmp_path: Path, file: SourceFile) -> None:
    copy = tmp_path / "copy.txt"
    copy.write_bytes(file.path.read_bytes())
    assert fingerprint(SourceFile(copy, tmp_path), ACCESS, pipeline="p") == fingerprint(
        file, ACCESS, pipeline="p"
    )


@pytest.mark.parametrize(
    "other",
    [
        Access(("employees", "hr"), Sensitivity.INTERNAL),
        Access(("hr",), Sensitivity.INTERNAL),
        Access(("employees",), Sensitivity.CONFIDENTIAL),
    ],
)
def test_changes_with_access(file: SourceFile, other: Access) -> None:
    assert fingerprint(file, other, pipeline="p") != fingerprint(file, ACCESS, pipeline="p")


def test_changes_with_pipeline(file: SourceFile) -> None:
    assert fingerprint(file, ACCESS, pipeline="p1") != fingerprint(file, ACCESS, pipeline="p2")


def test_unreadable_file_raises(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match=r"gone\.txt: unreadable"):
        fingerprint(SourceFile(tmp_path / "gone.txt", tmp_path), ACCESS, pipeline="p")


def test_only_regular_files_within_the_limit_are_hashed(tmp_path: Path) -> None:
    import os

    os.mkfifo(tmp_path / "pipe.txt")  # would block a plain open() for ever
    with pytest.raises(IngestError, match="FIFO"):
        fingerprint(SourceFile(tmp_path / "pipe.txt", tmp_path), ACCESS, pipeline="p")
    (tmp_path / "big.txt").write_bytes(b"x" * 2000)
    with pytest.raises(IngestError, match=r"big\.txt: too large"):
        fingerprint(SourceFile(tmp_path / "big.txt", tmp_path), ACCESS, pipeline="p", max_bytes=1999)
    assert fingerprint(SourceFile(tmp_path / "big.txt", tmp_path), ACCESS, pipeline="p", max_bytes=2000)


def test_pipeline_id_records_version_model_and_chunk_settings() -> None:
    base = Settings()
    pid = pipeline_id(base, "all-MiniLM-L6-v2")
    assert PIPELINE_VERSION in pid and "all-MiniLM-L6-v2" in pid
    assert pipeline_id(Settings(), "all-MiniLM-L6-v2") == pid
    variants = [
        pipeline_id(base, "other-model"),
        pipeline_id(base.model_copy(update={"chunk_max_chars": 999}), "all-MiniLM-L6-v2"),
        pipeline_id(base.model_copy(update={"chunk_new_after_chars": 777}), "all-MiniLM-L6-v2"),
        pipeline_id(base.model_copy(update={"chunk_combine_under_chars": 55}), "all-MiniLM-L6-v2"),
        pipeline_id(base.model_copy(update={"chunk_max_tokens": 128}), "all-MiniLM-L6-v2"),
        pipeline_id(base.model_copy(update={"chunk_overlap_tokens": 0}), "all-MiniLM-L6-v2"),
        pipeline_id(base.model_copy(update={"piece_max_tokens": 32}), "all-MiniLM-L6-v2"),
        pipeline_id(base.model_copy(update={"piece_vectors": "late"}), "all-MiniLM-L6-v2"),
    ]
    assert len({pid, *variants}) == 9


def test_settings_that_do_not_shape_chunks_leave_the_pipeline_id_alone() -> None:
    base = Settings()
    assert pipeline_id(base.model_copy(update={"top_k": 17}), "m") == pipeline_id(base, "m")
