"""Reads and writes chunks in Weaviate. The index itself is the ingest state: each chunk carries
its file's content hash and chunk count, so a file is complete exactly when all its chunks of one
hash are present, whatever point an earlier run stopped at."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import weaviate
from weaviate.classes.data import DataObject
from weaviate.classes.query import Filter
from weaviate.collections.classes.filters import _Filters
from weaviate.exceptions import WeaviateBaseError

from docduet.db.keywords import stemmed_properties
from docduet.domain import Access, Chunk, Sensitivity
from docduet.errors import BackendUnavailableError

log = logging.getLogger(__name__)

STATE_PROPERTIES = [
    "source", "root", "content_hash", "chunk_count", "chunk_index", "sensitivity", "access_groups"
]
MAX_DELETE_ROUNDS = 1000


@dataclass
class IndexedDoc:
    """What the index holds for one source file."""

    source: str
    root: str
    present: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    expected: dict[str, int] = field(default_factory=dict)
    accesses: set[Access] = field(default_factory=set)
    """Every access the document's chunks carry (one, unless a run stopped mid-update)."""

    @property
    def chunks(self) -> int:
        return sum(len(indexes) for indexes in self.present.values())

    def complete_hash(self) -> str | None:
        """The content hash whose chunks are all present and alone, else None."""
        if len(self.present) != 1:
            return None
        ((hash_, indexes),) = self.present.items()
        return hash_ if indexes == set(range(self.expected.get(hash_, -1))) else None


def chunk_properties(chunk: Chunk) -> dict[str, Any]:
    """The object Weaviate stores for ``chunk``: its fields, their stemmed copies, its access."""
    searchable = {"text": chunk.text, "title": chunk.title, "section": chunk.section}
    return {
        **searchable,
        **stemmed_properties(searchable),
        "source": chunk.source,
        "root": chunk.root,
        "doc_type": chunk.doc_type,
        "content_hash": chunk.content_hash,
        "sensitivity": chunk.access.sensitivity.value,
        "access_groups": list(chunk.access.groups),
        "page": chunk.page,
        "chunk_index": chunk.index,
        "modified": chunk.modified.astimezone(UTC),
    }


class ChunkStore:
    """Chunk CRUD on one collection (an alias or a physical name)."""

    def __init__(self, client: weaviate.WeaviateClient, collection: str) -> None:
        self._client = client
        self.collection_name = collection
        self._collection = client.collections.use(collection)

    def snapshot(self) -> dict[str, IndexedDoc]:
        """Every source in the index with the hashes and chunk indexes present."""
        docs: dict[str, IndexedDoc] = {}
        if not self.exists():
            return docs
        try:
            for obj in self._collection.iterator(return_properties=STATE_PROPERTIES):
                p = obj.properties
                source = str(p["source"])
                doc = docs.setdefault(source, IndexedDoc(source=source, root=str(p["root"])))
                hash_ = str(p["content_hash"])
                doc.present[hash_].add(int(p["chunk_index"]))  # type: ignore[arg-type]
                doc.expected[hash_] = int(p["chunk_count"])  # type: ignore[arg-type]
                doc.accesses.add(_access_of(p))
        except WeaviateBaseError as e:
            raise BackendUnavailableError(f"could not read the index state: {e}") from e
        return docs

    def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]) -> None:
        """Write chunks with their deterministic ids; existing ids are overwritten."""
        count = len(chunks)
        objects = [
            DataObject(
                uuid=chunk.chunk_id,
                properties={**chunk_properties(chunk), "chunk_count": count},
                vector=list(vector),
            )
            for chunk, vector in zip(chunks, vectors, strict=True)
        ]
        try:
            result = self._collection.data.insert_many(objects)
        except WeaviateBaseError as e:
            raise BackendUnavailableError(f"writing {count} chunks failed: {e}") from e
        if result.has_errors:
            first = next(iter(result.errors.values()))
            raise BackendUnavailableError(
                f"Weaviate rejected {len(result.errors)} of {count} chunks: {first.message}"
            )

    def prune(self, source: str, keep_hash: str, count: int) -> int:
        """Delete the source's chunks of other versions or beyond ``count``."""
        stale = Filter.by_property("content_hash").not_equal(keep_hash) | Filter.by_property(
            "chunk_index"
        ).greater_or_equal(count)
        return self._delete(Filter.by_property("source").equal(source) & stale)

    def delete_source(self, source: str) -> int:
        return self._delete(Filter.by_property("source").equal(source))

    def _delete(self, where: _Filters) -> int:
        deleted = 0
        try:
            for _ in range(MAX_DELETE_ROUNDS):  # delete_many caps matches per call
                result = self._collection.data.delete_many(where=where)
                deleted += result.successful
                if result.matches == 0 or result.successful == 0:
                    return deleted
        except WeaviateBaseError as e:
            raise BackendUnavailableError(f"deleting chunks failed: {e}") from e
        raise BackendUnavailableError("deleting chunks did not finish; re-run the command")

    def exists(self) -> bool:
        """False before the first ingest created the collection."""
        try:
            return bool(self._client.collections.exists(self.collection_name))
        except WeaviateBaseError as e:
            raise BackendUnavailableError(f"could not reach Weaviate: {e}") from e

    def count(self) -> int:
        if not self.exists():
            return 0
        try:
            return int(self._collection.aggregate.over_all(total_count=True).total_count or 0)
        except WeaviateBaseError as e:
            raise BackendUnavailableError(f"could not count chunks: {e}") from e


def _access_of(properties: Mapping[str, Any]) -> Access:
    groups = properties.get("access_groups") or []
    return Access(
        groups=tuple(sorted(str(g) for g in groups)),  # type: ignore[union-attr]
        sensitivity=Sensitivity(str(properties.get("sensitivity") or "confidential")),
    )


def roots_of(docs: Iterable[IndexedDoc]) -> list[str]:
    return sorted({doc.root for doc in docs})
