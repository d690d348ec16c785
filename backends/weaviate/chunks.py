"""Reads and writes chunks in Weaviate. The index itself is the ingest state: each chunk carries
its file's content hash and chunk count, so a file is complete exactly when all its chunks of one
hash are present, whatever point an earlier run stopped at."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC
from typing import Any

import weaviate
from weaviate.classes.data import DataObject
from weaviate.classes.query import Filter
from weaviate.collections.classes.filters import _Filters

from backends.weaviate import schema
from backends.weaviate.keywords import stemmed_properties
from backends.weaviate.replication import (
    BACKOFF_S,
    STORE_ERRORS,
    consistency_level,
    is_transient,
    read_only,
    too_few_replicas,
    with_retries,
)
from core.domain import Access, Chunk, ChunkVectors, Sensitivity
from core.errors import BackendUnavailableError
from core.index import IndexedDoc
from core.settings import WeaviateSettings

log = logging.getLogger(__name__)

STATE_PROPERTIES = [
    "source", "root", "content_hash", "chunk_count", "chunk_index", "sensitivity", "access_groups"
]
MAX_DELETE_ROUNDS = 1000


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
    """Chunk CRUD on one collection (an alias or a physical name).

    Reads and writes use ``consistency`` (ONE, QUORUM, ALL: replicas that must answer). A write
    Weaviate could not complete for a passing reason (a replica restarting, a dropped
    connection) is retried ``retries`` times with doubling pauses: chunk ids are deterministic,
    so a retry overwrites and never duplicates.
    """

    def __init__(
        self,
        client: weaviate.WeaviateClient,
        collection: str,
        *,
        consistency: str = "QUORUM",
        retries: int = 3,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self.collection_name = collection
        self._collection = client.collections.use(collection).with_consistency_level(
            consistency_level(consistency)
        )
        self._retries = retries
        self._sleep = sleep

    @classmethod
    def for_settings(
        cls, client: weaviate.WeaviateClient, collection: str, settings: WeaviateSettings
    ) -> ChunkStore:
        """A store with the write consistency level and retries of ``settings``."""
        return cls(
            client,
            collection,
            consistency=settings.consistency_write,
            retries=settings.weaviate_write_retries,
        )

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
        except STORE_ERRORS as e:
            raise BackendUnavailableError(_explain(e, "could not read the index state")) from e
        return docs

    def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[ChunkVectors]) -> None:
        """Write chunks with their deterministic ids; existing ids are overwritten."""
        count = len(chunks)
        objects = [
            DataObject(
                uuid=chunk.chunk_id,
                properties={**chunk_properties(chunk), "chunk_count": count},
                vector={schema.WHOLE_VECTOR: vector.whole, schema.PIECES_VECTOR: vector.pieces},
            )
            for chunk, vector in zip(chunks, vectors, strict=True)
        ]
        for attempt in range(self._retries + 1):
            try:
                result = self._collection.data.insert_many(objects)
            except STORE_ERRORS as e:
                if attempt < self._retries and is_transient(e):
                    self._pause(attempt, f"writing {count} chunks", str(e))
                    continue
                raise BackendUnavailableError(_explain(e, f"writing {count} chunks failed")) from e
            if not result.has_errors:
                return
            message = next(iter(result.errors.values())).message
            if attempt < self._retries and all(is_transient(e.message) for e in result.errors.values()):
                objects = [objects[i] for i in sorted(result.errors)]  # the rest are written
                self._pause(attempt, f"writing {len(objects)} of {count} chunks", message)
                continue
            raise BackendUnavailableError(
                _explain(message, f"Weaviate rejected {len(result.errors)} of {count} chunks")
            )

    def _pause(self, attempt: int, what: str, error: str) -> None:
        pause = BACKOFF_S * 2**attempt
        first = error.splitlines()[0] if error else ""
        log.warning("%s failed (%s); retry %d of %d in %.1f s",
                    what, first, attempt + 1, self._retries, pause)  # fmt: skip
        self._sleep(pause)

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
                result = with_retries(
                    lambda: self._collection.data.delete_many(where=where),
                    retries=self._retries, what="deleting chunks", sleep=self._sleep,
                )  # fmt: skip
                deleted += result.successful
                if result.matches == 0 or result.successful == 0:
                    return deleted
        except STORE_ERRORS as e:
            raise BackendUnavailableError(_explain(e, "deleting chunks failed")) from e
        raise BackendUnavailableError("deleting chunks did not finish; re-run the command")

    def exists(self) -> bool:
        """False before the first ingest created the collection."""
        try:
            return bool(self._client.collections.exists(self.collection_name))
        except STORE_ERRORS as e:
            raise BackendUnavailableError(_explain(e, "could not reach Weaviate")) from e

    def count(self) -> int:
        if not self.exists():
            return 0
        try:
            result = with_retries(  # a replica that just died can stall one attempt
                lambda: self._collection.aggregate.over_all(total_count=True),
                retries=self._retries, what="counting chunks", sleep=self._sleep,
            )  # fmt: skip
            return int(result.total_count or 0)
        except STORE_ERRORS as e:
            raise BackendUnavailableError(_explain(e, "could not count chunks")) from e


def _explain(error: BaseException | str, what: str) -> str:
    """``what`` and the cause, with what to do when Weaviate says why (replicas, disk)."""
    text = str(error)
    hint = read_only(text) or too_few_replicas(text)
    return f"{what}: {hint}" if hint else f"{what}: {text}; re-run the same command to finish"


def _access_of(properties: Mapping[str, Any]) -> Access:
    groups = properties.get("access_groups") or []
    return Access(
        groups=tuple(sorted(str(g) for g in groups)),
        sensitivity=Sensitivity(str(properties.get("sensitivity") or "confidential")),
    )
