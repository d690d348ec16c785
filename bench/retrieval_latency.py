"""Retrieval latency (p50/p95 over a few hundred queries) and the similarity threshold's effect.

Usage: ``python -m bench.retrieval_latency [--out bench/results/retrieval.json] [--collection NAME]``
Without ``--collection`` it ingests corpora/ into a throw-away collection on the configured Weaviate
(the embedded one by default) and deletes it afterwards. Queries are the sample questions, chunk
titles, sections and first sentences, and off-topic questions, asked by every demo user in turn.
Latency is end to end: query embedding, index check, hybrid search, threshold and de-duplication.
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import weaviate
import yaml

from backends.weaviate.client import open_client
from backends.weaviate.index import WeaviateChunkIndex
from backends.weaviate.schema import resolve_alias
from bench.report import write_report
from core.domain import ANONYMOUS, User
from core.identity import UserDirectory
from core.protocols import Embedder, NullProgress
from core.settings import Settings
from docduet.compose import build_embedder, run_ingest
from docduet.environment import quiet_third_parties
from retrieval.retriever import HybridRetriever

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpora"
EVERYONE = User("bench-all", ("employees", "hr", "finance", "admins", "leadership"))
OFF_TOPIC = [
    "What is the capital of France?", "How do I bake sourdough bread?",
    "Who won the 2018 FIFA World Cup?", "Explain quantum entanglement in simple terms",
    "What is the boiling point of water at altitude?", "Recommend a good sci-fi novel",
    "How many legs does a spider have?", "What is the tallest mountain in Africa?",
    "Translate 'good morning' into Japanese", "What's the best way to train a puppy?",
    "lasagna recipe", "Who painted the Mona Lisa?", "When did the Roman Empire fall?",
    "How does photosynthesis work?", "What is the speed of light?",
    "Best hiking trails in Colorado", "how to change a bicycle tyre",
    "What are the rules of cricket?", "What is the population of Tokyo?",
    "Write a haiku about autumn", "Which planet has the most moons?",
    "How do vaccines work?", "What is a good marinade for chicken?",
    "Who wrote Pride and Prejudice?", "How far is the Moon from Earth?",
]  # fmt: skip


@contextmanager
def corpus_index(settings: Settings, collection: str | None) -> Iterator[Settings]:
    """Settings aimed at ``collection``, or at a fresh ingest of corpora/ deleted afterwards."""
    if collection:
        yield settings.replace(collection=collection)
        return
    local = settings.replace(collection=f"BenchRetrieval{int(time.time() * 1000)}")
    summary = run_ingest(local, [CORPUS], progress=NullProgress())
    logging.getLogger(__name__).warning("ingested %d chunks in %.1f s", summary.chunks, summary.seconds)
    try:
        yield local
    finally:
        with open_client(local, autostart=False) as client:
            target = resolve_alias(client, local.weaviate.collection)
            client.alias.delete(alias_name=local.weaviate.collection)
            if target:
                client.collections.delete(target)


def corpus_queries(client: weaviate.WeaviateClient, collection: str) -> list[str]:
    """Titles, sections and first sentences of every chunk, plus the sample questions."""
    queries: list[str] = [q["question"] for q in sample_questions()]
    for obj in client.collections.use(collection).iterator(return_properties=["title", "section", "text"]):
        p = obj.properties
        first = re.split(r"(?<=[.!?])\s", str(p["text"]).strip(), maxsplit=1)[0][:200]
        last = re.split(r"(?<=[.!?])\s", str(p["text"]).strip())[-1][:200]
        queries += [str(p["title"]), str(p["section"]), first, last]
    return [q for q in dict.fromkeys(queries) if q.strip()]


def sample_questions() -> list[dict[str, Any]]:
    data = yaml.safe_load((CORPUS / ".questions.yaml").read_text(encoding="utf-8"))
    return list(data["questions"])


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def latency(retriever: HybridRetriever, queries: list[str], users: list[User]) -> dict[str, Any]:
    for query in queries[:10]:  # warm-up: model, gRPC channel, caches
        retriever.retrieve(query, user=EVERYONE)
    times, returned = [], []
    for i, query in enumerate(queries):
        started = time.perf_counter()
        hits = retriever.retrieve(query, user=users[i % len(users)])
        times.append(1000 * (time.perf_counter() - started))
        returned.append(len(hits))
    return {
        "queries": len(times),
        "p50_ms": round(percentile(times, 50), 1),
        "p95_ms": round(percentile(times, 95), 1),
        "p99_ms": round(percentile(times, 99), 1),
        "mean_ms": round(statistics.fmean(times), 1),
        "max_ms": round(max(times), 1),
        "mean_hits": round(statistics.fmean(returned), 2),
    }


def embedding_latency(embedder: Embedder, queries: list[str]) -> dict[str, float]:
    """Query embedding alone, to show its share of the total."""
    times = []
    for query in queries:
        started = time.perf_counter()
        embedder.embed_query(query)
        times.append(1000 * (time.perf_counter() - started))
    return {"p50_ms": round(percentile(times, 50), 1), "p95_ms": round(percentile(times, 95), 1)}


def relevance(
    retriever: HybridRetriever, thresholded: HybridRetriever, settings: Settings
) -> dict[str, Any]:
    """Similarities of the right source on answerable questions vs. the best hit off topic.

    A hit's similarity is its best part's (whole text or one piece); what the floors keep
    (``score_threshold`` for the whole text, ``piece_score_threshold`` for a piece) is counted
    by asking ``thresholded``, the retriever chat uses.
    """
    found: dict[str, float] = {}
    missed: list[str] = []
    for q in sample_questions():
        if not q["source"]:
            continue
        hits = retriever.retrieve(q["question"], user=EVERYONE)
        sims = [h.similarity or 0.0 for h in hits if h.chunk.source.endswith("/" + q["source"])]
        if sims:
            found[q["question"]] = max(sims)
        else:
            missed.append(q["question"])
    off = {q: max((h.similarity or 0.0 for h in retriever.retrieve(q, user=EVERYONE)), default=0.0)
           for q in OFF_TOPIC}  # fmt: skip
    t = settings.retrieval.score_threshold
    kept = [q for q in found if _finds(thresholded, q)]
    off_kept = [q for q in off if thresholded.retrieve(q, user=EVERYONE)]
    return {
        "threshold": t,
        "piece_threshold": settings.retrieval.piece_score_threshold,
        "answerable": len(found) + len(missed),
        "right_source_in_top_k_unthresholded": len(found),
        "missed_without_threshold": missed,
        "right_source_similarity": _spread(found),
        "kept_by_threshold": len(kept),
        "dropped_by_threshold": sorted(set(found) - set(kept)),
        "off_topic": len(off),
        "off_topic_best_similarity": _spread(off),
        "off_topic_with_hits_at_threshold": len(off_kept),
        "off_topic_kept": off_kept,
    }


def _finds(retriever: HybridRetriever, question: str) -> bool:
    """True when ``retriever`` returns the question's own source among its hits."""
    (q,) = [q for q in sample_questions() if q["question"] == question]
    hits = retriever.retrieve(question, user=EVERYONE)
    return any(h.chunk.source.endswith("/" + q["source"]) for h in hits)


def _spread(sims: dict[str, float]) -> dict[str, Any]:
    ranked = sorted(sims.items(), key=lambda kv: kv[1])
    return {
        "min": round(ranked[0][1], 3),
        "median": round(statistics.median(sims.values()), 3),
        "max": round(ranked[-1][1], 3),
        "lowest": {q: round(s, 3) for q, s in ranked[:3]},
        "highest": {q: round(s, 3) for q, s in ranked[-3:]},
    }


def main() -> None:
    quiet_third_parties()
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--collection", help="an existing alias to query instead of ingesting corpora/")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "retrieval.json")
    args = parser.parse_args()
    settings = Settings()
    directory = UserDirectory.from_file(CORPUS / "users.yaml")
    users = [directory.resolve(n) for n in directory.names()] + [ANONYMOUS]
    embedder = build_embedder(settings)
    with corpus_index(settings, args.collection) as local, open_client(local) as client:
        retriever = HybridRetriever(
            WeaviateChunkIndex(client, local.weaviate.collection, local), embedder, local.retrieval
        )
        queries = corpus_queries(client, local.weaviate.collection) + OFF_TOPIC
        timing = latency(retriever, queries, users)
        embedding = embedding_latency(embedder, queries)
        floorless = local.replace(score_threshold=-1.0)
        unthresholded = HybridRetriever(retriever.index, embedder, floorless.retrieval)
        quality = relevance(unthresholded, retriever, local)
    write_report(
        args.out,
        settings={
            "top_k": settings.retrieval.top_k,
            "alpha": settings.retrieval.alpha,
            "embedding_threads": settings.embedding.embedding_threads,
        },
        retrieval=timing,
        query_embedding=embedding,
        relevance=quality,
    )

if __name__ == "__main__":
    main()
