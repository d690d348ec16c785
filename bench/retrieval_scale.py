"""Retrieval at scale: docduet's permission-filtered hybrid query against the raw Weaviate query.

For each size (10k chunks; ``--sizes`` for more), synthetic chunks with realistic lengths (words
drawn from the sample corpus, 60-250 a chunk), an access spread (12 groups, a fifth of the chunks
public, one or two groups each) and random unit vectors (a whole-text vector and one to three
piece vectors each: embedding 100k texts would take the 2-core machine an hour, and the search
cost does not depend on what the vectors mean) are written into a throw-away collection through
docduet's own index. Then, alternating on the same questions and users:

- **docduet**: ``HybridRetriever.retrieve`` with the real query embedding, the access filter,
  the floors and de-duplication;
- **raw**: the query embedding alone, plus ``collection.query.hybrid`` with that vector, the same
  fusion, targets, filter and limit (what a hand-written client would send).

It reports p50/p95 of each, their ratio, the import rate, and the weaviate-server's resident
memory per 100k chunks (read from /proc of the node docduet runs). ``python -m
bench.retrieval_scale [--sizes 10000,100000] [--queries 60] [--out FILE]``.
"""

from __future__ import annotations

import random
import statistics
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from weaviate.classes.query import HybridFusion, MetadataQuery, TargetVectors

from backends.weaviate import schema
from backends.weaviate.filters import build_where
from backends.weaviate.index import WeaviateChunkIndex
from backends.weaviate.keywords import STEMMED_FIELDS, query_terms
from backends.weaviate.records import RETURN_PROPERTIES
from backends.weaviate.search import PIECE_WEIGHT, VECTORS
from core.domain import Access, Chunk, ChunkVectors, Sensitivity, User
from core.settings import Settings
from docduet.compose import build_embedder, open_index
from retrieval.retriever import OVERFETCH, HybridRetriever

ROOT = Path(__file__).resolve().parents[1]
GROUPS = [f"team-{i:02d}" for i in range(12)]
_EPOCH = datetime(2025, 1, 1, tzinfo=UTC)
DIM = 384
FILE_CHUNKS = 5
QUESTIONS = [
    "How many days of annual leave do employees get?",
    "Which days are the office anchor days?",
    "What is the nightly hotel cap in London?",
    "How do I reset my laptop password?",
    "Who approves travel expenses over the limit?",
    "What is the VPN server address?",
    "When are performance reviews held?",
    "How long is secondary carer leave?",
    "What is the parental leave policy?",
    "How do I request a new monitor?",
]


def vocabulary() -> list[str]:
    """Words of the sample corpus, with their frequencies (drawn from to make chunk texts)."""
    words: list[str] = []
    for path in sorted((ROOT / "corpora").rglob("*.md")):
        words += path.read_text(encoding="utf-8", errors="ignore").split()
    return words


def synthetic_chunks(count: int, seed: int = 7) -> list[tuple[Chunk, ChunkVectors]]:
    rng = random.Random(seed)
    np_rng = np.random.default_rng(seed)
    words = vocabulary()
    out = []
    for n in range(count):
        file, index = divmod(n, FILE_CHUNKS)
        shared = rng.random() < 0.2
        groups = ("public",) if shared else tuple(sorted(rng.sample(GROUPS, rng.choice((1, 2)))))
        text = " ".join(rng.choices(words, k=rng.randint(60, 250)))
        chunk = Chunk(
            chunk_id=str(uuid.UUID(int=n + 1)),
            source=f"/synthetic/doc-{file:07d}.md", root="/synthetic", title=f"Document {file}",
            text=text, index=index, doc_type="md", section="", page=None,
            modified=_EPOCH, content_hash="h", access=Access(groups, _sensitivity(rng)),
        )  # fmt: skip
        whole = _unit(np_rng.standard_normal(DIM))
        pieces = [_unit(whole + np_rng.standard_normal(DIM) * 0.5) for _ in range(rng.randint(1, 3))]
        out.append((chunk, ChunkVectors(whole=whole, pieces=pieces)))
    return out


def measure_size(settings: Settings, size: int, queries: int) -> dict[str, Any]:
    local = settings.replace(collection=f"BenchScale{size}_{int(time.time())}", top_k=5)
    embedder = build_embedder(local)
    users = [User(f"u{i}", tuple(random.Random(i).sample(GROUPS, 2))) for i in range(8)]
    with open_index(local) as connection:
        index = connection.index
        index.ensure(embedding_model=embedder.name, dim=DIM)
        try:
            rss_before = _weaviate_rss()
            import_s = _import(index, synthetic_chunks(size))
            rss_after = _weaviate_rss()
            retriever = HybridRetriever(index, embedder, local.retrieval)
            docduet, raw = _alternate(connection.client, index, retriever, embedder, local, users, queries)
        finally:
            _drop(connection.client, local.weaviate.collection)
    p50 = statistics.median
    return {
        "chunks": size,
        "import_s": round(import_s, 1),
        "import_chunks_per_s": round(size / import_s, 1),
        "docduet_p50_ms": round(1000 * p50(docduet), 1),
        "docduet_p95_ms": round(1000 * _p95(docduet), 1),
        "raw_p50_ms": round(1000 * p50(raw), 1),
        "raw_p95_ms": round(1000 * _p95(raw), 1),
        "docduet_vs_raw_p50": round(p50(docduet) / p50(raw), 3),
        "weaviate_rss_mb": None if rss_after is None else round(rss_after / 2**20),
        "rss_mb_per_100k_chunks": _per_100k(rss_before, rss_after, size),
    }


def _import(index: WeaviateChunkIndex, items: list[tuple[Chunk, ChunkVectors]]) -> float:
    started = time.perf_counter()
    for begin in range(0, len(items), FILE_CHUNKS * 40):
        part = items[begin : begin + FILE_CHUNKS * 40]
        index.upsert([c for c, _ in part], [v for _, v in part])
    return time.perf_counter() - started


def _alternate(
    client: Any,
    index: WeaviateChunkIndex,
    retriever: HybridRetriever,
    embedder: Any,
    settings: Settings,
    users: list[User],
    queries: int,
) -> tuple[list[float], list[float]]:
    """Seconds per query of docduet's retrieval and of the raw query, alternating."""
    collection = client.collections.use(index.name)
    docduet, raw = [], []
    for i in range(queries):
        question, user = QUESTIONS[i % len(QUESTIONS)], users[i % len(users)]
        started = time.perf_counter()
        retriever.retrieve(question, user=user)
        docduet.append(time.perf_counter() - started)
        started = time.perf_counter()
        vector = embedder.embed_query(question)
        collection.query.hybrid(
            query_terms(question), vector={schema.WHOLE_VECTOR: vector, schema.PIECES_VECTOR: [vector]},
            target_vector=TargetVectors.relative_score(
                {schema.WHOLE_VECTOR: 1 - PIECE_WEIGHT, schema.PIECES_VECTOR: PIECE_WEIGHT}
            ),
            alpha=settings.retrieval.alpha, fusion_type=HybridFusion.RELATIVE_SCORE,
            query_properties=list(STEMMED_FIELDS.values()), filters=build_where(user),
            limit=settings.retrieval.top_k * OVERFETCH, include_vector=VECTORS,
            return_metadata=MetadataQuery(score=True), return_properties=RETURN_PROPERTIES,
        )  # fmt: skip
        raw.append(time.perf_counter() - started)
    return docduet[2:], raw[2:]  # the first two warm caches up


def _weaviate_rss() -> int | None:
    """Resident bytes of the weaviate-server processes on this machine (None if none is found)."""
    total = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if "\nName:\tweaviate-server" in "\n" + text or text.startswith("Name:\tweaviate-server"):
            rss = next((line.split()[1] for line in text.splitlines() if line.startswith("VmRSS:")), None)
            total += int(rss) * 1024 if rss else 0
    return total or None


def _drop(client: Any, alias: str) -> None:
    target = schema.resolve_alias(client, alias)
    if target is not None:
        client.alias.delete(alias_name=alias)
        client.collections.delete(target)


def _per_100k(before: int | None, after: int | None, size: int) -> int | None:
    if before is None or after is None:
        return None
    return round((after - before) / 2**20 / size * 100_000)


def _p95(values: list[float]) -> float:
    return sorted(values)[max(0, round(0.95 * len(values)) - 1)]


def _unit(v: np.ndarray) -> list[float]:
    return (v / np.linalg.norm(v)).astype(float).tolist()


def _sensitivity(rng: random.Random) -> Sensitivity:
    levels = (Sensitivity.PUBLIC, Sensitivity.INTERNAL, Sensitivity.INTERNAL, Sensitivity.CONFIDENTIAL)
    return rng.choice(levels)


def main() -> None:
    import argparse
    import logging

    from bench.report import write_report
    from docduet.environment import quiet_third_parties

    quiet_third_parties()
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000", help="comma-separated chunk counts (default 10000)")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "retrieval_scale.json")
    args = parser.parse_args()
    settings = Settings()
    sizes = [int(s) for s in args.sizes.split(",")]
    write_report(args.out, retrieval_scale=[measure_size(settings, n, args.queries) for n in sizes])


if __name__ == "__main__":
    main()
