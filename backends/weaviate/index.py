"""The chunk index in Weaviate: one alias over a physical collection (:class:`core.index.ChunkIndex`).

Writes go through :class:`backends.weaviate.chunks.ChunkStore` (retried, at the write consistency),
searches through :class:`backends.weaviate.search.WeaviateSearch` (at the read consistency), and a
full rebuild fills a new physical collection that :meth:`WeaviateChunkIndex.promote` swaps in by
pointing the alias at it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import weaviate
from weaviate.classes.query import Filter

from backends.weaviate import schema
from backends.weaviate.chunks import ChunkStore
from backends.weaviate.filters import access_filter
from backends.weaviate.records import RETURN_PROPERTIES, chunk_from_properties
from backends.weaviate.replication import STORE_ERRORS
from backends.weaviate.search import WeaviateSearch
from backends.weaviate.stats import read_index_stats
from core.domain import Chunk, ChunkVectors, User
from core.errors import BackendUnavailableError
from core.index import ChunkIndex, Found, IndexedDoc, IndexStats, SearchRequest
from core.settings import Settings

log = logging.getLogger(__name__)


class WeaviateChunkIndex:
    """The chunks behind ``name`` (normally the alias ``settings.weaviate.collection``) on ``client``."""

    def __init__(self, client: weaviate.WeaviateClient, name: str, settings: Settings) -> None:
        self.name = name
        self._client = client
        self.settings = settings
        self._store = ChunkStore.for_settings(client, name, settings.weaviate)
        self._search = WeaviateSearch(client, name, consistency=settings.weaviate.consistency_read)

    @property
    def client(self) -> weaviate.WeaviateClient:
        return self._client

    def exists(self) -> bool:
        return self._store.exists()

    def ensure(self, *, embedding_model: str, dim: int) -> None:
        schema.ensure_index(
            self._client,
            self.name,
            embedding_model=embedding_model,
            dim=dim,
            replicas=self.settings.weaviate.replication_factor,
        )

    def snapshot(self) -> dict[str, IndexedDoc]:
        return self._store.snapshot()

    def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[ChunkVectors]) -> None:
        self._store.upsert(chunks, vectors)

    def prune(self, source: str, keep_hash: str, count: int) -> int:
        return self._store.prune(source, keep_hash, count)

    def delete_source(self, source: str) -> int:
        return self._store.delete_source(source)

    def count(self) -> int:
        return self._store.count()

    def stats(self) -> IndexStats:
        return read_index_stats(self._client, self.name)

    def search(self, request: SearchRequest) -> list[Found]:
        return self._search.search(request)

    def chunks(self) -> list[Chunk]:
        """Every chunk in the index (evaluation and audits; not for large indexes)."""
        if not self.exists():
            return []
        collection = self._client.collections.use(self.name)
        try:
            return [
                chunk_from_properties(str(obj.uuid), obj.properties)
                for obj in collection.iterator(return_properties=RETURN_PROPERTIES)
            ]
        except STORE_ERRORS as e:
            raise BackendUnavailableError(f"could not read the chunks of {self.name!r}: {e}") from e

    def source_root(self, source: str, user: User) -> str | None:
        where = Filter.by_property("source").equal(source) & access_filter(user)
        try:
            result = self._client.collections.use(self.name).query.fetch_objects(
                filters=where, limit=1, return_properties=["source", "root"]
            )
        except STORE_ERRORS as e:
            raise BackendUnavailableError(f"could not check the document in the index: {e}") from e
        return str(result.objects[0].properties["root"]) if result.objects else None

    def staging(self, *, embedding_model: str, dim: int) -> WeaviateChunkIndex:
        for leftover in schema.orphans(self._client, self.name):
            log.warning("dropping %s, left by an interrupted rebuild", leftover)
            self._client.collections.delete(leftover)
        fresh = schema.create_physical(
            self._client,
            self.name,
            embedding_model=embedding_model,
            dim=dim,
            replicas=self.settings.weaviate.replication_factor,
        )
        return WeaviateChunkIndex(self._client, fresh, self.settings)

    def promote(self, staged: ChunkIndex) -> None:
        previous = schema.point_alias(self._client, self.name, staged.name)
        if previous and previous != staged.name:
            self._client.collections.delete(previous)
            log.info("alias %s now points to %s; dropped %s", self.name, staged.name, previous)

    def discard(self, staged: ChunkIndex) -> None:
        log.warning("rebuild into %s not completed; dropping it, the current index is unchanged", staged.name)
        self._client.collections.delete(staged.name)
