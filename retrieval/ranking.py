"""Post-search selection: drop weak hits and near-duplicates, keep the best ``top_k``.

Pure functions over domain types, so they are tested without a database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from core.domain import Hit

DUPLICATE_COSINE = 0.95
"""Two chunks whose vectors are at least this similar count as the same passage."""

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Candidate:
    """A hit as the search returned it, with the chunk's vector for duplicate detection.

    ``piece_similarity`` is the query's best cosine to one of the chunk's pieces (None: not
    known); ``hit.similarity`` is the whole chunk's, or the better of the two (see the retriever).
    """

    hit: Hit
    vector: tuple[float, ...]
    whole_similarity: float | None = None
    piece_similarity: float | None = None


def cosines(query: Sequence[float], vectors: Sequence[Sequence[float]]) -> list[float | None]:
    """Cosine similarity of ``query`` to each vector in one numpy product; None for an empty vector."""
    rows = [i for i, v in enumerate(vectors) if len(v)]
    out: list[float | None] = [None] * len(vectors)
    if not rows:
        return out
    matrix = np.asarray([vectors[i] for i in rows], dtype=np.float64)
    q = np.asarray(query, dtype=np.float64)
    if matrix.shape[1] != q.shape[0]:
        raise ValueError(f"vectors differ in length ({matrix.shape[1]} vs {q.shape[0]})")
    norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        sims = np.where(norms > 0, matrix @ q / norms, 0.0)
    for i, sim in zip(rows, sims.tolist(), strict=True):
        out[i] = float(sim)
    return out


def best_piece_cosines(
    query: Sequence[float], pieces: Sequence[Sequence[Sequence[float]]]
) -> list[float | None]:
    """Per chunk, the best cosine of ``query`` to any of its piece vectors; None without pieces."""
    best: list[float | None] = []
    for own in pieces:
        found = [sim for sim in (cosines(query, own) if own else ()) if sim is not None]
        best.append(max(found) if found else None)
    return best


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors; 0.0 when either is all zeros."""
    if len(a) != len(b):
        raise ValueError(f"vectors differ in length ({len(a)} vs {len(b)})")
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    norm = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
    return dot / norm if norm else 0.0


def normalise_text(text: str) -> str:
    """Case-folded words joined by single spaces: equal for texts that differ only in layout."""
    return " ".join(_WORD.findall(text.casefold()))


def select(
    candidates: Iterable[Candidate],
    *,
    top_k: int,
    min_similarity: float,
    min_piece_similarity: float | None = None,
    duplicate_cosine: float = DUPLICATE_COSINE,
) -> list[Hit]:
    """The first ``top_k`` candidates, in the given (rank) order, that are relevant and new.

    A candidate is relevant when its whole text is at least ``min_similarity`` similar to the
    query, or one of its pieces at least ``min_piece_similarity`` (pieces are short, so their
    similarities run higher and need a floor of their own); a hit without similarities is kept.
    It is dropped as well when an already kept candidate has the same normalised text or a vector
    at least ``duplicate_cosine`` similar.
    """
    kept: list[Hit] = []
    seen_texts: set[str] = set()
    seen_vectors = _UnitVectors(top_k)
    for candidate in candidates:
        if len(kept) >= top_k:
            break
        if not _relevant(candidate, min_similarity, min_piece_similarity):
            continue
        text = normalise_text(candidate.hit.chunk.text)
        if text in seen_texts:
            continue
        unit = seen_vectors.unit(candidate.vector)
        if unit is not None and seen_vectors.near(unit, duplicate_cosine):
            continue
        kept.append(candidate.hit)
        seen_texts.add(text)
        if unit is not None:
            seen_vectors.add(unit)
    return kept


def _relevant(candidate: Candidate, min_whole: float, min_piece: float | None) -> bool:
    whole = candidate.whole_similarity
    if whole is None and candidate.piece_similarity is None:
        whole = candidate.hit.similarity
    if whole is None and candidate.piece_similarity is None:
        return True
    piece = candidate.piece_similarity
    return (whole is not None and whole >= min_whole) or (
        piece is not None and min_piece is not None and piece >= min_piece
    )


class _UnitVectors:
    """The kept hits' vectors, normalised, in one preallocated matrix: one product per check."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._rows: np.ndarray | None = None
        self._count = 0

    def unit(self, vector: Sequence[float]) -> np.ndarray | None:
        """``vector`` scaled to length 1; None when it is empty, all zeros or of another length."""
        if not len(vector):
            return None
        v = np.asarray(vector, dtype=np.float64)
        norm = float(np.linalg.norm(v))
        if norm == 0 or (self._rows is not None and v.shape[0] != self._rows.shape[1]):
            return None
        return v / norm

    def near(self, unit: np.ndarray, limit: float) -> bool:
        """True when a kept vector is at least ``limit`` cosine-similar to ``unit``."""
        if self._rows is None or not self._count:
            return False
        return bool((self._rows[: self._count] @ unit >= limit).any())

    def add(self, unit: np.ndarray) -> None:
        if self._rows is None:
            self._rows = np.empty((max(1, self._capacity), unit.shape[0]))
        self._rows[self._count] = unit
        self._count += 1
