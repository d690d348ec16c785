"""Retrieval quality on a BEIR-layout set: BM25-only, vector-only and a hybrid alpha sweep.

Every method runs through the project's own :class:`retrieval.retriever.HybridRetriever`
(same hybrid query, fusion, access filter and de-duplication as chat), with ``alpha``
overridden per method and the similarity threshold disabled so that ranks, not cut-offs, are
measured. Query embeddings are computed in batches up front. Besides the methods (BM25 on the
stemmed fields, as chat searches), BM25 on the original fields without stemming and the hybrid
at the default alpha without stemming run as baselines, and so do the vector search and that
hybrid on the chunks' whole-text vectors alone, so one run shows what stemming and piece vectors
buy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from core.domain import ANONYMOUS
from core.index import ChunkIndex
from core.protocols import Embedder, ProgressSink
from core.settings import Settings
from evaluation.checkpoint import Checkpoint
from evaluation.datasets import RetrievalSet, spread
from evaluation.metrics import mean, paired_difference, percentile, ranking_scores
from evaluation.uncertainty import column_intervals
from retrieval.retriever import HybridRetriever

log = logging.getLogger(__name__)

DEFAULT_ALPHAS = (0.25, 0.5, 0.75)
RANK_DEPTH = 100
"""Results fetched per query: enough for recall@100."""
METRICS = ("ndcg@10", "recall@10", "recall@100", "mrr@10")


@dataclass(frozen=True)
class Method:
    """One retrieval configuration: a hybrid search with a fixed alpha, stemmed BM25 or not,
    vectors of the whole chunk and its best piece or of the whole chunk alone."""

    name: str
    alpha: float
    stemmed: bool = True
    pieces: bool = True


def methods_for(alphas: Sequence[float], default_alpha: float) -> list[Method]:
    """BM25 (alpha 0), vector (alpha 1), and hybrid at every alpha strictly between (default included)."""
    between = sorted({round(a, 4) for a in (*alphas, default_alpha) if 0 < a < 1})
    return [Method("bm25", 0.0), Method("vector", 1.0), *(Method(f"hybrid@{a:g}", a) for a in between)]


def baselines_for(default_alpha: float) -> list[Method]:
    """The searches without stemming (BM25, and the hybrid at the default alpha) and without
    piece vectors (vector, and that hybrid), to show what each buys."""
    baselines = [Method("bm25-unstemmed", 0.0, stemmed=False), Method("vector-whole", 1.0, pieces=False)]
    if not 0 < default_alpha < 1:
        return baselines
    return [
        *baselines,
        Method(f"hybrid-unstemmed@{default_alpha:g}", default_alpha, stemmed=False),
        Method(f"hybrid-whole@{default_alpha:g}", default_alpha, pieces=False),
    ]


class QueryVectors:
    """An :class:`Embedder` that answers ``embed_query`` from vectors computed in batches."""

    def __init__(self, inner: Embedder) -> None:
        self._inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.window = inner.window
        self._cache: dict[str, list[float]] = {}

    def prime(self, texts: Sequence[str]) -> None:
        """Embed ``texts`` in the inner embedder's batches and keep the vectors."""
        new = list(dict.fromkeys(t for t in texts if t not in self._cache))
        for text, vector in zip(new, self._inner.embed_documents(new), strict=True):
            self._cache[text] = vector

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return self._inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        if text not in self._cache:
            self._cache[text] = self._inner.embed_query(text)
        return self._cache[text]


def evaluate_retrieval(
    chunk_index: ChunkIndex,
    settings: Settings,
    dataset: RetrievalSet,
    *,
    embedder: Embedder,
    methods: Sequence[Method],
    limit: int | None,
    checkpoint: Checkpoint,
    progress: ProgressSink,
    baselines: Sequence[Method] = (),
) -> dict[str, Any]:
    """Score every method (and baseline) on (a spread of) the queries; the ``retrieval`` section."""
    queries = spread(dataset.queries, limit)
    todo = [q for q in queries if q.query_id not in checkpoint]
    vectors = QueryVectors(embedder)
    vectors.prime([q.text for q in todo])
    base = settings.replace(score_threshold=-1.0, top_k=RANK_DEPTH)
    retrievers = {
        m.name: HybridRetriever(
            chunk_index,
            vectors,
            base.replace(alpha=m.alpha).retrieval,
            stemmed=m.stemmed,
            pieces=m.pieces,
        )
        for m in (*methods, *baselines)
    }
    progress.start(len(todo), f"retrieval: {len(retrievers)} methods")
    try:
        for query in todo:
            qrels = dataset.qrels[query.query_id]
            scored = {name: _score(r, query.text, qrels) for name, r in retrievers.items()}
            checkpoint.append({"id": query.query_id, "query": query.text, "methods": scored})
            progress.advance(query.query_id, "scored")
    finally:
        progress.finish()
    records = [checkpoint.get(q.query_id) or {} for q in queries]
    return {
        "queries": len(queries),
        "depth": RANK_DEPTH,
        "methods": [_summary(m, records) for m in methods],
        "baselines": [_summary(m, records) for m in baselines],
        "default_alpha": settings.retrieval.alpha,
        "per_query": records,
    }


def _score(retriever: HybridRetriever, query: str, qrels: dict[str, int]) -> dict[str, Any]:
    started = time.perf_counter()
    hits = retriever.retrieve(query, user=ANONYMOUS, top_k=RANK_DEPTH)
    seconds = time.perf_counter() - started
    ranked = list(dict.fromkeys(h.chunk.source for h in hits))
    scores = ranking_scores(ranked, qrels)
    return {**{k: round(v, 6) for k, v in scores.items()}, "top10": ranked[:10], "seconds": round(seconds, 4)}


def _summary(method: Method, records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    rows = [r["methods"][method.name] for r in records if method.name in r.get("methods", {})]
    summary: dict[str, Any] = {
        "name": method.name,
        "alpha": method.alpha,
        "stemmed": method.stemmed,
        "pieces": method.pieces,
        "queries": len(rows),
    }
    for metric in METRICS:
        summary[metric] = mean([row[metric] for row in rows])
    latencies = [row["seconds"] for row in rows]
    summary["latency_p50_s"] = percentile(latencies, 50)
    summary["latency_p95_s"] = percentile(latencies, 95)
    latency = {"latency_p50_s": ("seconds", 50.0), "latency_p95_s": ("seconds", 95.0)}
    summary["ci95"] = column_intervals(rows, METRICS, latency)
    return summary


def compare_methods(
    retrieval: dict[str, Any], a: str, b: str, metric: str = "ndcg@10"
) -> tuple[float, float]:
    """Paired mean difference ``a - b`` of ``metric`` over the queries, and its standard error."""
    rows = [r["methods"] for r in retrieval["per_query"] if a in r.get("methods", {}) and b in r["methods"]]
    return paired_difference([r[a][metric] for r in rows], [r[b][metric] for r in rows])
