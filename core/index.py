"""The chunk index: the one interface between docduet's capabilities and the store of chunks.

:class:`ChunkIndex` is implemented for Weaviate (``backends.weaviate.index``) and in memory
(``backends.memory``, for unit tests); one contract suite (``tests/contract``) runs against both.
The index itself is the ingest state: each chunk carries its file's content hash and chunk count,
so a file is complete exactly when all its chunks of one hash are present.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from core.domain import Access, Chunk, ChunkVectors, User
from core.filters import SearchFilters


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


def roots_of(docs: Iterable[IndexedDoc]) -> list[str]:
    """Every ingest root the documents came from."""
    return sorted({doc.root for doc in docs})


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


@dataclass(frozen=True)
class SearchRequest:
    """One hybrid search: keywords and a query vector, always restricted to what ``user`` may read.

    ``alpha`` weighs the vector half (1.0: vectors only). ``stemmed=False`` runs the keyword half
    on the original fields with the query as typed, ``pieces=False`` scores vectors by the chunks'
    whole text only; both exist so the evaluation can measure what they buy.
    """

    text: str
    vector: Sequence[float]
    user: User
    limit: int
    alpha: float = 0.5
    filters: SearchFilters | None = None
    stemmed: bool = True
    pieces: bool = True


@dataclass(frozen=True)
class Found:
    """One search result: the chunk, its fused score (higher is better) and its stored vectors."""

    chunk: Chunk
    score: float
    vector: tuple[float, ...]
    pieces: tuple[tuple[float, ...], ...] = ()


class ChunkIndex(Protocol):
    """One searchable set of chunks: read and write a file's chunks, search, rebuild behind a name.

    Every search carries the asker's access filter inside the query; nothing a user may not read
    is ever returned. Writes are idempotent (deterministic chunk ids), so a stopped run is
    finished by running it again.
    """

    name: str
    """What searches address (Weaviate: the alias)."""

    def exists(self) -> bool:
        """False before the first ingest created the index."""
        ...

    def ensure(self, *, embedding_model: str, dim: int) -> None:
        """Create the index, or bring an older one's schema up to date.

        Raises ConfigError (saying to run ``docduet reindex --full``) when the index was made for
        another embedding model or dimension.
        """
        ...

    def snapshot(self) -> dict[str, IndexedDoc]:
        """Every source in the index with the hashes and chunk indexes present."""
        ...

    def upsert(self, chunks: Sequence[Chunk], vectors: Sequence[ChunkVectors]) -> None:
        """Write one file's chunks (all of one version) with their vectors; same ids overwrite.

        One call per file: each chunk records ``len(chunks)`` as its file's chunk count, which
        :meth:`snapshot` reads back. Chunks and vectors must match in number.
        """
        ...

    def prune(self, source: str, keep_hash: str, count: int) -> int:
        """Delete ``source``'s chunks of other versions or beyond ``count``; how many went."""
        ...

    def delete_source(self, source: str) -> int:
        """Delete every chunk of ``source``; how many went."""
        ...

    def count(self) -> int:
        """Chunks in the index (0 when it does not exist)."""
        ...

    def chunks(self) -> list[Chunk]:
        """Every chunk in the index (evaluation and audits; not for large indexes)."""
        ...

    def source_root(self, source: str, user: User) -> str | None:
        """The ingest root of ``source`` when the index holds a chunk of it ``user`` may read."""
        ...

    def stats(self) -> IndexStats:
        """Documents and chunks per source file, type, group and sensitivity."""
        ...

    def search(self, request: SearchRequest) -> list[Found]:
        """At most ``request.limit`` chunks ``request.user`` may read, best first.

        Raises RetrievalError when the index does not exist, BackendUnavailableError when its
        store cannot be reached.
        """
        ...

    def staging(self, *, embedding_model: str, dim: int) -> ChunkIndex:
        """A new, empty index that searches of this one do not see until :meth:`promote`.

        Leftovers of an interrupted rebuild are dropped first.
        """
        ...

    def promote(self, staged: ChunkIndex) -> None:
        """Make searches of this index see ``staged``'s chunks (atomically); drop the old ones.

        ``staged`` must not be used afterwards.
        """
        ...

    def discard(self, staged: ChunkIndex) -> None:
        """Drop an index made by :meth:`staging` that will not be promoted."""
        ...
