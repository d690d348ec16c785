"""The contract of :class:`core.index.ChunkIndex`, run against every implementation.

A test module subclasses :class:`ChunkIndexContract` and provides the fixture ``make_index``: a
callable returning a fresh index that does not exist yet (not ``ensure``d; the fixture ``index``
ensures it with ``MODEL`` and ``DIM``, so tests can also check what holds before). Vectors here
have ``DIM`` dimensions and are unit vectors along axes (:func:`axis`), so their cosines are known.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from core.domain import ANONYMOUS, Access, Chunk, ChunkVectors, Sensitivity, User
from core.errors import ConfigError, RetrievalError
from core.filters import SearchFilters
from core.index import ChunkIndex, Found, SearchRequest

DIM = 8
MODEL = "contract-embedder"
CAROL = User("carol", ("employees",))
HANNAH = User("hannah", ("employees", "hr"))
EMPLOYEES = Access(("employees",), Sensitivity.INTERNAL)
HR = Access(("hr",), Sensitivity.CONFIDENTIAL)
FINANCE_OR_HR = Access(("finance", "hr"), Sensitivity.CONFIDENTIAL)
FRED = User("fred", ("finance",))
PUBLIC = Access(("public",), Sensitivity.PUBLIC)
MakeIndex = Callable[[], ChunkIndex]


def unit(v: Sequence[float]) -> list[float]:
    """``v`` scaled to length 1."""
    norm = sum(x * x for x in v) ** 0.5
    return [x / norm for x in v]


def axis(i: int, j: int | None = None) -> list[float]:
    """A unit vector along axis ``i`` (or halfway between axes ``i`` and ``j``: cosine 0.71 to each)."""
    v = [0.0] * DIM
    v[i] = 1.0
    if j is not None:
        v[j] = 1.0
    return unit(v)


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
    """One ChunkVectors per whole vector; a chunk's only piece is its whole vector unless given."""
    return [ChunkVectors(whole=w, pieces=(pieces[i] if pieces else [w])) for i, w in enumerate(wholes)]


def found(
    index: ChunkIndex,
    user: User,
    *,
    text: str = "",
    vector: list[float] | None = None,
    alpha: float = 0.5,
    limit: int = 10,
    filters: SearchFilters | None = None,
    stemmed: bool = True,
    pieces: bool = True,
) -> list[Found]:
    request = SearchRequest(
        text=text,
        vector=vector or axis(0),
        user=user,
        limit=limit,
        alpha=alpha,
        filters=filters,
        stemmed=stemmed,
        pieces=pieces,
    )
    return index.search(request)


def search(index: ChunkIndex, user: User, **kw: Any) -> list[str]:
    """The sources of what :func:`found` returns, best first."""
    return [f.chunk.source for f in found(index, user, **kw)]


class ChunkIndexContract:
    """What every ChunkIndex does; subclasses provide the fixture ``make_index``."""

    @pytest.fixture
    def index(self, make_index: MakeIndex) -> ChunkIndex:
        made = make_index()
        made.ensure(embedding_model=MODEL, dim=DIM)
        assert made.exists()
        return made

    def test_an_index_not_made_yet_holds_nothing_and_cannot_be_searched(self, make_index: MakeIndex) -> None:
        fresh = make_index()
        assert not fresh.exists() and fresh.count() == 0
        assert fresh.snapshot() == {} and fresh.chunks() == [] and not fresh.stats().exists
        with pytest.raises(RetrievalError):
            search(fresh, CAROL, text="anything")

    def test_a_file_written_is_in_the_snapshot_complete(self, index: ChunkIndex) -> None:
        two = [chunk("/docs/a.md", 0, "alpha"), chunk("/docs/a.md", 1, "beta")]
        index.upsert(two, vectors(axis(0), axis(1)))
        snap = index.snapshot()
        assert set(snap) == {"/docs/a.md"} and index.count() == 2
        doc = snap["/docs/a.md"]
        assert doc.root == "/docs" and doc.chunks == 2 and doc.expected == {"h1": 2}
        assert doc.present == {"h1": {0, 1}} and doc.complete_hash() == "h1"
        assert doc.accesses == {EMPLOYEES}
        assert sorted(c.text for c in index.chunks()) == ["alpha", "beta"]

    def test_writing_the_same_chunks_again_overwrites(self, index: ChunkIndex) -> None:
        chunks = [chunk("/docs/a.md", 0, "alpha"), chunk("/docs/a.md", 1, "beta")]
        index.upsert(chunks, vectors(axis(0), axis(1)))
        index.upsert(chunks, vectors(axis(0), axis(1)))
        assert index.count() == 2 and index.snapshot()["/docs/a.md"].complete_hash() == "h1"

    def test_chunks_and_vectors_of_different_lengths_are_refused_unwritten(self, index: ChunkIndex) -> None:
        with pytest.raises(ValueError):
            index.upsert([chunk("/docs/a.md", 0, "alpha"), chunk("/docs/a.md", 1, "beta")], vectors(axis(0)))
        assert index.count() == 0

    def test_a_file_is_complete_only_with_one_version_all_present(self, index: ChunkIndex) -> None:
        new = [chunk("/docs/a.md", i, f"v2 part {i}", content_hash="h2") for i in range(3)]
        index.upsert([chunk("/docs/a.md", 0, "v1")], vectors(axis(0)))
        index.upsert(new, vectors(axis(0), axis(1), axis(2)))
        doc = index.snapshot()["/docs/a.md"]
        assert doc.complete_hash() is None and doc.expected == {"h1": 1, "h2": 3}  # two versions
        assert index.prune("/docs/a.md", "h2", 3) == 1
        doc = index.snapshot()["/docs/a.md"]
        assert doc.complete_hash() == "h2" and doc.expected == {"h2": 3}
        assert index.prune("/docs/a.md", "h2", 2) == 1  # chunk 2 of the 3 written is gone
        doc = index.snapshot()["/docs/a.md"]
        assert doc.present == {"h2": {0, 1}} and doc.expected == {"h2": 3} and doc.complete_hash() is None

    def test_prune_drops_chunks_beyond_the_new_count(self, index: ChunkIndex) -> None:
        three = [chunk("/docs/a.md", i, f"part {i}") for i in range(3)]
        index.upsert(three, vectors(axis(0), axis(1), axis(2)))
        index.upsert([chunk("/docs/b.md", 0, "other")], vectors(axis(3)))
        assert index.prune("/docs/a.md", "h1", 2) == 1
        assert index.snapshot()["/docs/a.md"].present == {"h1": {0, 1}} and index.count() == 3
        assert index.prune("/docs/a.md", "h1", 2) == 0

    def test_delete_source_removes_only_that_file(self, index: ChunkIndex) -> None:
        index.upsert([chunk("/docs/a.md", i, f"alpha {i}") for i in range(2)], vectors(axis(0), axis(1)))
        index.upsert([chunk("/docs/b.md", 0, "beta")], vectors(axis(1)))
        assert index.delete_source("/docs/a.md") == 2
        assert set(index.snapshot()) == {"/docs/b.md"} and index.count() == 1
        assert [c.source for c in index.chunks()] == ["/docs/b.md"]
        assert index.delete_source("/docs/a.md") == 0

    def test_search_never_returns_what_the_user_may_not_read(self, index: ChunkIndex) -> None:
        index.upsert([chunk("/docs/salaries.md", 0, "salary bands", access=HR)], vectors(axis(0)))
        index.upsert([chunk("/docs/handbook.md", 0, "salary reviews", access=EMPLOYEES)], vectors(axis(1)))
        index.upsert([chunk("/docs/careers.md", 0, "salary ranges", access=PUBLIC)], vectors(axis(2)))
        index.upsert([chunk("/docs/budget.md", 0, "salary budget", access=FINANCE_OR_HR)], vectors(axis(3)))
        everything = {"/docs/salaries.md", "/docs/handbook.md", "/docs/careers.md", "/docs/budget.md"}
        assert set(search(index, HANNAH, text="salary")) == everything
        assert set(search(index, CAROL, text="salary")) == {"/docs/handbook.md", "/docs/careers.md"}
        assert set(search(index, FRED, text="salary")) == {"/docs/budget.md", "/docs/careers.md"}
        assert search(index, ANONYMOUS, text="salary", vector=axis(0)) == ["/docs/careers.md"]
        assert search(index, ANONYMOUS, vector=axis(0), alpha=1.0) == ["/docs/careers.md"]
        assert index.source_root("/docs/salaries.md", CAROL) is None
        assert index.source_root("/docs/salaries.md", HANNAH) == "/docs"
        assert index.source_root("/docs/careers.md", ANONYMOUS) == "/docs"

    def test_chunks_the_user_may_not_read_do_not_take_up_the_limit(self, index: ChunkIndex) -> None:
        secret = [chunk("/docs/salaries.md", i, f"salary band {i}", access=HR) for i in range(5)]
        index.upsert(secret, vectors(*[axis(0)] * 5))
        index.upsert([chunk("/docs/handbook.md", 0, "canteen opening hours")], vectors(axis(7)))
        assert search(index, CAROL, text="salary band", vector=axis(0), limit=2) == ["/docs/handbook.md"]
        assert search(index, CAROL, vector=axis(0), alpha=1.0, limit=1) == ["/docs/handbook.md"]

    def test_metadata_filters_narrow_the_search(self, index: ChunkIndex) -> None:
        old = chunk("/docs/old.md", 0, "travel", modified=datetime(2024, 1, 1, tzinfo=UTC))
        index.upsert([old], vectors(axis(0)))
        index.upsert([chunk("/docs/new.pdf", 0, "travel", doc_type="pdf")], vectors(axis(0)))
        pdfs, one = SearchFilters(doc_types=(".PDF",)), SearchFilters(sources=("/docs/old.md",))
        assert search(index, CAROL, text="travel", filters=pdfs) == ["/docs/new.pdf"]
        assert search(index, CAROL, text="travel", filters=one) == ["/docs/old.md"]
        both = SearchFilters(sources=("/docs/old.md", "/docs/new.pdf"), doc_types=("md",))
        assert search(index, CAROL, text="travel", filters=both) == ["/docs/old.md"]
        recent = SearchFilters(modified_after=datetime(2025, 1, 1))
        assert search(index, CAROL, text="travel", filters=recent) == ["/docs/new.pdf"]
        older = SearchFilters(modified_before=datetime(2025, 1, 1, tzinfo=UTC))
        assert search(index, CAROL, vector=axis(0), alpha=1.0, filters=older) == ["/docs/old.md"]
        assert search(index, CAROL, text="travel", filters=SearchFilters(doc_types=("docx",))) == []

    def test_the_date_range_is_half_open_and_naive_dates_are_utc(self, index: ChunkIndex) -> None:
        at = datetime(2025, 3, 1, tzinfo=UTC)  # every chunk() is modified at this instant
        index.upsert([chunk("/docs/a.md", 0, "travel", modified=at)], vectors(axis(0)))
        plus_one = timezone(timedelta(hours=1))
        assert search(index, CAROL, text="travel", filters=SearchFilters(modified_after=at)) == ["/docs/a.md"]
        naive_after = SearchFilters(modified_after=datetime(2025, 3, 1))
        assert search(index, CAROL, text="travel", filters=naive_after) == ["/docs/a.md"]
        same_instant = SearchFilters(modified_after=datetime(2025, 3, 1, 1, 0, tzinfo=plus_one))
        assert search(index, CAROL, text="travel", filters=same_instant) == ["/docs/a.md"]
        assert search(index, CAROL, text="travel", filters=SearchFilters(modified_before=at)) == []
        later = SearchFilters(modified_after=datetime(2025, 3, 1, 0, 0, 1))
        assert search(index, CAROL, text="travel", filters=later) == []

    def test_vectors_alone_rank_the_identical_vector_first_within_the_limit(self, index: ChunkIndex) -> None:
        for i in range(5):
            index.upsert([chunk(f"/docs/{i}.md", 0, f"note {i}")], vectors(axis(i)))
        index.upsert([chunk("/docs/near.md", 0, "note near")], vectors(axis(3, 4)))
        results = found(index, CAROL, text="note", vector=axis(3), alpha=1.0, limit=2)
        assert [f.chunk.source for f in results] == ["/docs/3.md", "/docs/near.md"]
        assert results[0].score > results[1].score
        assert results[0].vector == pytest.approx(axis(3), abs=1e-6)
        assert len(search(index, CAROL, vector=axis(3), alpha=1.0, limit=4)) == 4

    @pytest.mark.parametrize("stemmed", [True, False])
    def test_keywords_rank_the_chunk_holding_a_rare_word_first(
        self, index: ChunkIndex, stemmed: bool
    ) -> None:
        index.upsert([chunk("/docs/a.md", 0, "The office opens at nine every weekday")], vectors(axis(0)))
        index.upsert([chunk("/docs/b.md", 0, "The office parking permit is renewed")], vectors(axis(1)))
        index.upsert([chunk("/docs/c.md", 0, "The office kitchen is cleaned on Fridays")], vectors(axis(2)))
        ranked = search(index, CAROL, text="parking permit", vector=axis(0), alpha=0.0, stemmed=stemmed)
        assert ranked[0] == "/docs/b.md"
        assert search(index, CAROL, text="parking permit", vector=axis(0), alpha=1.0)[0] == "/docs/a.md"

    def test_hybrid_ranks_first_the_chunk_both_halves_find(self, index: ChunkIndex) -> None:
        index.upsert([chunk("/docs/words.md", 0, "parking rules for visitors here")], vectors(axis(1)))
        index.upsert([chunk("/docs/vector.md", 0, "rules for visitors and guests")], vectors(axis(0)))
        index.upsert([chunk("/docs/both.md", 0, "parking parking for visitors here")], vectors(axis(0, 1)))
        results = found(index, CAROL, text="parking", vector=axis(0), alpha=0.5)
        assert results[0].chunk.source == "/docs/both.md"
        assert [f.score for f in results] == sorted((f.score for f in results), reverse=True)

    def test_a_chunk_is_found_by_its_best_piece(self, index: ChunkIndex) -> None:
        # Cosines to the query axis(5): long.md whole 0, best piece 1; near.md 0.32 (whole and
        # piece); far.md -1. Normalised per query and averaged, long.md's piece lifts it first.
        index.upsert([chunk("/docs/long.md", 0, "remote work, equipment, anchor days")],
                     vectors(axis(1), pieces=[[axis(1), axis(2), axis(5)]]))  # fmt: skip
        near = unit([0, 0, 0, 0, 0, 1, 3, 0])
        index.upsert([chunk("/docs/near.md", 0, "hybrid work")], vectors(near))
        index.upsert([chunk("/docs/far.md", 0, "office plants")], vectors([-x for x in axis(5)]))
        results = found(index, CAROL, vector=axis(5), alpha=1.0)
        assert [f.chunk.source for f in results] == ["/docs/long.md", "/docs/near.md", "/docs/far.md"]
        assert len(results[0].pieces) == 3 and results[0].vector == pytest.approx(axis(1), abs=1e-6)
        whole_only = found(index, CAROL, vector=axis(5), alpha=1.0, pieces=False)
        assert [f.chunk.source for f in whole_only] == ["/docs/near.md", "/docs/long.md", "/docs/far.md"]
        assert whole_only[0].pieces == ()

    def test_a_staged_index_is_invisible_until_promoted(self, index: ChunkIndex) -> None:
        index.upsert([chunk("/docs/old.md", 0, "old text")], vectors(axis(0)))
        staged = index.staging(embedding_model=MODEL, dim=DIM)
        assert staged.count() == 0
        staged.upsert([chunk("/docs/new.md", 0, "new text")], vectors(axis(0)))
        assert search(index, CAROL, text="text") == ["/docs/old.md"] and index.count() == 1
        index.promote(staged)
        assert search(index, CAROL, text="text") == ["/docs/new.md"]
        assert set(index.snapshot()) == {"/docs/new.md"} and index.count() == 1
        index.upsert([chunk("/docs/more.md", 0, "more text")], vectors(axis(1)))
        assert set(search(index, CAROL, text="text")) == {"/docs/new.md", "/docs/more.md"}

    def test_a_discarded_staging_leaves_the_index_as_it_was(self, index: ChunkIndex) -> None:
        index.upsert([chunk("/docs/old.md", 0, "old text")], vectors(axis(0)))
        staged = index.staging(embedding_model=MODEL, dim=DIM)
        staged.upsert([chunk("/docs/new.md", 0, "new text")], vectors(axis(0)))
        index.discard(staged)
        assert search(index, CAROL, text="text") == ["/docs/old.md"] and index.count() == 1
        assert set(index.snapshot()) == {"/docs/old.md"}

    def test_stats_count_documents_and_chunks(self, index: ChunkIndex) -> None:
        index.upsert([chunk("/docs/a.md", i, f"part {i}") for i in range(2)], vectors(axis(0), axis(1)))
        bands = chunk("/docs/s.xlsx", 0, "bands", access=FINANCE_OR_HR, doc_type="xlsx")
        index.upsert([bands], vectors(axis(2)))
        stats = index.stats()
        assert stats.exists and stats.chunks == 3
        assert {d.source: d.chunks for d in stats.documents} == {"/docs/a.md": 2, "/docs/s.xlsx": 1}
        assert {d.source: (d.doc_type, set(d.groups)) for d in stats.documents} == {
            "/docs/a.md": ("md", {"employees"}),
            "/docs/s.xlsx": ("xlsx", {"finance", "hr"}),
        }
        assert stats.by("sensitivity") == {"internal": (1, 2), "confidential": (1, 1)}

    def test_ensure_keeps_the_index_and_refuses_another_embedder(self, index: ChunkIndex) -> None:
        index.upsert([chunk("/docs/a.md", 0, "alpha")], vectors(axis(0)))
        index.ensure(embedding_model=MODEL, dim=DIM)
        assert index.count() == 1
        with pytest.raises(ConfigError, match="reindex --full"):
            index.ensure(embedding_model="another-model", dim=DIM)
        with pytest.raises(ConfigError, match="reindex --full"):
            index.ensure(embedding_model=MODEL, dim=DIM * 2)
        assert index.count() == 1
