"""``docduet eval`` on BEIR-layout sets against the real Weaviate and embedding model."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from eval_data import eval_set_path

from core.settings import Settings
from docduet.cli import main
from docduet.compose import evaluation_parts
from evaluation.datasets import load_beir, spread
from evaluation.run import EvalOptions, EvalOutcome, run_eval

pytestmark = pytest.mark.integration

SCIFACT = eval_set_path("scifact")
TOPICS = (
    "Volcanic ash grounded flights across northern Europe for six days in April.",
    "The sourdough starter needs rye flour and water fed twice a day at room temperature.",
    "Quarterly revenue of the Leeds office rose eleven percent on higher consulting fees.",
    "Penguins huddle in large groups to survive the Antarctic winter winds.",
    "A password manager generates long random passwords and stores them encrypted.",
    "The violin concerto was premiered in Vienna by a nineteen-year-old soloist.",
    "Tomato plants need staking once the first trusses of fruit appear.",
    "Lithium iron phosphate batteries tolerate more charge cycles than cobalt cells.",
    "The marathon route crosses four bridges and finishes beside the cathedral.",
    "Glaciers in the Alps lost a tenth of their volume during two hot summers.",
)


def evaluate(settings: Settings, options: EvalOptions) -> EvalOutcome:
    """``docduet eval``'s run: the evaluation with its parts from the composition root."""
    with evaluation_parts(settings) as parts:
        return run_eval(settings, options, parts=parts)


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def env_for(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point a CLI run (which builds its own Settings) at the test's Weaviate node."""
    assert (
        settings.weaviate.weaviate_url
        and settings.weaviate.weaviate_grpc_url
        and settings.weaviate.weaviate_api_key
    )
    monkeypatch.setenv("DOCDUET_WEAVIATE_URL", settings.weaviate.weaviate_url)
    monkeypatch.setenv("DOCDUET_WEAVIATE_GRPC_URL", settings.weaviate.weaviate_grpc_url)
    monkeypatch.setenv("DOCDUET_WEAVIATE_API_KEY", settings.weaviate.weaviate_api_key.get_secret_value())
    monkeypatch.setenv("DOCDUET_DATA_DIR", str(settings.paths.data_dir))
    monkeypatch.setenv("DOCDUET_EMBEDDING_THREADS", "1")


def test_known_relevance_scores_perfectly_and_reruns_reuse_everything(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "exact"
    (root / "qrels").mkdir(parents=True)
    write_jsonl(
        root / "corpus.jsonl", [{"_id": f"d{i}", "title": "", "text": t} for i, t in enumerate(TOPICS)]
    )
    write_jsonl(root / "queries.jsonl", [{"_id": f"q{i}", "text": t} for i, t in enumerate(TOPICS)])
    (root / "qrels" / "test.tsv").write_text("".join(f"q{i}\td{i}\t1\n" for i in range(len(TOPICS))))
    env_for(settings, monkeypatch)
    out = tmp_path / "out"

    assert main(["eval", str(root), "--out", str(out), "--alphas", "0.3,0.7"]) == 0

    results = json.loads((out / "results.json").read_text())
    methods = {m["name"]: m for m in results["retrieval"]["methods"]}
    assert set(methods) == {"bm25", "vector", "hybrid@0.3", "hybrid@0.5", "hybrid@0.7"}
    for name, m in methods.items():
        assert m["queries"] == len(TOPICS)
        for metric in ("ndcg@10", "recall@10", "recall@100", "mrr@10"):
            assert m[metric] == pytest.approx(1.0), (name, metric)
    assert results["index"]["written"] == len(TOPICS) and not results["index"]["reused"]
    assert "report.html" in {p.name for p in out.iterdir()}

    assert main(["eval", str(root), "--out", str(out), "--alphas", "0.3,0.7"]) == 0
    again = json.loads((out / "results.json").read_text())
    assert again["index"]["reused"] and again["index"]["written"] == 0
    assert again["resumed"] == len(TOPICS)
    assert again["retrieval"]["methods"] == results["retrieval"]["methods"]


@pytest.mark.slow
@pytest.mark.eval_data("scifact")
def test_scifact_slice(make_settings: Callable[..., Settings], tmp_path: Path) -> None:
    """20 SciFact train queries over their relevant abstracts plus 80 distractors."""
    full = load_beir(SCIFACT, split="train")
    queries = spread(full.queries, 20)
    relevant = {doc for q in queries for doc in full.qrels[q.query_id]}
    others = [d for d in full.documents if d.doc_id not in relevant]
    keep = relevant | {d.doc_id for d in random.Random(7).sample(others, 80)}
    subset = tmp_path / "scifact-slice"
    (subset / "qrels").mkdir(parents=True)
    write_jsonl(
        subset / "corpus.jsonl",
        [{"_id": d.doc_id, "title": d.title, "text": d.text} for d in full.documents if d.doc_id in keep],
    )
    write_jsonl(subset / "queries-train.jsonl", [{"_id": q.query_id, "text": q.text} for q in queries])
    (subset / "qrels" / "train.tsv").write_text(
        "query-id\tcorpus-id\tscore\n"
        + "".join(f"{q.query_id}\t{d}\t{s}\n" for q in queries for d, s in full.qrels[q.query_id].items())
    )
    settings = make_settings(embedding_threads=1)
    outcome = evaluate(
        settings, EvalOptions(dataset=subset, out=tmp_path / "out", alphas=(settings.retrieval.alpha,))
    )

    retrieval = outcome.results["retrieval"]
    assert retrieval["queries"] == 20
    assert [m["name"] for m in retrieval["methods"]] == [
        "bm25",
        "vector",
        f"hybrid@{settings.retrieval.alpha:g}",
    ]
    a = f"{settings.retrieval.alpha:g}"
    baselines = ["bm25-unstemmed", "vector-whole", f"hybrid-unstemmed@{a}", f"hybrid-whole@{a}"]
    assert [m["name"] for m in retrieval["baselines"]] == baselines
    for m in retrieval["methods"] + retrieval["baselines"]:
        for metric in ("ndcg@10", "recall@10", "recall@100", "mrr@10"):
            assert 0.0 <= m[metric] <= 1.0
        assert m["recall@100"] >= m["recall@10"]
        assert m["recall@100"] > 0.5, m
        assert m["ndcg@10"] > 0.3, m  # far above chance (~0.1) on 100 documents
        assert 0 < m["latency_p50_s"] < 5
    assert "SciFact" in " ".join(outcome.results["dataset"]["sources"])
    assert outcome.results["recommendation"] and outcome.report_path.stat().st_size > 10_000
