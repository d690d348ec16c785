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
from evaluation.costs import Pricing
from evaluation.datasets import QASet, spread
from evaluation.paired import all_pairs
from evaluation.scoring import outcomes, question_record, retrieval_recall
from evaluation.uncertainty import with_intervals

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
    prices: Pricing | None = None,
) -> dict[str, Any]:
    """Answer (a spread of) the questions with ``generators``; the results.json ``qa`` section:
    each generator's summary with 95% intervals (local compute priced at ``prices``) and every
    pair compared on the same questions."""
    items = spread(dataset.items, limit)
    todo = [item for item in items if item.item_id not in checkpoint]
    progress.start(len(todo), f"questions: {', '.join(generators)}")
    try:
        for item in todo:
            asker = item.asker or user  # a generated item's own asker may read its source
            comparison = service.compare(Question(text=item.question, user=asker), list(generators))
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
        "summary": {name: with_intervals(records, name, prices) for name in generators},
        "pairs": all_pairs(records, generators),
        "pricing": (prices or Pricing()).to_json(),
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
