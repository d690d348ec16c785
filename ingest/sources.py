"""Serving a cited document's file ("Download source"): only the indexed file, to a reader of it.

Everything is checked again when the file is requested, not when the answer was shown:

1. the index holds chunks of that exact source that the user's groups may read;
2. the path is the indexed one, absolute, with no symbolic link anywhere on it, and still inside
   the ingest root the index recorded for it;
3. the file is read once, by descriptor, folder by folder from that root without following any
   link (:mod:`ingest.fdwalk`): a folder swapped for a link after check 2 cannot lead the read
   elsewhere; it must be a regular file with one hard link, within ``DOCDUET_MAX_FILE_BYTES``;
4. the access declarations, read now (front matter from those same bytes), still let the user
   read it (a narrowed sidecar counts at once, before any re-ingest).

The bytes served are the bytes checked. How often a user may download is the front end's to limit
(``DOCDUET_RATE_LIMIT_DOWNLOADS``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from core.domain import Access, SourceFile, User
from core.errors import DocduetError
from core.index import ChunkIndex
from core.settings import Settings
from ingest.access import resolve
from ingest.fdwalk import read_document
from ingest.safefile import is_within

log = logging.getLogger(__name__)


class SourceRefusedError(DocduetError):
    """The file may not be served to this user (or is not the indexed file any more)."""


def read_source(index: ChunkIndex, settings: Settings, source: str, user: User) -> bytes:
    """The bytes of the indexed document ``source`` for ``user``; see the module doc for the checks.

    Raises :class:`SourceRefusedError` saying why when any check fails.
    """
    root_of = index.source_root(source, user)
    who = user.name or "anonymous"
    if root_of is None:
        log.warning("download refused: %s is not an indexed document %s may read", source, who)
        raise SourceRefusedError(
            "this file is not among the indexed documents you may read; ask again to get current sources"
        )
    path, root = Path(source), Path(root_of)
    if not path.is_absolute() or os.path.realpath(path) != str(path) or not is_within(path, root):
        log.warning("download refused: %s is no longer the plain file inside %s", source, root)
        raise SourceRefusedError(
            "the file is no longer inside the folder it was indexed from (it was moved or "
            "replaced by a link); ask an admin to re-ingest it"
        )
    file = SourceFile(path, root)
    try:
        data = read_document(file, max_bytes=settings.ingest.max_file_bytes)
    except DocduetError as e:
        log.warning("download refused: %s: %s", source, e)
        raise SourceRefusedError(f"the file cannot be served: {_without(source, e)}") from e
    _check_current_access(file, data, settings, user)
    return data


def _check_current_access(file: SourceFile, data: bytes, settings: Settings, user: User) -> None:
    """Refuse unless the declarations, read now, let ``user`` read these bytes of ``file``."""
    default = Access(tuple(settings.ingest.default_groups), settings.ingest.default_sensitivity)
    try:
        current = resolve(file, data, default=default, corpus_root=settings.ingest.corpus_root).access
    except DocduetError as e:
        raise SourceRefusedError(
            f"the file's access declaration cannot be read now ({_without(file.source, e)})"
        ) from e
    if not set(current.groups) & set(user.readable_groups):
        who = user.name or "anonymous"
        log.warning("download refused: %s's declarations no longer let %s read it", file.source, who)
        raise SourceRefusedError("the file's access declarations no longer let you read it")


def _without(source: str, error: Exception) -> str:
    """The error's message without a leading ``<source>: `` (the user knows which file)."""
    text = str(error)
    return text[len(source) + 2 :] if text.startswith(f"{source}: ") else text
