"""Links for cited sources: ``source_url_base`` + the document's path below its ingest root."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import PurePath
from urllib.parse import quote

from core.domain import Hit

LinkFor = Callable[[str], str | None]
"""Maps a citation's source path to a URL, or None when it has none."""


def source_url(base: str | None, source: str, root: str) -> str | None:
    """The URL of ``source`` (a path under ``root``), or None without a base or outside the root.

    >>> source_url("https://intranet.example/docs", "/srv/docs/hr/pay.xlsx", "/srv/docs")
    'https://intranet.example/docs/hr/pay.xlsx'
    """
    if not base:
        return None
    try:
        relative = PurePath(source).relative_to(PurePath(root))
    except ValueError:
        return None
    if not relative.parts:
        return None
    return base.rstrip("/") + "/" + quote(relative.as_posix(), safe="/")


def link_finder(base: str | None, hits: Iterable[Hit]) -> LinkFor:
    """A :data:`LinkFor` over the sources of ``hits`` (a citation's source is always among them)."""
    roots = {hit.chunk.source: hit.chunk.root for hit in hits}

    def link(source: str) -> str | None:
        root = roots.get(source)
        return source_url(base, source, root) if root is not None else None

    return link
