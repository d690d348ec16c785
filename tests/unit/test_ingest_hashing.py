"""Fingerprints: stable, and different whenever bytes, access or the pipeline change."""

from __future__ import annotations

import re

import pytest

from core.domain import Access, Sensitivity
from core.settings import Settings
from ingest.hashing import PIPELINE_VERSION, fingerprint, pipeline_id

ACCESS = Access(("employees",), Sensitivity.INTERNAL)


DATA = b"hello world\n"


def test_stable_and_hex() -> None:
    first = fingerprint(DATA, ACCESS, pipeline="p1")
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert fingerprint(DATA, ACCESS, pipeline="p1") == first


def test_indexes_built_before_the_one_read_stay_current() -> None:
    """The same bytes, access and pipeline give the hash the file-reading version gave."""
    assert fingerprint(DATA, ACCESS, pipeline="p1") == (
        "e21339fd7c5a1eecc2b980dfbcc0c2a697634a5ea7c6c5e21829ab2f8f63cd00"
    )


def test_group_order_does_not_matter() -> None:
    a = fingerprint(DATA, Access(("a", "b"), Sensitivity.INTERNAL), pipeline="p")
    b = fingerprint(DATA, Access(("b", "a"), Sensitivity.INTERNAL), pipeline="p")
    assert a == b


def test_changes_with_bytes() -> None:
    assert fingerprint(b"hello world!\n", ACCESS, pipeline="p") != fingerprint(DATA, ACCESS, pipeline="p")


@pytest.mark.parametrize(
    "other",
    [
        Access(("employees", "hr"), Sensitivity.INTERNAL),
        Access(("hr",), Sensitivity.INTERNAL),
        Access(("employees",), Sensitivity.CONFIDENTIAL),
    ],
)
def test_changes_with_access(other: Access) -> None:
    assert fingerprint(DATA, other, pipeline="p") != fingerprint(DATA, ACCESS, pipeline="p")


def test_changes_with_pipeline() -> None:
    assert fingerprint(DATA, ACCESS, pipeline="p1") != fingerprint(DATA, ACCESS, pipeline="p2")


def test_pipeline_id_records_version_model_and_chunk_settings() -> None:
    base = Settings()
    pid = pipeline_id(base.ingest, "all-MiniLM-L6-v2")
    assert PIPELINE_VERSION in pid and "all-MiniLM-L6-v2" in pid
    assert pipeline_id(Settings().ingest, "all-MiniLM-L6-v2") == pid
    variants = [
        pipeline_id(base.ingest, "other-model"),
        pipeline_id(base.replace(chunk_max_chars=999).ingest, "all-MiniLM-L6-v2"),
        pipeline_id(base.replace(chunk_new_after_chars=777).ingest, "all-MiniLM-L6-v2"),
        pipeline_id(base.replace(chunk_combine_under_chars=55).ingest, "all-MiniLM-L6-v2"),
        pipeline_id(base.replace(chunk_max_tokens=128).ingest, "all-MiniLM-L6-v2"),
        pipeline_id(base.replace(chunk_overlap_tokens=0).ingest, "all-MiniLM-L6-v2"),
        pipeline_id(base.replace(piece_max_tokens=32).ingest, "all-MiniLM-L6-v2"),
        pipeline_id(base.replace(piece_vectors="late").ingest, "all-MiniLM-L6-v2"),
    ]
    assert len({pid, *variants}) == 9


def test_settings_that_do_not_shape_chunks_leave_the_pipeline_id_alone() -> None:
    base = Settings()
    assert pipeline_id(base.replace(top_k=17).ingest, "m") == pipeline_id(base.ingest, "m")
