"""What the index holds, read from Weaviate with one group-by aggregation, and the last ingest run."""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import weaviate
from weaviate.classes.aggregate import GroupByAggregate, Metrics

from backends.weaviate.replication import STORE_ERRORS
from core.errors import BackendUnavailableError

log = logging.getLogger(__name__)

MAX_DOCUMENTS = 100_000
"""Upper bound on the groups one aggregation returns (one group per source file)."""
MAX_GROUPS_PER_DOCUMENT = 50


@dataclass(frozen=True)
class DocumentStats:
    """One indexed file: its type, who may read it, how sensitive it is, and its chunk count."""

    source: str
    doc_type: str
    groups: tuple[str, ...]
    sensitivity: str
    chunks: int


@dataclass(frozen=True)
class IndexStats:
    """Documents and chunks behind the collection alias."""

    collection: str
    documents: tuple[DocumentStats, ...]
    exists: bool = True

    @property
    def chunks(self) -> int:
        return sum(d.chunks for d in self.documents)

    def by(self, facet: str) -> dict[str, tuple[int, int]]:
        """``facet`` (doc_type, group or sensitivity) -> (documents, chunks), largest first."""
        docs: Counter[str] = Counter()
        chunks: Counter[str] = Counter()
        for d in self.documents:
            values = d.groups if facet == "group" else (getattr(d, facet),)
            for value in values:
                docs[value] += 1
                chunks[value] += d.chunks
        return {k: (docs[k], chunks[k]) for k, _ in docs.most_common()}


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


@dataclass(frozen=True)
class LastRun:
    """The latest ``docduet ingest``/``reindex`` summary (``record_last_run``) and when it ended."""

    finished: datetime
    summary: dict[str, Any]

    @property
    def failed(self) -> list[dict[str, Any]]:
        return list(self.summary.get("failed") or [])


def last_run_path(data_dir: Path) -> Path:
    return data_dir / "ingest" / "last-run.json"


def read_last_run(data_dir: Path) -> LastRun | None:
    """The last recorded run, or None when there is none (or it cannot be read)."""
    path = last_run_path(data_dir)
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
        finished = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        log.warning("cannot read %s: %s", path, e)
        return None
    return LastRun(finished, summary if isinstance(summary, dict) else {})
