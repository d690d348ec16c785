"""The ChunkIndex contract (tests/contract) against the in-memory index the unit tests use, and
what only the in-memory index promises: its scores, its dimension check, what promote leaves."""

from __future__ import annotations

import pytest
from contract.chunk_index_contract import (
    CAROL,
    DIM,
    MODEL,
    ChunkIndexContract,
    MakeIndex,
    axis,
    chunk,
    found,
    vectors,
)

from backends.memory import MemoryChunkIndex


class TestMemoryChunkIndex(ChunkIndexContract):
    @pytest.fixture
    def make_index(self) -> MakeIndex:
        return MemoryChunkIndex


@pytest.fixture
def index() -> MemoryChunkIndex:
    made = MemoryChunkIndex()
    made.ensure(embedding_model=MODEL, dim=DIM)
    return made


def test_scores_are_a_relative_score_fusion_of_the_two_halves(index: MemoryChunkIndex) -> None:
    # Vector cosines to axis(0): 1, 0.71, 0 -> normalised 1, 0.71, 0 (pieces equal the wholes).
    # Keywords: only "one" and "two" hold "permit"; "two" twice -> normalised over the
    # matching chunks: "two" 1, "one" 0 (the lowest match), "none" 0 (no match).
    index.upsert([chunk("/docs/one.md", 0, "permit desk visitor")], vectors(axis(0)))
    index.upsert([chunk("/docs/two.md", 0, "permit permit visitor")], vectors(axis(0, 1)))
    index.upsert([chunk("/docs/none.md", 0, "parking desk visitor")], vectors(axis(1)))
    scores = {f.chunk.source: f.score for f in found(index, CAROL, text="permit", vector=axis(0), alpha=0.25)}
    cos = 2**-0.5
    assert scores == pytest.approx(
        {"/docs/two.md": 0.25 * cos + 0.75, "/docs/one.md": 0.25, "/docs/none.md": 0.0}
    )


def test_a_promoted_index_is_consumed(index: MemoryChunkIndex) -> None:
    staged = index.staging(embedding_model=MODEL, dim=DIM)
    staged.upsert([chunk("/docs/new.md", 0, "new")], vectors(axis(0)))
    index.promote(staged)
    assert index.count() == 1 and staged.count() == 0 and not staged.exists()


def test_vectors_of_another_dimension_are_refused(index: MemoryChunkIndex) -> None:
    with pytest.raises(ValueError, match=f"{DIM} dimensions"):
        index.upsert([chunk("/docs/a.md", 0, "alpha")], vectors([1.0, 0.0]))
    assert index.count() == 0
