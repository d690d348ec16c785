"""Find the files to ingest under the paths a user gives."""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from docduet.errors import IngestError

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
"""Suffixes (lower case) that :class:`ingest.parse.UnstructuredParser` reads with the installed extras."""


@dataclass(frozen=True)
class SourceFile:
    """A file to ingest and the root folder (a PATH argument) it was found under."""

    path: Path
    root: Path

    @property
    def source(self) -> str:
        """Stable id of the document: its absolute POSIX path."""
        return self.path.as_posix()

    @property
    def suffix(self) -> str:
        """Lower-case suffix with its dot, e.g. ``.pdf``."""
        return self.path.suffix.lower()


@dataclass(frozen=True)
class Scan:
    """What lies under the ingest paths: the files to ingest, and how many were passed over."""

    files: list[SourceFile]
    unsupported: dict[str, int]
    """Visible files of types docduet does not read, counted by suffix (``""`` for none)."""


def discover(paths: Sequence[Path]) -> list[SourceFile]:
    """Supported files under ``paths``; see :func:`scan`."""
    return scan(paths).files


def scan(paths: Sequence[Path]) -> Scan:
    """Supported files under ``paths`` (files or folders, recursive), sorted by path, no duplicates.

    A file found under several arguments keeps the outermost one as its root.

    Hidden files and folders and access sidecars are skipped; files of unsupported types are
    skipped and counted, so the summary can say what was not ingested.
    A path that does not exist raises :class:`IngestError`.
    """
    found: dict[Path, SourceFile] = {}
    passed_over: dict[Path, str] = {}
    for given in paths:
        root = Path(given).expanduser().resolve()
        if not root.exists():
            raise IngestError(f"{given}: no such file or folder; check the path and try again")
        base = root if root.is_dir() else root.parent
        for path, supported in _walk(root):
            if not supported:
                passed_over[path] = path.suffix.lower()
                continue
            known = found.get(path)
            if known is None or len(base.parts) < len(known.root.parts):
                found[path] = SourceFile(path=path, root=base)  # the outermost root wins
    counts = Counter(passed_over.values())
    return Scan(sorted(found.values(), key=lambda f: f.source), dict(sorted(counts.items())))


def is_supported(path: Path) -> bool:
    """True for a file docduet would ingest (by name only)."""
    return _is_visible_document(path) and path.suffix.lower() in SUPPORTED_SUFFIXES


def _is_visible_document(path: Path) -> bool:
    return not path.name.startswith(".") and path.name != ACCESS_SIDECAR


def _walk(root: Path) -> Iterator[tuple[Path, bool]]:
    """Visible files under ``root`` (not sidecars), each with whether docduet reads its type."""
    if root.is_file():
        if _is_visible_document(root):
            yield root, is_supported(root)
        return
    for folder, dirs, files in os.walk(root):
        hidden = sorted(d for d in dirs if d.startswith("."))
        for name in hidden:
            log.debug("skipping %s: hidden folder", Path(folder, name))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(folder, name)
            if _is_visible_document(path):
                supported = is_supported(path)
                if not supported:
                    log.debug("skipping %s: unsupported file type", path)
                yield path, supported
