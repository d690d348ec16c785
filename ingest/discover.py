"""Find the files to ingest under the paths a user gives."""

from __future__ import annotations

import logging
import os
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


def discover(paths: Sequence[Path]) -> list[SourceFile]:
    """Supported files under ``paths`` (files or folders, recursive), sorted by path, no duplicates.

    A file found under several arguments keeps the outermost one as its root.

    Hidden files and folders, access sidecars and unsupported suffixes are skipped (logged at DEBUG).
    A path that does not exist raises :class:`IngestError`.
    """
    found: dict[Path, SourceFile] = {}
    for given in paths:
        root = Path(given).expanduser().resolve()
        if not root.exists():
            raise IngestError(f"{given}: no such file or folder; check the path and try again")
        base = root if root.is_dir() else root.parent
        for path in _walk(root):
            known = found.get(path)
            if known is None or len(base.parts) < len(known.root.parts):
                found[path] = SourceFile(path=path, root=base)  # the outermost root wins
    return sorted(found.values(), key=lambda f: f.source)


def is_supported(path: Path) -> bool:
    """True for a file docduet would ingest (by name only)."""
    name = path.name
    return not name.startswith(".") and name != ACCESS_SIDECAR and path.suffix.lower() in SUPPORTED_SUFFIXES


def _walk(root: Path) -> Iterator[Path]:
    if root.is_file():
        if is_supported(root):
            yield root
        else:
            log.debug("skipping %s: unsupported file type", root)
        return
    for folder, dirs, files in os.walk(root):
        hidden = sorted(d for d in dirs if d.startswith("."))
        for name in hidden:
            log.debug("skipping %s: hidden folder", Path(folder, name))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            path = Path(folder, name)
            if is_supported(path):
                yield path
            elif name != ACCESS_SIDECAR:
                log.debug("skipping %s: hidden or unsupported file type", path)
