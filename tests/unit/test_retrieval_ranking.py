"""Threshold and de-duplication on synthetic hits."""

from __future__ import annotations

import math

import pytest
from fakes import make_chunk

from core.domain import Hit
from retrieval.ranking import Candidate, best_piece_cosines, cosine, cosines, normalise_text, select


def candidate(n: int, text: str, vector: tuple[float, ...], similarity: float | None = 0.9) -> Candidate:
    chunk = make_chunk(text, chunk_id=f"c{n}", source=f"/docs/{n}.md", title="T")
    return Candidate(Hit(chunk=chunk, score=1.0 - n / 100, similarity=similarity), vector)


def unit(angle_deg: float) -> tuple[float, float]:
    a = math.radians(angle_deg)
    return (math.cos(a), math.sin(a))


def ids(hits: list[Hit]) -> list[str]:
    return [h.chunk.chunk_id for h in hits]


def test_cosine():
    assert cosine((1.0, 0.0), (0.0, 2.0)) == 0.0
    assert cosine((1.0, 1.0), (2.0, 2.0)) == pytest.approx(1.0)
    assert cosine((0.0, 0.0), (1.0, 0.0)) == 0.0
    with pytest.raises(ValueError):
        cosine((1.0,), (1.0, 0.0))


def test_cosines_of_many_vectors_match_one_by_one():
    vectors = [(1.0, 0.0), (), (0.0, 0.0), unit(60), (3.0, 3.0)]
    sims = cosines((2.0, 0.0), vectors)
    assert sims[1] is None and sims[2] == 0.0
    for got, vector in zip(sims, vectors, strict=True):
        if vector:
            assert got == pytest.approx(cosine((2.0, 0.0), vector))
    assert cosines((1.0, 0.0), []) == [] and cosines((1.0, 0.0), [()]) == [None]
    with pytest.raises(ValueError):
        cosines((1.0,), [(1.0, 0.0)])


def test_normalise_text_ignores_case_spacing_and_punctuation():
    assert normalise_text("Laptops  are\nreplaced, every 4 years!") == normalise_text(
        "laptops are replaced every 4 years"
    )
    assert normalise_text("4 years") != normalise_text("5 years")


def test_threshold_drops_weak_hits_and_keeps_unscored_ones():
    cands = [
        candidate(0, "a", unit(0), similarity=0.5),
        candidate(1, "b", unit(90), similarity=0.1),
        candidate(2, "c", unit(180), similarity=None),
    ]
    assert ids(select(cands, top_k=5, min_similarity=0.25)) == ["c0", "c2"]


def test_same_text_is_a_duplicate_even_with_other_vectors():
    cands = [candidate(0, "Holiday: 25 days.", unit(0)), candidate(1, "holiday 25 DAYS", unit(90))]
    assert ids(select(cands, top_k=5, min_similarity=0.0)) == ["c0"]


def test_near_identical_vectors_are_duplicates_at_095():
    just_above = math.degrees(math.acos(0.951))
    just_below = math.degrees(math.acos(0.949))
    cands = [
        candidate(0, "one", unit(0)),
        candidate(1, "two", unit(just_above)),  # cosine 0.951 to c0: duplicate
        candidate(2, "three", unit(-just_below)),  # cosine 0.949 to c0: kept
    ]
    assert ids(select(cands, top_k=5, min_similarity=0.0)) == ["c0", "c2"]


def test_rank_order_kept_and_top_k_filled_after_dedup():
    cands = [candidate(i, f"text {i // 2}", unit(10 * i)) for i in range(12)]  # pairs share text
    hits = select(cands, top_k=4, min_similarity=0.0)
    assert ids(hits) == ["c0", "c2", "c4", "c6"]
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_fewer_than_top_k_when_candidates_run_out():
    cands = [candidate(0, "a", unit(0)), candidate(1, "a", unit(0))]
    assert ids(select(cands, top_k=5, min_similarity=0.0)) == ["c0"]


def test_missing_vectors_fall_back_to_text_only():
    cands = [candidate(0, "a", ()), candidate(1, "b", ()), candidate(2, "A!", ())]
    assert ids(select(cands, top_k=5, min_similarity=0.0)) == ["c0", "c1"]


def test_the_best_piece_of_each_chunk() -> None:
    pieces = [[(0.6, 0.8), (0.0, 1.0)], [], [(0.8, 0.6)]]
    assert best_piece_cosines((1.0, 0.0), pieces) == pytest.approx([0.6, None, 0.8])


def test_a_chunk_is_relevant_by_its_whole_text_or_by_one_piece_over_the_piece_floor() -> None:
    def cand(n: int, whole: float | None, piece: float | None) -> Candidate:
        hit = candidate(n, f"text {n}", unit(n * 45)).hit
        return Candidate(hit=hit, vector=unit(n * 45), whole_similarity=whole, piece_similarity=piece)

    cands = [cand(0, 0.3, 0.1), cand(1, 0.1, 0.45), cand(2, 0.1, 0.35), cand(3, None, None)]
    assert ids(select(cands, top_k=5, min_similarity=0.25, min_piece_similarity=0.4)) == ["c0", "c1", "c3"]
    assert ids(select(cands, top_k=5, min_similarity=0.25)) == ["c0", "c3"]
