"""Post-search selection: drop weak hits and near-duplicates, keep the best ``top_k``.

Pure functions over domain types, so they are tested without a database.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from docduet.domain import Hit

DUPLICATE_COSINE = 0.95
"""Two chunks whose vectors are at least this similar count as the same passage."""

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Candidate:
    """A hit as the search returned it, with the chunk's vector for duplicate detection."""

    hit: Hit
    vector: tuple[float, ...]


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
    duplicate_cosine: float = DUPLICATE_COSINE,
) -> list[Hit]:
    """The first ``top_k`` candidates, in the given (rank) order, that are relevant and new.

    A candidate is dropped when its similarity to the query is below ``min_similarity`` (a hit
    without a similarity is kept), or when an already kept candidate has the same normalised text
    or a vector at least ``duplicate_cosine`` similar.
    """
    kept: list[Candidate] = []
    seen_texts: set[str] = set()
    for candidate in candidates:
        if len(kept) >= top_k:
            break
        similarity = candidate.hit.similarity
        if similarity is not None and similarity < min_similarity:
            continue
        text = normalise_text(candidate.hit.chunk.text)
        if text in seen_texts or _near_any(candidate.vector, kept, duplicate_cosine):
            continue
        kept.append(candidate)
        seen_texts.add(text)
    return [c.hit for c in kept]


def _near_any(vector: Sequence[float], kept: Sequence[Candidate], limit: float) -> bool:
    """True when ``vector`` is at least ``limit`` cosine-similar to a kept vector (numpy, batched)."""
    others = [k.vector for k in kept if k.vector and len(k.vector) == len(vector)]
    if not vector or not others:
        return False
    matrix = np.asarray(others, dtype=np.float64)
    v = np.asarray(vector, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(v)
    with np.errstate(divide="ignore", invalid="ignore"):
        sims = np.where(norms > 0, matrix @ v / norms, 0.0)
    return bool((sims >= limit).any())
