"""A cited source's URL at the organisation's copy: ``source_url_base`` + its path below its ingest root.

Shared by every front end that links a citation (the Slack bot, ``docduet serve``).
"""

from __future__ import annotations

from pathlib import PurePath
from urllib.parse import quote


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
