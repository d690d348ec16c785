"""Search filter building: the access filter is always there, metadata filters are AND-ed on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from backends.weaviate.filters import access_filter, build_where, metadata_filter
from core.domain import ANONYMOUS, User
from core.errors import RetrievalError
from core.filters import SearchFilters


def leaves(node: object) -> list[tuple[str, str, object]]:
    """(property, operator, value) of every leaf of a weaviate filter tree, left to right."""
    if hasattr(node, "filters"):
        return [leaf for child in node.filters for leaf in leaves(child)]
    return [(str(node.target), node.operator.value, node.value)]


def kind(node: object) -> str:
    return type(node).__name__


def test_anonymous_reads_public_only():
    assert leaves(build_where(ANONYMOUS)) == [("access_groups", "ContainsAny", ["public"])]


def test_user_without_groups_still_gets_public():
    assert leaves(access_filter(User("nobody"))) == [("access_groups", "ContainsAny", ["public"])]


def test_user_groups_plus_public_without_duplicates():
    user = User("alice", ("employees", "hr", "public"))
    assert leaves(build_where(user)) == [("access_groups", "ContainsAny", ["employees", "hr", "public"])]


def test_empty_filters_leave_only_the_access_filter():
    assert SearchFilters().empty
    assert metadata_filter(SearchFilters()) is None
    where = build_where(User("carol", ("employees",)), SearchFilters())
    assert kind(where) == "_FilterValue"
    assert leaves(where)[0][0] == "access_groups"


def test_metadata_filters_are_and_ed_with_access_first():
    after = datetime(2025, 1, 1, tzinfo=UTC)
    before = datetime(2025, 6, 1, tzinfo=UTC)
    filters = SearchFilters(
        sources=("/c/a.md", "/c/b.pdf"), doc_types=(".PDF",), modified_after=after,
        modified_before=before,
    )  # fmt: skip
    where = build_where(User("carol", ("employees",)), filters)
    assert kind(where) == "_FilterAnd"
    assert leaves(where) == [
        ("access_groups", "ContainsAny", ["employees", "public"]),
        ("source", "Equal", "/c/a.md"),
        ("source", "Equal", "/c/b.pdf"),
        ("doc_type", "Equal", "pdf"),
        ("modified", "GreaterThanEqual", after),
        ("modified", "LessThan", before),
    ]
    metadata = where.filters[1]
    sources = metadata.filters[0]
    assert kind(sources) == "_FilterOr", "several sources match any of them"


def test_single_source_is_a_plain_equal():
    where = build_where(ANONYMOUS, SearchFilters(sources=("/c/a.md",)))
    assert kind(where) == "_FilterAnd"
    assert leaves(where)[1] == ("source", "Equal", "/c/a.md")


def test_lists_and_strings_become_tuples():
    f = SearchFilters(sources=["/a", "/b"], doc_types="md")  # type: ignore[arg-type]
    assert f.sources == ("/a", "/b")
    assert f.doc_types == ("md",)
    hash(f)  # still usable as a key


def test_naive_dates_are_utc_and_aware_ones_converted():
    cet = timezone(timedelta(hours=1))
    f = SearchFilters(
        modified_after=datetime(2025, 3, 1), modified_before=datetime(2025, 3, 2, 1, tzinfo=cet)
    )
    values = [leaf[2] for leaf in leaves(metadata_filter(f))]
    assert values == [datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 3, 2, 0, tzinfo=UTC)]


def test_empty_date_range_is_an_error():
    when = datetime(2025, 3, 1, tzinfo=UTC)
    with pytest.raises(RetrievalError, match="widen the date range"):
        SearchFilters(modified_after=when, modified_before=when)
