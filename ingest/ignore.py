"""``.docduetignore`` files: paths never ingested, written like ``.gitignore`` (docs/access.md).

An ignore file applies to its folder and everything below it; its patterns are matched against
paths relative to that folder with Git's rules (``README.md`` anywhere below, ``/README.md`` only
beside the file, ``drafts/`` a folder, ``!keep.md`` an exception). Files are read from the top
folder down: the corpus root when it holds the ingest root, else the ingest root itself, so an
ignore file in a folder above the ingest root that ``DOCDUET_CORPUS_ROOT`` does not name (say a
world-writable parent) is never read. A nearer file's decision wins.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from pathlib import Path

import pathspec

from core.errors import IngestError
from ingest.decode import decode
from ingest.safefile import SIDECAR_MAX_BYTES, read_regular

log = logging.getLogger(__name__)

IGNORE_FILE = ".docduetignore"


def top_folder(root: Path, corpus_root: Path | None) -> Path:
    """Where lookups of declarations for files under the ingest root ``root`` start.

    The corpus root when it is ``root`` or a parent of it, else ``root`` itself: folders above the
    ingest root are only trusted when ``DOCDUET_CORPUS_ROOT`` names them.
    """
    if corpus_root is not None:
        top = corpus_root.expanduser().resolve()
        if root == top or root.is_relative_to(top):
            return top
    return root


def folders_between(top: Path, folder: Path) -> list[Path]:
    """``top``, its subfolders on the way, and ``folder`` itself, outermost first; [] if outside."""
    if folder != top and not folder.is_relative_to(top):
        return []
    chain = [folder]
    while chain[-1] != top:
        chain.append(chain[-1].parent)
    return chain[::-1]


class IgnoreRules:
    """Answers "is this path ignored?" for one scan, reading each folder's ignore file once."""

    def __init__(self, corpus_root: Path | None = None, roots: Sequence[Path] = ()) -> None:
        """``roots``: the (resolved) ingest roots of the scan; files are read from each one down."""
        self._corpus_root = corpus_root
        self._roots = tuple(roots)
        self._chains: dict[Path, list[tuple[Path, pathspec.GitIgnoreSpec]]] = {}

    def ignored(self, path: Path, *, is_dir: bool) -> bool:
        """True when the nearest ignore file with a matching pattern excludes ``path``."""
        decision = False
        for folder, spec in self._specs_above(path.parent):
            relative = path.relative_to(folder).as_posix() + ("/" if is_dir else "")
            include = spec.check_file(relative).include
            if include is not None:
                decision = include
        return decision

    def _specs_above(self, folder: Path) -> list[tuple[Path, pathspec.GitIgnoreSpec]]:
        if folder not in self._chains:
            chain = []
            for each in self._folders_to(folder):
                spec = load_ignore_file(each / IGNORE_FILE)
                if spec is not None:
                    chain.append((each, spec))
            self._chains[folder] = chain
        return self._chains[folder]

    def _folders_to(self, folder: Path) -> list[Path]:
        """The trusted folders from the top down to ``folder``: from the outermost ingest root
        holding it, or the corpus root holding that root (or ``folder`` itself)."""
        holding = [r for r in self._roots if folder == r or folder.is_relative_to(r)]
        if holding:
            top = top_folder(min(holding, key=lambda r: len(r.parts)), self._corpus_root)
        elif self._corpus_root is not None:
            top = self._corpus_root.expanduser().resolve()  # the folder above an ingest root
        else:
            return []
        return folders_between(top, folder)


def load_ignore_file(path: Path) -> pathspec.GitIgnoreSpec | None:
    """The patterns of one ignore file; None when there is none."""
    try:
        stat = path.lstat()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise IngestError(f"{path}: cannot read the ignore file ({e}); fix its permissions") from e
    return _parse(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _parse(path: Path, mtime_ns: int, size: int) -> pathspec.GitIgnoreSpec:
    del mtime_ns, size  # cache key only
    data = read_regular(path, max_bytes=SIDECAR_MAX_BYTES)
    try:
        spec = pathspec.GitIgnoreSpec.from_lines(decode(data, origin=str(path)).splitlines())
    except (ValueError, TypeError) as e:
        raise IngestError(f"{path}: not a valid ignore file ({e}); fix the pattern it names") from e
    log.debug("ignore file %s: %d patterns", path, len(spec.patterns))
    return spec
