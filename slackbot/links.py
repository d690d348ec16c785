"""Links for cited sources: ``source_url_base`` + the document's path below its ingest root."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from core.domain import Hit
from core.source_links import source_url

__all__ = ["LinkFor", "link_finder", "source_url"]

LinkFor = Callable[[str], str | None]
"""Maps a citation's source path to a URL, or None when it has none."""


def link_finder(base: str | None, hits: Iterable[Hit]) -> LinkFor:
    """A :data:`LinkFor` over the sources of ``hits`` (a citation's source is always among them)."""
    roots = {hit.chunk.source: hit.chunk.root for hit in hits}

    def link(source: str) -> str | None:
        root = roots.get(source)
        return source_url(base, source, root) if root is not None else None

    return link
