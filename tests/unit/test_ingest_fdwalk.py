"""One read of each file, by descriptor from its ingest root (ingest/fdwalk.py; issue #21, 1 and 7).

The attacker owns ``public/sub`` and swaps it for a link to ``hr`` (tests/swaps.py): after the
scan, or before any one of the file-system calls the scan and the read make. Whatever the moment,
the read returns the decoy's bytes or refuses; never the HR file's.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from swaps import Attacker, strike_before_call, swap_for_link

from core.domain import SourceFile
from core.errors import IngestError
from ingest.discover import scan
from ingest.fdwalk import read_document

HR = b"HR ONLY: salary band midpoints"
DECOY = b"lunch menu"
LIMIT = 1_000_000


def corpus(tmp_path: Path) -> Path:
    root = tmp_path / "corpus"
    (root / "hr").mkdir(parents=True)
    (root / "public" / "sub").mkdir(parents=True)
    (root / "hr" / "salary.txt").write_bytes(HR)
    (root / "public" / "sub" / "salary.txt").write_bytes(DECOY)
    return root


def test_reads_the_file_the_scan_found(tmp_path: Path) -> None:
    root = corpus(tmp_path)
    [file] = scan([root / "public"]).files
    assert file.identity == (file.path.stat().st_dev, file.path.stat().st_ino)
    assert read_document(file, max_bytes=LIMIT) == DECOY


def test_a_folder_swapped_for_a_link_after_the_scan_is_not_followed(tmp_path: Path) -> None:
    root = corpus(tmp_path)
    [file] = scan([root / "public"]).files
    swap_for_link(root / "public" / "sub", root / "hr")
    with pytest.raises(IngestError, match=r"the folder .*/public/sub on its path is a symbolic link"):
        read_document(file, max_bytes=LIMIT)
    # without the scan's look (as "Download source" reads), the walk alone refuses the link
    with pytest.raises(IngestError, match="symbolic link"):
        read_document(SourceFile(file.path, file.root), max_bytes=LIMIT)


def test_another_file_put_in_its_place_after_the_scan_is_refused(tmp_path: Path) -> None:
    root = corpus(tmp_path)
    [file] = scan([root / "public"]).files
    sub = root / "public" / "sub"
    sub.rename(root / "public" / "old")
    sub.mkdir()
    (sub / "salary.txt").write_bytes(b"another file of that name")
    with pytest.raises(IngestError, match=r"not the file the scan found at this path.*re-run"):
        read_document(file, max_bytes=LIMIT)


def test_a_swap_before_any_file_system_call_of_scan_and_read_never_yields_the_target(
    tmp_path: Path,
) -> None:
    calls = len(scan_and_read(corpus(tmp_path / "count"), None)[1])
    assert calls > 10
    for nth in range(calls + 1):  # each moment between two calls, and once after the last
        root = corpus(tmp_path / str(nth))
        attacker = Attacker(lambda root=root: swap_for_link(root / "public" / "sub", root / "hr"))
        read, _ = scan_and_read(root, attacker, nth)
        assert HR not in read, f"the HR file was read with a swap before call {nth}"
        assert attacker.struck == (nth < calls)
        assert read == [DECOY] or attacker.struck


def scan_and_read(root: Path, attacker: Attacker | None, nth: int = 0) -> tuple[list[bytes], list[str]]:
    """What ingestion does first (scan, then read each file), the attacker striking before call ``nth``."""
    read: list[bytes] = []
    with strike_before_call(attacker, nth) as seen:
        for file in scan([root / "public"]).files:
            try:
                read.append(read_document(file, max_bytes=LIMIT))
            except IngestError as e:
                assert "symbolic link" in str(e) or "changed while being read" in str(e), e
    return read, seen


def test_a_file_with_several_hard_links_is_refused(tmp_path: Path) -> None:
    root = corpus(tmp_path)
    os.link(root / "hr" / "salary.txt", root / "public" / "copy.txt")
    found = {f.path.relative_to(root).as_posix(): f for f in scan([root]).files}
    for name in ("public/copy.txt", "hr/salary.txt"):  # both names: which folder's access applies?
        match = r"has 2 hard links; docduet cannot tell which folder's access applies; copy it instead"
        with pytest.raises(IngestError, match=match):
            read_document(found[name], max_bytes=LIMIT)


def test_links_fifos_missing_and_large_files_are_refused(tmp_path: Path) -> None:
    root = corpus(tmp_path)
    public = root / "public"
    (public / "link.txt").symlink_to(root / "hr" / "salary.txt")
    os.mkfifo(public / "pipe.txt")  # would block a plain open() for ever
    (public / "big.txt").write_bytes(b"x" * 2000)
    cases = {
        "link.txt": r"link\.txt: the file is a symbolic link; docduet does not follow links",
        "pipe.txt": r"pipe\.txt: a FIFO \(named pipe\), not a regular file",
        "gone.txt": r"gone\.txt: the file is gone",
        "big.txt": r"big\.txt: too large \(2,000 bytes; the limit is 1,999 bytes",
    }
    for name, match in cases.items():
        with pytest.raises(IngestError, match=match):
            read_document(SourceFile(public / name, public), max_bytes=1999)
    assert read_document(SourceFile(public / "big.txt", public), max_bytes=2000) == b"x" * 2000


def test_only_files_below_their_root_are_read(tmp_path: Path) -> None:
    root = corpus(tmp_path)
    with pytest.raises(IngestError, match="not inside its ingest root"):
        read_document(SourceFile(root / "hr" / "salary.txt", root / "public"), max_bytes=LIMIT)
    with pytest.raises(IngestError, match="not a file below its ingest root"):
        read_document(SourceFile(root / "public", root / "public"), max_bytes=LIMIT)
