"""One writer per index at a time, across processes (the CLI, the admin page, cron).

``docduet ingest`` and ``docduet reindex`` hold an exclusive ``flock`` on a file in the data dir
(``DATA_DIR/locks/<collection>.lock``) while they change the index; a second one is refused at
once with who holds it, instead of deleting the first one's half-built collection. The lock is
released by the kernel when its holder exits, however it exits. It covers processes sharing a
data dir on one machine; several machines writing one external Weaviate need their own turn-taking.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from core.errors import IngestError
from core.private import private_dir

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def lock_path(data_dir: Path, collection: str) -> Path:
    """The lock file of ``collection``."""
    return data_dir / "locks" / f"{_UNSAFE.sub('_', collection)}.lock"


@contextlib.contextmanager
def index_lock(data_dir: Path, collection: str, *, what: str) -> Iterator[None]:
    """Hold the writer lock of ``collection`` for ``what`` (e.g. ``reindex --full``), or raise.

    Raises :class:`IngestError` naming the holder (its pid, command and start time) when
    another process or thread holds it.
    """
    path = lock_path(data_dir, collection)
    private_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            holder = os.pread(fd, 400, 0).decode("utf-8", "replace").strip() or "another process"
            raise IngestError(
                f"another ingest or reindex of {collection} is running ({holder}); wait for it "
                f"to finish, then run {what} again (lock: {path})"
            ) from e
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, {what}, since {stamp}".encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
