"""Index statistics from Weaviate: one group-by aggregation over the chunks, by source file."""

from __future__ import annotations

from typing import Any

import weaviate
from weaviate.classes.aggregate import GroupByAggregate, Metrics

from backends.weaviate.replication import STORE_ERRORS
from core.errors import BackendUnavailableError
from core.index import DocumentStats, IndexStats

MAX_DOCUMENTS = 100_000
"""Upper bound on the groups one aggregation returns (one group per source file)."""
MAX_GROUPS_PER_DOCUMENT = 50


def read_index_stats(client: weaviate.WeaviateClient, collection: str) -> IndexStats:
    """Aggregate the collection (an alias works) grouped by source file."""
    try:
        if not client.collections.exists(collection):
            return IndexStats(collection, (), exists=False)
        result = client.collections.use(collection).aggregate.over_all(
            group_by=GroupByAggregate(prop="source", limit=MAX_DOCUMENTS),
            total_count=True,
            return_metrics=[
                Metrics("doc_type").text(top_occurrences_value=True, limit=1),
                Metrics("sensitivity").text(top_occurrences_value=True, limit=1),
                Metrics("access_groups").text(top_occurrences_value=True, limit=MAX_GROUPS_PER_DOCUMENT),
            ],
        )
    except STORE_ERRORS as e:
        raise BackendUnavailableError(
            f"could not read index statistics for {collection!r}: {e}; check that Weaviate runs "
            "(`docduet db status`)"
        ) from e
    documents = tuple(
        DocumentStats(
            source=str(g.grouped_by.value),
            doc_type=_first(g.properties.get("doc_type")),
            groups=_top(g.properties.get("access_groups")),
            sensitivity=_first(g.properties.get("sensitivity")),
            chunks=int(g.total_count or 0),
        )
        for g in result.groups
    )
    return IndexStats(collection, tuple(sorted(documents, key=lambda d: d.source)))


def _first(metric: Any) -> str:
    return next(iter(_top(metric)), "?")


def _top(metric: Any) -> tuple[str, ...]:
    occurrences = getattr(metric, "top_occurrences", None) or ()
    return tuple(str(o.value) for o in occurrences if o.value is not None)
