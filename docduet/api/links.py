"""The link a citation carries: the organisation's copy (``DOCDUET_SOURCE_URL_BASE``), else this API's
``/v1/sources`` route, which serves the file to a caller who may read it (the same checks as the
web chat's "Download source")."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath
from urllib.parse import quote, urlencode

from core.domain import Hit
from core.settings import Settings
from docduet.api.shapes import LinkFor


def link_for(settings: Settings, hits: Iterable[Hit], base_url: str) -> LinkFor:
    """Links for the sources of ``hits`` (a citation's source is always among them)."""
    roots = {hit.chunk.source: hit.chunk.root for hit in hits}
    base = settings.links.source_url_base

    def link(source: str) -> str:
        under = _below(base, source, roots.get(source)) if base else None
        return under or f"{base_url.rstrip('/')}/v1/sources?{urlencode({'source': source})}"

    return link


def _below(base: str, source: str, root: str | None) -> str | None:
    """``base`` + the source's path below its ingest root; None outside the root."""
    if root is None:
        return None
    try:
        relative = PurePath(source).relative_to(PurePath(root))
    except ValueError:
        return None
    if not relative.parts:
        return None
    return base.rstrip("/") + "/" + quote(relative.as_posix(), safe="/")
