"""evaluation.ranking: two answered sets' orders of the generators, side by side."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import ConfigError
from evaluation.ranking import agreement, load_answered, main, render


def eval_results(path: Path, name: str, right: dict[str, list[bool]]) -> Path:
    """A docduet eval results.json with each generator's correctness per question."""
    count = len(next(iter(right.values())))
    records = [
        {"id": f"{name}-{i}", "answers": {g: {"scores": {"correct": v[i]}} for g, v in right.items()}}
        for i in range(count)
    ]
    path.write_text(
        json.dumps({"dataset": {"name": name}, "qa": {"generators": list(right), "records": records}})
    )
    return path


def corpus_results(path: Path, right: dict[str, list[bool]]) -> Path:
    """The corpus questions' JSON (python -m docduet.suites.corpus_questions)."""
    count = len(next(iter(right.values())))
    records = [
        {"question": f"q{i}", "answers": {g: {"correct": v[i], "text": "t"} for g, v in right.items()}}
        for i in range(count)
    ]
    path.write_text(json.dumps({"generators": list(right), "records": records, "summary": {}}))
    return path


def test_two_sets_that_agree_and_one_decided_the_same_way(tmp_path: Path) -> None:
    generated = eval_results(
        tmp_path / "g.json",
        "generated",
        {"slm": [True] * 10 + [False] * 30, "slm-large": [True] * 30 + [False] * 10},
    )
    written = corpus_results(
        tmp_path / "corpus.json", {"slm": [True] * 5 + [False] * 5, "slm-large": [True] * 7 + [False] * 3}
    )
    result = agreement(load_answered(generated), load_answered(written))

    assert result["sets"] == ["generated", "corpus"] and result["same_order"] and not result["contradicted"]
    assert [r["generator"] for r in result["standings"]["generated"]] == ["slm-large", "slm"]
    pair = result["pairs"][0]
    assert pair["generated"]["verdict"] == "b better"  # 20 split questions, all one way
    assert pair["corpus"]["verdict"] == "undecided" and pair["corpus"]["questions_needed"] > 10
    assert not pair["decided_in_both"] and result["kendall_tau"] == 1.0
    shown = render(result)
    assert "| `slm` | 25% [" in shown and "(10/40)" in shown and "Same order: yes" in shown


def test_opposite_winners_are_a_contradiction(tmp_path: Path) -> None:
    a = eval_results(tmp_path / "a.json", "a", {"x": [True] * 20 + [False] * 20, "y": [False] * 40})
    b = eval_results(tmp_path / "b.json", "b", {"x": [False] * 40, "y": [True] * 20 + [False] * 20})
    result = agreement(load_answered(a), load_answered(b))
    assert result["contradicted"] and not result["same_order"] and result["kendall_tau"] == -1.0
    assert "(contradicted)" in render(result)


def test_runs_that_share_one_generator_or_are_not_runs_are_refused(tmp_path: Path) -> None:
    a = eval_results(tmp_path / "a.json", "a", {"x": [True], "y": [False]})
    b = eval_results(tmp_path / "b.json", "b", {"x": [True], "z": [False]})
    with pytest.raises(ConfigError, match="share 1 generator"):
        agreement(load_answered(a), load_answered(b))
    (tmp_path / "bad.json").write_text(json.dumps({"retrieval": {}}))
    with pytest.raises(ConfigError, match="no answered questions"):
        load_answered(tmp_path / "bad.json")
    assert main([str(a), str(tmp_path / "missing.json")]) == 2
