"""A review sheet for a generated set: a seeded sample of its items, each beside its passage.

A person reads each item against the passage it was written from and marks two things: whether
the question can be answered from its source, and whether the gold answer is right and
unambiguous. ``python -m docduet.suites.review_generated SET/questions.jsonl`` writes the sheet
(Markdown) for the sample; the counts a reader writes back are what the spot-check reports.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from core.errors import ConfigError

SEED = 7


def sample(
    records: Sequence[dict[str, Any]], size: int, *, answerable: bool, seed: int = SEED
) -> list[dict[str, Any]]:
    """``size`` items of one kind chosen with ``seed`` (all of them when there are fewer), in file order."""
    pool = [r for r in records if bool(r.get("answers")) == answerable]
    chosen = set(map(id, random.Random(seed).sample(pool, min(size, len(pool)))))
    return [r for r in pool if id(r) in chosen]


def read_records(path: Path) -> list[dict[str, Any]]:
    """The generated items of a QA JSONL (lines without provenance, added by hand, are left out)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        records = [json.loads(line) for line in lines if line.strip()]
    except (OSError, ValueError) as e:
        raise ConfigError(
            f"cannot read {path}: {e}; give the questions.jsonl of docduet eval --generate"
        ) from e
    return [r for r in records if isinstance(r, dict) and "generated" in r]


def sheet(items: Sequence[dict[str, Any]], passage: Callable[[str], str | None]) -> str:
    """The review sheet: per item its id, source, question, gold and passage text, and two blanks."""
    lines = [
        "# Review sheet",
        "",
        "For each item mark **answerable** (the question can be answered from its source: yes / no) and "
        "**gold** (the gold answer is right and unambiguous: yes / no; unanswerable items: yes when "
        "no document answers it).",
        "",
    ]
    for n, item in enumerate(items, 1):
        text = passage(item["generated"]["passage_id"])
        gold = " | ".join(item["answers"]) or "(unanswerable)"
        where = Path(item["source"]).name
        section = item["generated"].get("section")
        asker = (item.get("asker") or {}).get("name") or "anonymous"
        lines += [
            f"## {n}. `{item['id']}` ({where}{f', {section}' if section else ''}, asked as {asker})",
            "",
            f"- question: {item['question']}",
            f"- gold: {gold}",
            f"- passage: {' '.join(text.split()) if text else '(not in the index any more)'}",
            "- answerable: ___  gold: ___",
            "",
        ]
    return "\n".join(lines)
