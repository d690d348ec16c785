"""The review sheet of a generated set (evaluation.generate.review)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import ConfigError
from evaluation.generate.review import read_records, sample, sheet


def record(n: int, answers: list[str]) -> dict[str, object]:
    return {
        "id": f"a-{n}",
        "question": f"Question {n}?",
        "answers": answers,
        "source": f"/docs/d{n}.md",
        "asker": {"name": "alice", "groups": ["hr"]},
        "generated": {"passage_id": f"p{n}"},
    }


def test_a_seeded_sample_of_one_kind_in_file_order_beside_its_passages(tmp_path: Path) -> None:
    records = [record(n, ["x"] if n % 4 else []) for n in range(40)]
    path = tmp_path / "questions.jsonl"
    lines = [json.dumps(r) for r in records] + [json.dumps({"id": "mine", "question": "q", "answers": ["a"]})]
    path.write_text("\n".join(lines) + "\n")
    loaded = read_records(path)
    assert len(loaded) == 40  # the line added by hand has no provenance: not reviewed
    chosen = sample(loaded, 5, answerable=True)
    assert chosen == sample(loaded, 5, answerable=True)  # seeded
    assert len(chosen) == 5 and all(r["answers"] for r in chosen)
    assert [r["id"] for r in chosen] == sorted((r["id"] for r in chosen), key=lambda i: int(i[2:]))
    assert len(sample(loaded, 50, answerable=False)) == 10  # fewer than asked: all of them

    text = sheet(chosen[:2], {"p1": "The first\n passage.", "p2": None}.get)
    first = chosen[0]
    assert f"`{first['id']}` (d{first['id'][2:]}.md, asked as alice)" in text
    assert "- answerable: ___  gold: ___" in text
    anonymous = record(3, []) | {"asker": {"name": None, "groups": []}}
    anonymous["generated"] = {"passage_id": "p3", "section": "Rotterdam (EUR)"}
    shown = sheet([record(1, ["x"]), anonymous], {"p1": "The first\n passage."}.get)
    assert "(d3.md, Rotterdam (EUR), asked as anonymous)" in shown
    assert "- passage: The first passage." in shown and "(not in the index any more)" in shown
    assert "- gold: (unanswerable)" in shown


def test_an_unreadable_set_says_what_to_give(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="docduet eval --generate"):
        read_records(tmp_path / "missing.jsonl")
