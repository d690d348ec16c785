"""Data at rest: private folders and files whatever the umask, and the cross-process writer lock."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import IngestError
from core.feedback import FeedbackStore
from core.private import private_dir, private_file, write_private
from ingest.lock import index_lock, lock_path

REPO = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets everyone read new files, as on many servers."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_new_folders_and_files_are_private(tmp_path: Path, open_umask: None) -> None:
    folder = private_dir(tmp_path / "data")
    file = private_file(folder / "sub" / "feedback.sqlite3")
    write_private(folder / "ingest" / "last-run.json", "{}")
    assert (mode(folder), mode(file.parent), mode(file)) == (0o700, 0o700, 0o600)
    assert mode(folder / "ingest" / "last-run.json") == 0o600
    assert (folder / "ingest" / "last-run.json").read_text() == "{}"


def test_existing_open_ones_are_tightened_with_a_warning(
    tmp_path: Path, open_umask: None, caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    file = folder / "feedback.sqlite3"
    file.write_text("answers")
    os.chmod(file, 0o644)
    private_dir(folder)
    private_file(file)
    assert (mode(folder), mode(file), file.read_text()) == (0o700, 0o600, "answers")
    assert "was accessible to other users" in caplog.text


def test_the_feedback_database_is_private(tmp_path: Path, open_umask: None) -> None:
    store = FeedbackStore.in_data_dir(tmp_path / "data")
    assert mode(tmp_path / "data") == 0o700 and mode(store.path) == 0o600


def test_a_second_writer_in_this_process_is_refused(tmp_path: Path) -> None:
    refused = r"another ingest or reindex of Docs is running \(pid \d+, docduet ingest"
    with index_lock(tmp_path, "Docs", what="docduet ingest"):
        with (
            pytest.raises(IngestError, match=refused),
            index_lock(tmp_path, "Docs", what="docduet reindex --full"),
        ):
            pass
        with index_lock(tmp_path, "Other", what="docduet ingest"):  # another index: its own lock
            pass
    with index_lock(tmp_path, "Docs", what="docduet reindex"):  # released when the holder is done
        pass
    assert mode(lock_path(tmp_path, "Docs")) == 0o600


def test_the_lock_works_across_processes_and_dies_with_its_holder(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, time
                from pathlib import Path
                from ingest.lock import index_lock
                with index_lock(Path({str(tmp_path)!r}), "Docs", what="docduet reindex --full"):
                    print("held", flush=True)
                    time.sleep(120)
                """
            ),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with (
            pytest.raises(IngestError, match=rf"pid {holder.pid}, docduet reindex --full, since"),
            index_lock(tmp_path, "Docs", what="docduet ingest"),
        ):
            pass
    finally:
        holder.kill()
        holder.wait(30)
    with index_lock(tmp_path, "Docs", what="docduet ingest"):  # the kernel released it
        pass
