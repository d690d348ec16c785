"""The contract of :class:`core.index.ChunkIndex`, run against every implementation.

A test module subclasses :class:`ChunkIndexContract` and provides the fixture ``make_index``: a
callable returning a fresh index that does not exist yet. Vectors here have ``DIM`` dimensions,
built so that their cosines are known.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import pytest

from core.domain import ANONYMOUS, Access, Chunk, ChunkVectors, Sensitivity, User
from core.filters import SearchFilters
from core.index import ChunkIndex, SearchRequest

DIM = 8
MODEL = "contract-embedder"
CAROL = User("carol", ("employees",))
HANNAH = User("hannah", ("employees", "hr"))
EMPLOYEES = Access(("employees",), Sensitivity.INTERNAL)
HR = Access(("hr",), Sensitivity.CONFIDENTIAL)
PUBLIC = Access(("public",), Sensitivity.PUBLIC)
MakeIndex = Callable[[], ChunkIndex]


def axis(i: int, j: int | None = None) -> list[float]:
    """A unit vector along axis ``i`` (or halfway between axes ``i`` and ``j``)."""
    v = [0.0] * DIM
    v[i] = 1.0
    if j is not None:
        v[j] = 1.0
    norm = sum(x * x for x in v) ** 0.5
    return [x / norm for x in v]


def chunk(
    source: str,
    index: int,
    text: str,
    *,
    content_hash: str = "h1",
    access: Access = EMPLOYEES,
    doc_type: str = "md",
    modified: datetime = datetime(2025, 3, 1, tzinfo=UTC),
) -> Chunk:
    return Chunk(
        chunk_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{source}|{content_hash}|{index}")),
        source=source,
        root="/docs",
        title=source.rsplit("/", 1)[-1],
        text=text,
        index=index,
        doc_type=doc_type,
        section="",
        page=None,
        modified=modified,
        content_hash=content_hash,
        access=access,
    )


def vectors(*wholes: list[float], pieces: Sequence[list[list[float]]] | None = None) -> list[ChunkVectors]:
    return [
        ChunkVectors(whole=w, pieces=(pieces[i] if pieces else [w])) for i, w in enumerate(wholes)
    ]


def search(index: ChunkIndex, user: User, *, text: str = "", vector: list[float] | None = None,
           alpha: float = 0.5, limit: int = 10, **kw: object) -> list[str]:  # fmt: skip
    request = SearchRequest(text=text, vector=vector or axis(0), user=user, limit=limit, alpha=alpha, **kw)  # type: ignore[arg-type]
    return [f.chunk.source for f in index.search(request)]


class ChunkIndexContract:
    """What every ChunkIndex does; subclasses provide ``make_index``."""

    @pytest.fixture
    def index(self, make_index: MakeIndex) -> ChunkIndex:
        made = make_index()
        assert not made.exists() and made.count() == 0
        made.ensure(embedding_model=MODEL, dim=DIM)
        assert made.exists()
        return made

    def test_a_file_written_is_in_the_snapshot_complete(self, index: ChunkIndex) -> None:
        two = [chunk("/docs/a.md", 0, "alpha"), chunk("/docs/a.md", 1, "beta")]
        index.upsert(two, vectors(axis(0), axis(1)))
        snap = index.snapshot()
        assert set(snap) == {"/docs/a.md"} and index.count() == 2
        doc = snap["/docs/a.md"]
        assert doc.root == "/docs" and doc.chunks == 2 and doc.complete_hash() == "h1"
        assert doc.accesses == {EMPLOYEES}

    def test_writing_the_same_chunks_again_overwrites(self, index: ChunkIndex) -> None:
        chunks = [chunk("/docs/a.md", 0, "alpha"), chunk("/docs/a.md", 1, "beta")]
        index.upsert(chunks, vectors(axis(0), axis(1)))
        index.upsert(chunks, vectors(axis(0), axis(1)))
        assert index.count() == 2

    def test_a_file_half_written_is_not_complete(self, index: ChunkIndex) -> None:
        new = [chunk("/docs/a.md", i, f"v2 part {i}", content_hash="h2") for i in range(3)]
        index.upsert([chunk("/docs/a.md", 0, "v1")], vectors(axis(0)))
        index.upsert(new, vectors(axis(0), axis(1), axis(2)))
        doc = index.snapshot()["/docs/a.md"]
        assert doc.complete_hash() is None  # two versions present
        assert index.prune("/docs/a.md", "h2", 3) == 1
        assert index.snapshot()["/docs/a.md"].complete_hash() == "h2"

    def test_prune_drops_chunks_beyond_the_new_count(self, index: ChunkIndex) -> None:
        three = [chunk("/docs/a.md", i, f"part {i}") for i in range(3)]
        index.upsert(three, vectors(axis(0), axis(1), axis(2)))
        index.upsert([chunk("/docs/b.md", 0, "other")], vectors(axis(3)))
        assert index.prune("/docs/a.md", "h1", 2) == 1
        assert index.snapshot()["/docs/a.md"].chunks == 2 and index.count() == 3

    def test_delete_source_removes_only_that_file(self, index: ChunkIndex) -> None:
        index.upsert([chunk("/docs/a.md", 0, "alpha")], vectors(axis(0)))
        index.upsert([chunk("/docs/b.md", 0, "beta")], vectors(axis(1)))
        assert index.delete_source("/docs/a.md") == 1
        assert set(index.snapshot()) == {"/docs/b.md"}
        assert [c.source for c in index.chunks()] == ["/docs/b.md"]

    def test_search_never_returns_what_the_user_may_not_read(self, index: ChunkIndex) -> None:
        index.upsert([chunk("/docs/salaries.md", 0, "salary bands", access=HR)], vectors(axis(0)))
        index.upsert([chunk("/docs/handbook.md", 0, "salary reviews", access=EMPLOYEES)], vectors(axis(1)))
        index.upsert([chunk("/docs/careers.md", 0, "salary ranges", access=PUBLIC)], vectors(axis(2)))
        everything = {"/docs/salaries.md", "/docs/handbook.md", "/docs/careers.md"}
        assert set(search(index, HANNAH, text="salary")) == everything
        assert set(search(index, CAROL, text="salary")) == {"/docs/handbook.md", "/docs/careers.md"}
        assert search(index, ANONYMOUS, text="salary", vector=axis(0)) == ["/docs/careers.md"]
        assert index.source_root("/docs/salaries.md", CAROL) is None
        assert index.source_root("/docs/salaries.md", HANNAH) == "/docs"

    def test_metadata_filters_narrow_the_search(self, index: ChunkIndex) -> None:
        old = chunk("/docs/old.md", 0, "travel", modified=datetime(2024, 1, 1, tzinfo=UTC))
        index.upsert([old], vectors(axis(0)))
        index.upsert([chunk("/docs/new.pdf", 0, "travel", doc_type="pdf")], vectors(axis(0)))
        pdfs, one = SearchFilters(doc_types=(".PDF",)), SearchFilters(sources=("/docs/old.md",))
        assert search(index, CAROL, text="travel", filters=pdfs) == ["/docs/new.pdf"]
        assert search(index, CAROL, text="travel", filters=one) == ["/docs/old.md"]
        recent = SearchFilters(modified_after=datetime(2025, 1, 1))
        assert search(index, CAROL, text="travel", filters=recent) == ["/docs/new.pdf"]
        older = SearchFilters(modified_before=datetime(2025, 1, 1, tzinfo=UTC))
        assert search(index, CAROL, text="travel", filters=older) == ["/docs/old.md"]

    def test_vectors_alone_rank_the_identical_vector_first_within_the_limit(self, index: ChunkIndex) -> None:
        for i in range(5):
            index.upsert([chunk(f"/docs/{i}.md", 0, f"note {i}")], vectors(axis(i)))
        assert search(index, CAROL, vector=axis(3), alpha=1.0, limit=2)[0] == "/docs/3.md"
        assert len(search(index, CAROL, vector=axis(3), alpha=1.0, limit=2)) == 2

    def test_keywords_rank_the_chunk_holding_a_rare_word_first(self, index: ChunkIndex) -> None:
        index.upsert([chunk("/docs/a.md", 0, "The office opens at nine every weekday")], vectors(axis(0)))
        index.upsert([chunk("/docs/b.md", 0, "The office parking permit is renewed")], vectors(axis(1)))
        index.upsert([chunk("/docs/c.md", 0, "The office kitchen is cleaned on Fridays")], vectors(axis(2)))
        assert search(index, CAROL, text="parking permit", vector=axis(0), alpha=0.0)[0] == "/docs/b.md"

    def test_a_chunk_is_found_by_its_best_piece(self, index: ChunkIndex) -> None:
        index.upsert([chunk("/docs/long.md", 0, "remote work, equipment, anchor days")],
                     vectors(axis(1), pieces=[[axis(1), axis(2), axis(5)]]))  # fmt: skip
        index.upsert([chunk("/docs/near.md", 0, "hybrid work")], vectors(axis(5, 6)))
        found = index.search(SearchRequest(text="", vector=axis(5), user=CAROL, limit=2, alpha=1.0))
        assert [f.chunk.source for f in found] == ["/docs/long.md", "/docs/near.md"]
        assert len(found[0].pieces) == 3 and found[0].vector
        whole_only = search(index, CAROL, vector=axis(5), alpha=1.0, pieces=False)
        assert whole_only[0] == "/docs/near.md"

    def test_a_staged_index_is_invisible_until_promoted(self, index: ChunkIndex) -> None:
        index.upsert([chunk("/docs/old.md", 0, "old text")], vectors(axis(0)))
        staged = index.staging(embedding_model=MODEL, dim=DIM)
        staged.upsert([chunk("/docs/new.md", 0, "new text")], vectors(axis(0)))
        assert search(index, CAROL, text="text") == ["/docs/old.md"]
        index.promote(staged)
        assert search(index, CAROL, text="text") == ["/docs/new.md"]
        assert set(index.snapshot()) == {"/docs/new.md"}

    def test_a_discarded_staging_leaves_the_index_as_it_was(self, index: ChunkIndex) -> None:
        index.upsert([chunk("/docs/old.md", 0, "old text")], vectors(axis(0)))
        staged = index.staging(embedding_model=MODEL, dim=DIM)
        staged.upsert([chunk("/docs/new.md", 0, "new text")], vectors(axis(0)))
        index.discard(staged)
        assert search(index, CAROL, text="text") == ["/docs/old.md"] and index.count() == 1

    def test_stats_count_documents_and_chunks(self, index: ChunkIndex) -> None:
        index.upsert([chunk("/docs/a.md", i, f"part {i}") for i in range(2)], vectors(axis(0), axis(1)))
        index.upsert([chunk("/docs/s.xlsx", 0, "bands", access=HR, doc_type="xlsx")], vectors(axis(2)))
        stats = index.stats()
        assert stats.exists and stats.chunks == 3
        assert {d.source: d.chunks for d in stats.documents} == {"/docs/a.md": 2, "/docs/s.xlsx": 1}
        assert stats.by("sensitivity") == {"internal": (1, 2), "confidential": (1, 1)}

    def test_another_embedding_model_is_refused(self, index: ChunkIndex) -> None:
        with pytest.raises(Exception, match="reindex --full"):
            index.ensure(embedding_model="another-model", dim=DIM + 8)
