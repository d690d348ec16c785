"""Find the files to ingest under the paths a user gives, and nothing from outside them."""

from __future__ import annotations

import logging
import os
import stat
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core.domain import SourceFile
from core.errors import IngestError
from ingest.ignore import IGNORE_FILE, IgnoreRules
from ingest.safefile import is_within, kind_of

log = logging.getLogger(__name__)

ACCESS_SIDECAR = "_access.yaml"
"""Name of the per-folder access declaration (see docs/access.md); never ingested as a document."""

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {
        ".pdf",
        ".docx",
        ".pptx",
        ".xlsx",
        ".csv",
        ".html",
        ".htm",
        ".md",
        ".markdown",
        ".txt",
        ".eml",
        ".rtf",
        ".odt",
    }
)
"""Suffixes (lower case) that the built-in parser reads: what a scan looks for unless it is told.

Ingestion scans for the suffixes its parser declares (:attr:`core.protocols.Parser.suffixes`)."""


@dataclass(frozen=True)
class Skipped:
    """Something under an ingest path that is not read at all (a link, a FIFO, a device), and why."""

    source: str
    reason: str


@dataclass(frozen=True)
class Scan:
    """What lies under the ingest paths: the files to ingest, and how many were passed over."""

    files: list[SourceFile]
    unsupported: dict[str, int]
    """Visible files of types docduet does not read, counted by suffix (``""`` for none)."""
    skipped: list[Skipped] = field(default_factory=list)
    """Symbolic links and things that are not regular files: never followed or read."""
    ignored: int = 0
    """Files and folders excluded by ``.docduetignore`` files."""


def discover(paths: Sequence[Path], *, corpus_root: Path | None = None) -> list[SourceFile]:
    """Supported files under ``paths``; see :func:`scan`."""
    return scan(paths, corpus_root=corpus_root).files


def scan(
    paths: Sequence[Path], *, corpus_root: Path | None = None, suffixes: frozenset[str] = SUPPORTED_SUFFIXES
) -> Scan:
    """Files of ``suffixes`` under ``paths`` (files or folders, recursive), sorted by path, no duplicates.

    A file found under several arguments keeps the outermost one as its root.

    Hidden files and folders, access sidecars and ignore files are skipped; paths excluded by
    ``.docduetignore`` files (looked up from ``corpus_root`` when it holds the path, else from the
    path itself: never from a folder above it that the corpus root does not name) are
    counted as ignored; symbolic links are never followed and, like FIFOs, sockets and devices,
    reported as skipped; files of unsupported types are skipped and counted, so the summary can
    say what was not ingested. A path that does not exist raises :class:`IngestError`.
    """
    walker = _Walker(IgnoreRules(corpus_root, roots=[_base(Path(given)) for given in paths]), suffixes)
    found: dict[Path, SourceFile] = {}
    for given in paths:
        root = Path(given).expanduser().resolve()
        if not root.exists():
            raise IngestError(f"{given}: no such file or folder; check the path and try again")
        base = root if root.is_dir() else root.parent
        for path, info in walker.walk(root, base):
            known = found.get(path)
            if known is None or len(base.parts) < len(known.root.parts):  # the outermost root wins
                found[path] = SourceFile(path=path, root=base, identity=(info.st_dev, info.st_ino))
    counts = Counter(walker.unsupported.values())
    skipped = sorted(walker.skipped.values(), key=lambda s: s.source)
    return Scan(
        sorted(found.values(), key=lambda f: f.source),
        dict(sorted(counts.items())),
        skipped,
        len(walker.ignored),
    )


def _base(given: Path) -> Path:
    """The ingest root of a path given to :func:`scan`: the folder itself, or a file's folder."""
    root = given.expanduser().resolve()
    return root if root.is_dir() else root.parent


def is_supported(path: Path) -> bool:
    """True for a file docduet would ingest (by name only)."""
    return _is_visible_document(path) and path.suffix.lower() in SUPPORTED_SUFFIXES


def _is_visible_document(path: Path) -> bool:
    return not path.name.startswith(".") and path.name not in (ACCESS_SIDECAR, IGNORE_FILE)


class _Walker:
    """Walks ingest paths, sorting what it meets into documents, passed-over and skipped."""

    def __init__(self, rules: IgnoreRules, suffixes: frozenset[str]) -> None:
        self.rules = rules
        self.suffixes = suffixes
        self.unsupported: dict[Path, str] = {}
        self.skipped: dict[Path, Skipped] = {}
        self.ignored: set[Path] = set()

    def walk(self, root: Path, base: Path) -> Iterator[tuple[Path, os.stat_result]]:
        """Supported regular files under ``root`` (a resolved path) and what ``lstat`` saw of them.

        Folders are walked by descriptor (``os.fwalk``), so a folder swapped for a link while
        the scan runs is not entered; links are never followed.
        """
        if not root.is_dir():
            info = self._look(root, str(root), None) if _is_visible_document(root) else None
            if info is not None and self._admit(root, base, info, is_dir=False):
                yield root, info
            return
        if self.rules.ignored(root, is_dir=True):
            self._ignore(root)
            return
        for folder, dirs, files, folder_fd in os.fwalk(root, follow_symlinks=False):
            dirs[:] = [d for d in sorted(dirs) if self._enter(Path(folder, d), base, folder_fd)]
            for name in sorted(files):
                path = Path(folder, name)
                if not _is_visible_document(path):
                    continue
                info = self._look(path, name, folder_fd)
                if info is not None and self._admit(path, base, info, is_dir=False):
                    yield path, info

    def _enter(self, path: Path, base: Path, folder_fd: int) -> bool:
        if path.name.startswith("."):
            log.debug("skipping %s: hidden folder", path)
            return False
        info = self._look(path, path.name, folder_fd)
        return info is not None and self._admit(path, base, info, is_dir=True)

    def _look(self, path: Path, name: str, folder_fd: int | None) -> os.stat_result | None:
        """``lstat`` of ``name`` in the folder open as ``folder_fd``; None (recorded) if it fails."""
        try:
            return os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
        except OSError as e:
            self._skip(path, f"cannot be inspected ({e.strerror or e})")
            return None

    def _admit(self, path: Path, base: Path, info: os.stat_result, *, is_dir: bool) -> bool:
        """Whether to read (a file) or enter (a folder) ``path``; records why not."""
        if stat.S_ISLNK(info.st_mode):
            self._skip(path, _link_reason(path, base))
            return False
        if self.rules.ignored(path, is_dir=is_dir):
            self._ignore(path)
            return False
        if is_dir:
            return True
        if not stat.S_ISREG(info.st_mode):
            self._skip(path, f"{kind_of(info.st_mode)}, not a regular file; not read")
            return False
        if path.suffix.lower() not in self.suffixes:
            log.debug("skipping %s: unsupported file type", path)
            self.unsupported[path] = path.suffix.lower()
            return False
        return True

    def _skip(self, path: Path, reason: str) -> None:
        log.info("skipping %s: %s", path, reason)
        self.skipped[path] = Skipped(path.as_posix(), reason)

    def _ignore(self, path: Path) -> None:
        log.debug("skipping %s: excluded by %s", path, IGNORE_FILE)
        self.ignored.add(path)


def _link_reason(path: Path, base: Path) -> str:
    try:
        target = os.readlink(path)
    except OSError:
        target = "?"
    if is_within(path, base):
        return (
            f"a symbolic link (to {target}); not followed: its target inside the ingest root is "
            "ingested under its own path, with its own access"
        )
    return f"a symbolic link to {target}, outside the ingest root; not followed, nothing read"
