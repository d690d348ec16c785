"""Weaviate properties -> :class:`Chunk` (the inverse of ``backends.weaviate.chunks.chunk_properties``)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from core.domain import Access, Chunk, Sensitivity

log = logging.getLogger(__name__)

RETURN_PROPERTIES = [
    "text",
    "title",
    "section",
    "source",
    "root",
    "doc_type",
    "content_hash",
    "sensitivity",
    "access_groups",
    "page",
    "chunk_index",
    "modified",
]
"""Everything a :class:`Chunk` needs; nothing else is fetched."""


def chunk_from_properties(chunk_id: str, props: Mapping[str, Any]) -> Chunk:
    """Build a :class:`Chunk` from one object's properties (missing optional ones tolerated)."""
    return Chunk(
        chunk_id=chunk_id,
        source=str(props.get("source") or ""),
        root=str(props.get("root") or ""),
        title=str(props.get("title") or ""),
        text=str(props.get("text") or ""),
        index=int(props.get("chunk_index") or 0),
        doc_type=str(props.get("doc_type") or ""),
        section=str(props.get("section") or ""),
        page=_int_or_none(props.get("page")),
        modified=_datetime(props.get("modified")),
        content_hash=str(props.get("content_hash") or ""),
        access=Access(
            groups=tuple(str(g) for g in props.get("access_groups") or ()),
            sensitivity=_sensitivity(props.get("sensitivity"), chunk_id),
        ),
    )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        return _datetime(datetime.fromisoformat(value))
    return datetime.fromtimestamp(0, UTC)


def _sensitivity(value: Any, chunk_id: str) -> Sensitivity:
    """Unknown values are treated as the most restricted level, never a wider one."""
    try:
        return Sensitivity(str(value))
    except ValueError:
        log.warning("chunk %s has unknown sensitivity %r; treating it as confidential", chunk_id, value)
        return Sensitivity.CONFIDENTIAL
