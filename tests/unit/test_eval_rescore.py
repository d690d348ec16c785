"""Rescoring a results.json: today's prices and every interval, pair and decision, no model runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eval_rows import row
from rich.console import Console

from core.errors import ConfigError
from core.settings import Settings
from docduet.commands.eval import _print_decision
from evaluation.rescore import main, rescore


def results(n: int = 30) -> dict[str, Any]:
    """An old results.json (no intervals, pairs, prices or decision): slm right on every third
    question in 2 s, slm-large on two of three in 5 s."""
    records = []
    for i in range(n):
        small = row(f"q{i}", 2.0, 0.0, correct=i % 3 == 0)
        large = row(f"q{i}", 5.0, 0.0, correct=i % 3 != 2)
        small["answers"]["slm-large"] = large["answers"]["slm"]
        records.append(small)
    qa = {"generators": ["slm", "slm-large"], "questions": n, "summary": {}, "records": records}
    qa["outcomes"] = {"both": ["gone"], "only_slm": [], "only_slm-large": [], "neither": []}
    return {"dataset": {"name": "old", "kind": "jsonl", "path": "/old/q.jsonl", "sources": []}, "qa": qa}


def test_an_old_run_gets_prices_intervals_pairs_and_a_decision() -> None:
    settings = Settings(
        compute_price_cpu_hour=3.6, slm_threads=1, slm_large_threads=2, slm_large_enabled=True
    )
    out = rescore(results(), settings)
    slm, large = out["qa"]["summary"]["slm"], out["qa"]["summary"]["slm-large"]
    assert slm["compute_usd_per_1k"] == pytest.approx(2.0)  # 2 s at 1 core at $3.6/h = $0.002
    assert large["compute_usd_per_1k"] == pytest.approx(10.0)  # 5 s at 2 cores
    assert large["ci95"]["correct"][0] < large["correct"] < large["ci95"]["correct"][1]
    assert out["qa"]["pairs"][0]["wins_b"] == 10 and out["qa"]["pairs"][0]["wins_a"] == 0
    assert out["decision"]["choice"] == "slm-large"
    assert len(out["qa"]["outcomes"]["only_slm-large"]) == 10  # recomputed from these records
    assert out["recommendation"][0] == out["decision"]["headline"]
    assert "confidence" in out and "cascade" in out
    console = Console(record=True, width=300)
    _print_decision(console, out["decision"])
    printed = console.export_text()
    assert "correct [95%]" in printed and "- id: slm-large" in printed


def test_the_command_refuses_to_overwrite_what_it_reads_and_a_retrieval_run(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps(results(4)))
    with pytest.raises(ConfigError, match="choose another folder"):
        main([str(path), "--out", str(tmp_path)])
    with pytest.raises(ConfigError, match="no answered questions"):
        rescore({"dataset": {}, "retrieval": {}}, Settings())
