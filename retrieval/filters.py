"""Search filters: who may read (always applied) and what the caller narrowed the search to."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from weaviate.classes.query import Filter, FilterReturn

from docduet.domain import User
from docduet.errors import RetrievalError

ACCESS_PROPERTY = "access_groups"


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
        after, before = _utc(self.modified_after), _utc(self.modified_before)
        if after is not None and before is not None and after >= before:
            raise RetrievalError(
                f"modified_after ({after.isoformat()}) must be earlier than modified_before "
                f"({before.isoformat()}); widen the date range"
            )

    @property
    def empty(self) -> bool:
        """True when the filters restrict nothing."""
        return self == SearchFilters()

    def to_weaviate(self) -> FilterReturn | None:
        """The metadata part only (no access check), or None when nothing is restricted."""
        parts: list[FilterReturn] = []
        if self.sources:
            parts.append(_any_equal("source", self.sources))
        if self.doc_types:
            parts.append(_any_equal("doc_type", [t.lower().lstrip(".") for t in self.doc_types]))
        after, before = _utc(self.modified_after), _utc(self.modified_before)
        if after is not None:
            parts.append(Filter.by_property("modified").greater_or_equal(after))
        if before is not None:
            parts.append(Filter.by_property("modified").less_than(before))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else Filter.all_of(parts)


def access_filter(user: User) -> FilterReturn:
    """Chunks ``user`` may read: any of its readable groups (always including ``public``)."""
    return Filter.by_property(ACCESS_PROPERTY).contains_any(list(user.readable_groups))


def build_where(user: User, filters: SearchFilters | None = None) -> FilterReturn:
    """The complete ``where`` of a search: the access filter AND-ed with the metadata filters.

    This is the only way the retriever builds a filter, so no search runs without the access check.
    """
    where = access_filter(user)
    extra = filters.to_weaviate() if filters is not None else None
    return where if extra is None else where & extra


def _any_equal(prop: str, values: Sequence[str]) -> FilterReturn:
    unique = list(dict.fromkeys(values))
    equals = [Filter.by_property(prop).equal(v) for v in unique]
    return equals[0] if len(equals) == 1 else Filter.any_of(equals)


def _as_tuple(values: str | Sequence[str]) -> tuple[str, ...]:
    return (values,) if isinstance(values, str) else tuple(values)


def _utc(when: datetime | None) -> datetime | None:
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
