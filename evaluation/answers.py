"""Labelled answers read back from evaluation outputs: what confidence and cascade reports need.

Reads ``results.json`` of ``docduet eval`` (its ``qa.records``), a checkpoint ``.jsonl`` of a run
still going, and the corpus questions suite's JSON (``python -m docduet.suites.corpus_questions``).
Each answer becomes a :class:`LabelledAnswer`; failed answers are counted, never labelled.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chat.confidence.assess import model_name
from core.errors import ConfigError


@dataclass(frozen=True)
class LabelledAnswer:
    """One generator's answer to one question, with whether it was right."""

    question: str
    """``<data set>:<question id>``: unique across the files read together."""
    correct: bool
    signals: Mapping[str, float]
    abstained: bool
    unanswerable: bool | None
    """None where the data set does not say (the corpus questions' records do: no expected answer)."""
    total_s: float
    cost_usd: float
    off_premises: bool
    model: str = ""
    """:func:`chat.confidence.assess.model_name` of the endpoint that answered ("" if not recorded)."""


@dataclass(frozen=True)
class AnswerSet:
    """A file's records: its data set's name and answers per generator, failures counted apart."""

    data: str
    questions: int
    answers: dict[str, list[LabelledAnswer]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)


def load_answers(path: Path) -> AnswerSet:
    """The labelled answers in a results.json, checkpoint .jsonl or corpus questions file."""
    try:
        if path.suffix == ".jsonl":
            lines = path.read_text(encoding="utf-8").splitlines()
            records = [json.loads(line) for line in lines if line.strip()]
            return answers_from_records(records, path.parent.name or path.stem)
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"cannot read evaluation results {path}: {e}; pass a results.json") from e
    if isinstance(data, dict) and "qa" in data:
        return answers_from_records(data["qa"]["records"], data["dataset"]["name"])
    if isinstance(data, dict) and isinstance(data.get("records"), list):
        return answers_from_records(data["records"], "corpus-questions")
    raise ConfigError(
        f"{path} holds no answered questions: pass a results.json of `docduet eval` on a question set, "
        "its checkpoint-qa-*.jsonl, or the corpus questions suite's output"
    )


def answers_from_records(records: Sequence[Mapping[str, Any]], data: str) -> AnswerSet:
    """Labelled answers per generator from eval or corpus question records."""
    answers: dict[str, list[LabelledAnswer]] = {}
    errors: dict[str, int] = {}
    cascades = cascade_columns(records)
    for index, record in enumerate(records):
        question = f"{data}:{record.get('id', record.get('question', index))}"
        for generator, entry in record["answers"].items():
            if generator in cascades:
                continue  # served by one of its steps, which are measured and simulated on their own
            labelled = _labelled(question, record, entry)
            if labelled is None:
                errors[generator] = errors.get(generator, 0) + 1
            else:
                answers.setdefault(generator, []).append(labelled)
    return AnswerSet(data, len(records), answers, errors)


def cascade_columns(records: Sequence[Mapping[str, Any]]) -> set[str]:
    """The generators whose answers are a cascade's: any of their answers lists steps. The whole
    column is left out, also its answers without steps (one that failed before any step ran, or
    found no passage): kept, those few would stand for the cascade and cut every simulated
    configuration down to the questions they happen to cover."""
    return {
        generator
        for record in records
        for generator, entry in record["answers"].items()
        if (entry.get("answer") or {}).get("steps")
    }


def _labelled(question: str, record: Mapping[str, Any], entry: Mapping[str, Any]) -> LabelledAnswer | None:
    scores = entry.get("scores", entry)
    answer = entry.get("answer", entry)
    if scores.get("error") or answer.get("error"):
        return None
    confidence = answer.get("confidence") or {}
    privacy = answer.get("privacy") or {}
    timings = answer.get("timings") or {}
    usage = answer.get("usage") or {}
    unanswerable = record.get("unanswerable")
    if unanswerable is None and "expected" in record:
        unanswerable = record["expected"] is None
    return LabelledAnswer(
        question=question,
        correct=bool(scores["correct"]),
        signals=dict(confidence.get("signals") or {}),
        abstained=bool(scores.get("abstained", answer.get("abstained", False))),
        unanswerable=unanswerable,
        total_s=float(scores.get("total_s", timings.get("total_s")) or 0.0),
        cost_usd=float(scores.get("cost_usd", usage.get("cost_usd")) or 0.0),
        off_premises=bool(privacy.get("off_premises", False)),
        model=model_name(privacy["endpoint"]) if privacy.get("endpoint") else "",
    )


def merge(sets: Iterable[AnswerSet]) -> AnswerSet:
    """Several files' answers together (their data set names joined with '+')."""
    sets = list(sets)
    answers: dict[str, list[LabelledAnswer]] = {}
    errors: dict[str, int] = {}
    for s in sets:
        for generator, rows in s.answers.items():
            answers.setdefault(generator, []).extend(rows)
        for generator, count in s.errors.items():
            errors[generator] = errors.get(generator, 0) + count
    return AnswerSet("+".join(s.data for s in sets), sum(s.questions for s in sets), answers, errors)
