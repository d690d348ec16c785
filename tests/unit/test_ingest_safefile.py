"""Reading corpus files: regular files within a size limit, never a link, FIFO or device."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.domain import PUBLIC_GROUP, Access, Sensitivity
from core.errors import IngestError
from ingest.access import access_within
from ingest.safefile import describe_size, is_within, read_regular


def test_reads_a_regular_file_within_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"x" * 10)
    assert read_regular(path, max_bytes=10) == b"x" * 10
    with pytest.raises(IngestError, match=r"a\.txt: too large \(10 bytes; the limit is 9 bytes"):
        read_regular(path, max_bytes=9)


@pytest.mark.parametrize("target", ["/dev/zero", "/proc/self/environ"])
def test_links_are_refused_even_to_readable_things(tmp_path: Path, target: str) -> None:
    link = tmp_path / "notes.txt"
    link.symlink_to(target)
    with pytest.raises(IngestError, match=r"notes\.txt: a symbolic link; docduet does not follow links"):
        read_regular(link, max_bytes=1000)


def test_devices_and_fifos_are_refused_without_blocking(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="a character device, not a regular file"):
        read_regular(Path("/dev/zero"), max_bytes=1000)
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(IngestError, match=r"a FIFO \(named pipe\), not a regular file"):
        read_regular(tmp_path / "pipe", max_bytes=1000)


def test_is_within_resolves_links(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "in.txt").write_text("x")
    (tmp_path / "root" / "out").symlink_to(tmp_path)
    assert is_within(tmp_path / "root" / "in.txt", tmp_path / "root")
    assert not is_within(tmp_path / "root" / "out" / "x", tmp_path / "root")


def test_sizes_are_described_for_people() -> None:
    assert describe_size(6017) == "6,017 bytes" and describe_size(123_456_789) == "123.5 MB"


def test_access_within_means_no_new_reader_and_no_lower_sensitivity() -> None:
    hr = Access(("hr",), Sensitivity.CONFIDENTIAL)
    staff = Access(("employees", "hr"), Sensitivity.INTERNAL)
    public = Access(("marketing", PUBLIC_GROUP), Sensitivity.PUBLIC)
    assert access_within(hr, staff) and not access_within(staff, hr)
    assert access_within(Access(("anyone",), Sensitivity.INTERNAL), public)  # public: everyone reads
    assert not access_within(Access(("hr",), Sensitivity.PUBLIC), hr)
