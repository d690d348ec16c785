"""Read a corpus file once, by descriptor, from its ingest root down, following no link.

``O_NOFOLLOW`` on a whole path guards its last component only: a folder on the way, swapped
for a symbolic link between two looks (the scan, then the read), would lead the read outside
the corpus. Here every folder from the ingest root down is opened with ``openat(O_NOFOLLOW |
O_DIRECTORY)`` relative to the one above it, and the file itself relative to its folder; the
open file must then be the one the scan saw (device and inode), a regular file with one hard
link, within the size limit. Its bytes are read once: the caller hashes them, decides their
access and parses them, and never opens the path again.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
from pathlib import Path

from core.domain import SourceFile
from core.errors import IngestError
from ingest.safefile import kind_of, too_large

log = logging.getLogger(__name__)

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | _CLOEXEC
_LINK_ERRNOS = frozenset({errno.ELOOP, errno.EMLINK})  # EMLINK: O_NOFOLLOW on a link, on BSDs
_RERUN = "it changed while being read; nothing of it was read, re-run"


def read_document(file: SourceFile, *, max_bytes: int) -> bytes:
    """The bytes of ``file``, read once through descriptors from ``file.root`` (see the module doc).

    Raises :class:`IngestError` naming the file when a folder on its path or the file is a
    symbolic link, it is not a regular file, it is not the file the scan saw
    (``file.identity``), it has more than one hard link, it is over ``max_bytes``, or it is
    unreadable.
    """
    origin = file.source
    fd = _open_beneath(file.root, file.path, origin)
    try:
        info = os.fstat(fd)
        check_opened(info, file, max_bytes=max_bytes)
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(max_bytes + 1)
    except OSError as e:
        raise IngestError(f"{origin}: unreadable ({e.strerror or e}); check it is readable") from e
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        raise too_large(origin, len(data), max_bytes)
    return data


def check_opened(info: os.stat_result, file: SourceFile, *, max_bytes: int) -> None:
    """Refuse an open file that is not a plain, single-named file the scan saw, within the limit."""
    origin = file.source
    if not stat.S_ISREG(info.st_mode):
        raise IngestError(f"{origin}: {kind_of(info.st_mode)}, not a regular file; skipped")
    if file.identity is not None and (info.st_dev, info.st_ino) != file.identity:
        log.warning("%s: not the file the scan found (a swap?); refused", origin)
        raise IngestError(
            f"{origin}: not the file the scan found at this path (the file or a folder on its path "
            f"was replaced); {_RERUN}"
        )
    if info.st_nlink > 1:
        raise IngestError(
            f"{origin}: has {info.st_nlink} hard links; docduet cannot tell which folder's access "
            "applies; copy it instead (a copy has the access of its own folder), then re-run"
        )
    if info.st_size > max_bytes:
        raise too_large(origin, info.st_size, max_bytes)


def _open_beneath(root: Path, path: Path, origin: str) -> int:
    """A descriptor for ``path``, opened folder by folder from ``root``, never through a link."""
    try:
        parts = path.relative_to(root).parts
    except ValueError as e:
        raise IngestError(f"{origin}: not inside its ingest root {root}; re-run ingest") from e
    if not parts or any(part in ("", ".", "..") for part in parts):
        raise IngestError(f"{origin}: not a file below its ingest root {root}; re-run ingest")
    folder = _open_folder(str(root), None, origin, shown=root)
    try:
        for depth, name in enumerate(parts[:-1], start=1):
            inner = _open_folder(name, folder, origin, shown=root.joinpath(*parts[:depth]))
            os.close(folder)
            folder = inner
        try:
            return os.open(parts[-1], _FILE_FLAGS, dir_fd=folder)
        except OSError as e:
            raise _refusal(e, origin, "the file", parts[-1], folder) from e
    finally:
        os.close(folder)


def _open_folder(name: str, parent: int | None, origin: str, *, shown: Path) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as e:
        raise _refusal(e, origin, f"the folder {shown} on its path", name, parent) from e


def _refusal(error: OSError, origin: str, what: str, name: str, parent: int | None) -> IngestError:
    """Why opening ``name`` (in folder ``parent``) failed, in words, with what to do."""
    if error.errno in _LINK_ERRNOS or (error.errno == errno.ENOTDIR and _is_link(name, parent)):
        log.warning("%s: %s is a symbolic link; not followed", origin, what)
        return IngestError(
            f"{origin}: {what} is a symbolic link; docduet does not follow links (if it was a plain "
            f"folder or file when the scan found it, {_RERUN})"
        )
    if error.errno == errno.ENOENT:
        return IngestError(f"{origin}: {what} is gone; {_RERUN}")
    if error.errno == errno.ENOTDIR:
        return IngestError(f"{origin}: {what} is no longer a folder; {_RERUN}")
    return IngestError(f"{origin}: unreadable ({error.strerror or error}); check it exists and is readable")


def _is_link(name: str, parent: int | None) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode)
    except OSError:
        return False
