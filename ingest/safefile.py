"""Open small corpus files (access sidecars, ignore files) without being led outside, blocked or flooded.

:func:`read_regular` and :func:`open_regular` never follow a symbolic link in the last path
component, read only a regular file (a FIFO, socket or device is refused before any read could
block or never end), and only within a size limit. A document itself is read once, by
descriptor, from its ingest root down (:mod:`ingest.fdwalk`): its bytes are hashed, given their
access and parsed without the path being opened again.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from io import BufferedReader
from pathlib import Path

from core.errors import IngestError

DEFAULT_MAX_FILE_BYTES = 100_000_000
"""Largest document read unless told otherwise (the default of DOCDUET_MAX_FILE_BYTES)."""
SIDECAR_MAX_BYTES = 1024 * 1024
"""Largest access sidecar or ignore file read (they are a few lines)."""

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def kind_of(mode: int) -> str:
    """What a non-regular ``st_mode`` is, in words (``a FIFO``, ``a character device``...)."""
    kinds = (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    )
    return next((words for test, words in kinds if test(mode)), "not a regular file")


def too_large(origin: str, size: int, limit: int) -> IngestError:
    """The error for a file over the per-file size limit, with what to do."""
    return IngestError(
        f"{origin}: too large ({describe_size(size)}; the limit is {describe_size(limit)}, "
        "DOCDUET_MAX_FILE_BYTES); split the file, or raise the limit, then re-run"
    )


@contextmanager
def open_regular(path: Path, *, max_bytes: int, origin: str | None = None) -> Iterator[BufferedReader]:
    """``path`` opened for binary reading, if it is a regular file of at most ``max_bytes``.

    Raises :class:`IngestError` naming ``origin`` (default: the path) for a symbolic link, a
    FIFO, socket or device (never opened in a way that blocks), a file over the limit, or an
    unreadable file.
    """
    name = origin or str(path)
    try:
        fd = os.open(path, _FLAGS)
    except OSError as e:
        if os.path.islink(path):
            raise IngestError(f"{name}: a symbolic link; docduet does not follow links") from e
        raise IngestError(f"{name}: unreadable ({e.strerror or e}); check it exists and is readable") from e
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise IngestError(f"{name}: {kind_of(info.st_mode)}, not a regular file; skipped")
        if info.st_size > max_bytes:
            raise too_large(name, info.st_size, max_bytes)
        os.set_blocking(fd, True)
        handle = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with handle:
        yield handle


def read_regular(path: Path, *, max_bytes: int, origin: str | None = None) -> bytes:
    """The bytes of ``path`` (see :func:`open_regular`); a file that grows past the limit fails."""
    name = origin or str(path)
    with open_regular(path, max_bytes=max_bytes, origin=name) as handle:
        try:
            data = handle.read(max_bytes + 1)
        except OSError as e:
            raise IngestError(f"{name}: unreadable ({e.strerror or e}); check it is readable") from e
    if len(data) > max_bytes:
        raise too_large(name, len(data), max_bytes)
    return data


def is_within(path: Path, root: Path) -> bool:
    """True when ``path`` really lies under ``root`` once every symbolic link is resolved."""
    real = Path(os.path.realpath(path))
    return real == Path(os.path.realpath(root)) or real.is_relative_to(os.path.realpath(root))


def describe_size(size: int) -> str:
    """``1,234 bytes`` or ``12.3 MB``."""
    return f"{size:,} bytes" if size < 1_000_000 else f"{size / 1_000_000:.1f} MB"
