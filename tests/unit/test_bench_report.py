"""``docduet bench``'s report: the table of ratios against their goals, and the plots."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.run import markdown, plots
from docduet.cli import main

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "results"

REPORT = {
    "when": "2026-12-05T06:00:00+00:00",
    "machine": {"cpus": 2, "python": "3.11.7"},
    "quick": True,
    "ingestion": {
        "files": 40,
        "docduet": {"chunks_per_second": 4.2, "files_per_second": 0.5, "seconds": 80.0,
                    "stage_seconds": {"parse": 30.0, "embed": 45.0, "write": 5.0}},
        "raw_encode": {"chunks_per_second": 12.0},
        "langchain": {"files_per_second": 1.0, "seconds": 40.0,
                      "stage_seconds": {"load": 10.0, "embed_and_write": 30.0}},
        "incremental": {"seconds": 2.0, "share_of_full": 0.025},
        "ratios": {"docduet_vs_raw_encode": 0.35, "docduet_vs_langchain_files_per_s": 0.5},
    },
    "retrieval": [
        {"chunks": 10_000, "docduet_p50_ms": 80.0, "docduet_p95_ms": 140.0, "raw_p50_ms": 70.0,
         "docduet_vs_raw_p50": 1.14},
    ],
    "generation": {
        "per_model": {"slm": {
            "first_token_s": {"raw": 7.0, "docduet": 7.1, "ratio_raw_over_docduet": 0.986},
            "decode_tokens_per_s": {"raw": 22.0, "docduet": 23.0, "ratio_docduet_over_raw": 1.045},
        }},
        "side_by_side": None,
    },
}  # fmt: skip


def test_the_table_sets_every_ratio_against_its_goal() -> None:
    text = markdown(REPORT)
    assert text.startswith("# docduet bench (quick,")
    assert "| ingestion, chunks/s (40 files) | 4.2 | raw encode 12.0 | 0.35 | >= 0.85 |" in text
    assert "| ingestion, files/s | 0.5 | LangChain pipeline 1.0 | 0.5 | >= 2 |" in text
    assert "| 0.025 | <= 0.05 |" in text
    assert "| retrieval p50 ms, 10,000 chunks | 80.0 |" in text and "| 1.14 | <= 1.3 |" in text
    assert "| slm first token s | 7.10 | raw 7.00 | 0.99 | >= 0.95 |" in text


def test_the_cluster_rows_say_what_three_nodes_change_and_when_search_fails() -> None:
    cluster = json.loads((RESULTS / "cluster_scale-small.json").read_text())["cluster_scale"]
    text = markdown({**REPORT, "cluster": cluster})
    single = cluster["single"]["import_chunks_per_s"]
    assert "| 3 nodes replicated (factor 3, QUORUM), 3,000 chunks: import chunks/s | " in text
    assert f"| one node {single} | {cluster['ratios']['replicated_import_over_single']} | - |" in text
    broken = {**cluster, "sharded": {**cluster["sharded"], "query_error": "RST_STREAM"}}
    assert "| sharded: search p50 ms | fails (Weaviate) |" in markdown({**REPORT, "cluster": broken})


def test_the_plots_are_written(tmp_path: Path) -> None:
    written = plots(REPORT, tmp_path)
    assert [p.name for p in written] == ["ingestion_stages.png", "retrieval_latency.png"]
    assert all(p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG" for p in written)


def test_an_unknown_section_is_refused_before_anything_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "--only", "ingestion,speed"])
    assert code != 0
    assert "unknown section(s) speed" in capsys.readouterr().err
