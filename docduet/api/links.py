"""The link a citation carries: the organisation's copy (``DOCDUET_SOURCE_URL_BASE``), else this API's
``/v1/sources`` route, which serves the file to a caller who may read it (the same checks as the
web chat's "Download source")."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlencode

from core.domain import Hit
from core.settings import Settings
from core.source_links import source_url
from docduet.api.shapes import LinkFor


def link_for(settings: Settings, hits: Iterable[Hit], base_url: str) -> LinkFor:
    """Links for the sources of ``hits`` (a citation's source is always among them)."""
    roots = {hit.chunk.source: hit.chunk.root for hit in hits}
    base = settings.links.source_url_base

    def link(source: str) -> str:
        root = roots.get(source)
        under = source_url(base, source, root) if root is not None else None
        return under or f"{base_url.rstrip('/')}/v1/sources?{urlencode({'source': source})}"

    return link
