"""Answer quality: every question through the real :class:`chat.service.AnswerService`.

One shared retrieval per question, the chosen generators answering concurrently, exactly as
the web chat does; each finished question is checkpointed before the next starts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from chat.results import Question
from chat.service import AnswerService
from core.domain import User
from core.protocols import ProgressSink
from evaluation.checkpoint import Checkpoint
from evaluation.datasets import QASet, spread
from evaluation.scoring import outcomes, question_record, retrieval_recall, summarize

log = logging.getLogger(__name__)


def evaluate_qa(
    service: AnswerService,
    dataset: QASet,
    *,
    generators: Sequence[str],
    labels: Mapping[str, str] | None = None,
    user: User,
    limit: int | None,
    checkpoint: Checkpoint,
    progress: ProgressSink,
) -> dict[str, Any]:
    """Answer (a spread of) the questions with ``generators``; the results.json ``qa`` section."""
    items = spread(dataset.items, limit)
    todo = [item for item in items if item.item_id not in checkpoint]
    progress.start(len(todo), f"questions: {', '.join(generators)}")
    try:
        for item in todo:
            comparison = service.compare(Question(text=item.question, user=user), list(generators))
            checkpoint.append(question_record(item, comparison))
            progress.advance(item.item_id, _outcome(checkpoint.get(item.item_id) or {}))
    finally:
        progress.finish()
    records = [checkpoint.get(item.item_id) or {} for item in items]
    section: dict[str, Any] = {
        "generators": list(generators),
        "labels": {name: (labels or {}).get(name, name) for name in generators},
        "questions": len(records),
        "unanswerable": sum(1 for r in records if r["unanswerable"]),
        "retrieval_recall": retrieval_recall(records),
        "summary": {name: summarize(records, name) for name in generators},
        "records": records,
    }
    if len(generators) >= 2:
        section["outcomes"] = outcomes(records, generators[0], generators[1])
    return section


def _outcome(record: dict[str, Any]) -> str:
    marks = []
    for name, entry in record.get("answers", {}).items():
        scores = entry["scores"]
        mark = "error" if scores["error"] else "ok" if scores["correct"] else "wrong"
        marks.append(f"{name} {mark}")
    return ", ".join(marks)
