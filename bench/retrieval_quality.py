"""Retrieval quality of the chunk layouts side by side: one chunk per document against token windows.

Usage: ``python -m bench.retrieval_quality DATASET [--layouts documents,windows] [--alphas 0.5]
[--limit N] [--out bench/results/retrieval_quality-NAME.json]``

DATASET is a BEIR folder, a SQuAD 2.0 file (its answerable questions become queries whose one
relevant document is the paragraph holding the answer), or the name of a set of DOCDUET_EVAL_DATA
(``scifact``, ``squad2-mini``; ``make eval-data`` fetches them). Each layout is indexed into an
evaluation collection of its own (reused when unchanged, see evaluation/index.py): ``documents`` is
one chunk per document (the embedder truncates long ones), ``windows`` cuts documents as
ingestion does (ingest/splitter.py). Every layout runs the same methods through docduet's retriever
(stemmed BM25, vectors, hybrid at each alpha, and the unstemmed baselines) and reports nDCG@10,
recall@10/100, MRR@10 and hit rates at 1, 3 and 5 (the gold document among the first k distinct
documents; chat shows ``top_k`` = 5 passages).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from bench.report import write_report
from core.eval_data import resolve_dataset
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import build_embedder, open_index
from docduet.environment import quiet_third_parties
from evaluation.checkpoint import Checkpoint
from evaluation.datasets import EvalQuery, QASet, RetrievalSet, load_dataset
from evaluation.index import ensure_eval_index
from evaluation.options import parse_alphas, parse_list
from evaluation.retrieval_eval import baselines_for, evaluate_retrieval, methods_for

ROOT = Path(__file__).resolve().parents[1]
LAYOUTS = ("documents", "windows")
HITS_AT = (1, 3, 5)


def as_retrieval_set(dataset: RetrievalSet | QASet) -> RetrievalSet:
    """A BEIR set as it is; a QA set as its answerable questions against their source paragraphs."""
    if isinstance(dataset, RetrievalSet):
        return dataset
    if dataset.documents is None:
        raise SystemExit(f"{dataset.path} has no documents of its own; pass a BEIR folder or SQuAD file")
    items = [i for i in dataset.items if not i.unanswerable and i.source]
    return RetrievalSet(
        name=dataset.name,
        path=dataset.path,
        split="answerable",
        documents=dataset.documents,
        queries=tuple(EvalQuery(i.item_id, i.question) for i in items),
        qrels={i.item_id: {str(i.source): 1} for i in items},
        corpus_digest=dataset.corpus_digest,
    )


def hit_rates(section: dict[str, Any], qrels: dict[str, dict[str, int]]) -> dict[str, dict[str, float]]:
    """Per method: the share of queries with a relevant document among the first k documents."""
    rates: dict[str, dict[str, float]] = {}
    records = [r for r in section["per_query"] if r]
    for name in records[0]["methods"] if records else ():
        rates[name] = {
            f"hit@{k}": round(
                sum(bool(set(r["methods"][name]["top10"][:k]) & set(qrels[r["id"]])) for r in records)
                / len(records),
                4,
            )
            for k in HITS_AT
        }
    return rates


def measure(
    settings: Settings, dataset: RetrievalSet, layout: str, alphas: tuple[float, ...], limit: int | None
) -> dict[str, Any]:
    """Index ``dataset`` in ``layout`` and score every method on it."""
    embedder = build_embedder(settings)
    progress = NullProgress()
    with open_index(settings) as connection:
        index = ensure_eval_index(
            connection.index_named, embedder, dataset.documents, corpus_digest=dataset.corpus_digest,
            settings=settings, progress=progress, windowed=layout == "windows",
        )  # fmt: skip
        methods, baselines = (
            methods_for(alphas, settings.retrieval.alpha),
            baselines_for(settings.retrieval.alpha),
        )
        config = {"bench": "retrieval_quality", "collection": index.collection, "limit": limit,
                  "methods": [(m.name, m.alpha, m.stemmed) for m in (*methods, *baselines)]}  # fmt: skip
        checkpoint = Checkpoint(settings.paths.data_dir / "bench" / "retrieval_quality", dataset.name, config)
        chunk_index = connection.index_named(index.collection)
        section = evaluate_retrieval(
            chunk_index, settings, dataset, embedder=embedder, methods=methods,
            limit=limit, checkpoint=checkpoint, progress=progress, baselines=baselines,
        )  # fmt: skip
        chunks = chunk_index.count()
    rates = hit_rates(section, dataset.qrels)
    summaries = [{**m, **rates.get(m["name"], {})} for m in (*section["methods"], *section["baselines"])]
    return {
        "layout": layout,
        "collection": index.collection,
        "documents": index.documents,
        "chunks": chunks,
        "index_seconds": round(index.seconds, 1),
        "queries": section["queries"],
        "methods": summaries,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--layouts", default=",".join(LAYOUTS))
    parser.add_argument("--alphas", default="0.5")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    quiet_third_parties()
    layouts = parse_list(args.layouts, "layouts")
    if unknown := set(layouts) - set(LAYOUTS):
        raise SystemExit(f"unknown layouts {sorted(unknown)}; choose from {', '.join(LAYOUTS)}")
    settings = Settings()
    dataset = as_retrieval_set(load_dataset(resolve_dataset(args.dataset, settings.paths.eval_data)))
    alphas = parse_alphas(args.alphas)
    results = [measure(settings, dataset, layout, alphas, args.limit) for layout in layouts]
    out = args.out or ROOT / "bench" / "results" / f"retrieval_quality-{dataset.name}.json"
    write_report(
        out,
        dataset={"name": dataset.name, "queries": len(dataset.queries), "documents": len(dataset.documents)},
        settings={
            "alpha": settings.retrieval.alpha,
            "chunk_max_tokens": settings.ingest.chunk_max_tokens,
            "chunk_overlap_tokens": settings.ingest.chunk_overlap_tokens,
            "embedding_model": build_embedder(settings).name,
        },
        layouts=results,
    )


if __name__ == "__main__":
    main()
