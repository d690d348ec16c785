"""``.docduetignore`` files: paths never ingested, written like ``.gitignore`` (docs/access.md).

An ignore file applies to its folder and everything below it; its patterns are matched against
paths relative to that folder with Git's rules (``README.md`` anywhere below, ``/README.md`` only
beside the file, ``drafts/`` a folder, ``!keep.md`` an exception). Files are read from the top
folder (the corpus root, else the filesystem root) down, so ingesting a subfolder alone still
honours the ignore files above it; a nearer file's decision wins.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import pathspec

from core.errors import IngestError
from ingest.decode import decode
from ingest.safefile import SIDECAR_MAX_BYTES, read_regular

log = logging.getLogger(__name__)

IGNORE_FILE = ".docduetignore"


def top_folder(path: Path, corpus_root: Path | None) -> Path:
    """Where lookups of declarations above ``path`` start: the corpus root, or the filesystem root."""
    if corpus_root is not None:
        top = corpus_root.expanduser().resolve()
        if path == top or path.is_relative_to(top):
            return top
    return Path(path.anchor)


def folders_between(top: Path, folder: Path) -> list[Path]:
    """``top``, its subfolders on the way, and ``folder`` itself, outermost first."""
    if folder != top and not folder.is_relative_to(top):
        return [folder]
    chain = [folder]
    while chain[-1] != top:
        chain.append(chain[-1].parent)
    return chain[::-1]


class IgnoreRules:
    """Answers "is this path ignored?" for one scan, reading each folder's ignore file once."""

    def __init__(self, corpus_root: Path | None = None) -> None:
        self._corpus_root = corpus_root
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
            top = top_folder(folder, self._corpus_root)
            chain = []
            for each in folders_between(top, folder):
                spec = load_ignore_file(each / IGNORE_FILE)
                if spec is not None:
                    chain.append((each, spec))
            self._chains[folder] = chain
        return self._chains[folder]


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
