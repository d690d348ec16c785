"""Files and folders that hold answers, document text or keys: readable by their owner only.

The data dir (Weaviate's data, feedback with full answers, ingest summaries, locks) is created
0700 and its files 0600, whatever the umask; an existing one that others could read is tightened
(with a warning), so an upgrade fixes what an earlier version created.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) and make it 0700; returns it."""
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    _restrict(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create ``path`` empty if missing (0600, its folder 0700) or make an existing one 0600."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    os.close(fd)
    _restrict(path, FILE_MODE)
    return path


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically, as a 0600 file in a 0700 folder."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _restrict(path: Path, mode: int) -> None:
    current = stat.S_IMODE(path.lstat().st_mode)
    if current & ~mode & 0o777:
        log.warning("%s was accessible to other users (mode %o); restricting it to %o", path, current, mode)
    if current != mode:
        os.chmod(path, mode)
