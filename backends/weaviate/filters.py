"""Weaviate ``where`` filters: who may read (always applied) and what the caller narrowed the search to."""

from __future__ import annotations

from collections.abc import Sequence

from weaviate.classes.query import Filter, FilterReturn

from core.domain import User
from core.filters import SearchFilters, utc

ACCESS_PROPERTY = "access_groups"


def access_filter(user: User) -> FilterReturn:
    """Chunks ``user`` may read: any of its readable groups (always including ``public``)."""
    return Filter.by_property(ACCESS_PROPERTY).contains_any(list(user.readable_groups))


def build_where(user: User, filters: SearchFilters | None = None) -> FilterReturn:
    """The complete ``where`` of a search: the access filter AND-ed with the metadata filters.

    This is the only way the retriever builds a filter, so no search runs without the access check.
    """
    where = access_filter(user)
    extra = metadata_filter(filters) if filters is not None else None
    return where if extra is None else where & extra


def metadata_filter(filters: SearchFilters) -> FilterReturn | None:
    """The metadata part of ``filters`` (no access check), or None when nothing is restricted."""
    parts: list[FilterReturn] = []
    if filters.sources:
        parts.append(_any_equal("source", filters.sources))
    if filters.doc_types:
        parts.append(_any_equal("doc_type", [t.lower().lstrip(".") for t in filters.doc_types]))
    after, before = utc(filters.modified_after), utc(filters.modified_before)
    if after is not None:
        parts.append(Filter.by_property("modified").greater_or_equal(after))
    if before is not None:
        parts.append(Filter.by_property("modified").less_than(before))
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else Filter.all_of(parts)


def _any_equal(prop: str, values: Sequence[str]) -> FilterReturn:
    unique = list(dict.fromkeys(values))
    equals = [Filter.by_property(prop).equal(v) for v in unique]
    return equals[0] if len(equals) == 1 else Filter.any_of(equals)
