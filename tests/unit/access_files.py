"""Helpers shared by the access declaration tests: write a file under a root and resolve its access."""

from __future__ import annotations

from pathlib import Path

from core.domain import Access, Sensitivity, SourceFile
from ingest.access import Resolved, resolve, resolve_access

DEFAULT = Access(groups=("employees",), sensitivity=Sensitivity.INTERNAL)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def access_of(root: Path, relative: str, text: str = "text") -> Access:
    """The access of ``root/relative``, written with ``text`` first if it does not exist."""
    path = root / relative
    if not path.exists():
        write(path, text)
    return resolve_access(SourceFile(path=path, root=root), default=DEFAULT)


def resolved(root: Path, relative: str, text: str = "text") -> Resolved:
    """Like :func:`access_of`, with what the declaration resolved to (bounds included)."""
    path = root / relative
    if not path.exists():
        write(path, text)
    return resolve(SourceFile(path=path, root=root), default=DEFAULT)
