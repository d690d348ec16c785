"""Search filters: what a caller narrowed a search to (the access check is always added by the index)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from core.errors import RetrievalError


@dataclass(frozen=True)
class SearchFilters:
    """Optional narrowing of a search; every field left empty means "no restriction".

    ``sources`` and ``doc_types`` match exactly (a source is the document's absolute path,
    a doc type its suffix without the dot, e.g. ``pdf``); several values are OR-ed. The date range
    is half-open: ``modified_after <= modified < modified_before``. Naive datetimes are read as UTC.
    """

    sources: tuple[str, ...] = ()
    doc_types: tuple[str, ...] = ()
    modified_after: datetime | None = None
    modified_before: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "sources", _as_tuple(self.sources))
        object.__setattr__(self, "doc_types", _as_tuple(self.doc_types))
        after, before = utc(self.modified_after), utc(self.modified_before)
        if after is not None and before is not None and after >= before:
            raise RetrievalError(
                f"modified_after ({after.isoformat()}) must be earlier than modified_before "
                f"({before.isoformat()}); widen the date range"
            )

    @property
    def empty(self) -> bool:
        """True when the filters restrict nothing."""
        return self == SearchFilters()


def _as_tuple(values: str | Sequence[str]) -> tuple[str, ...]:
    return (values,) if isinstance(values, str) else tuple(values)


def utc(when: datetime | None) -> datetime | None:
    """``when`` in UTC; a naive datetime is read as UTC."""
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
