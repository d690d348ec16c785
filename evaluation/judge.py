"""Optional LLM-as-judge: the hosted model grades each answer against the gold answers.

Reported separately and never mixed into the deterministic metrics, with the judge's own
agreement with gold (Cohen's kappa, :mod:`evaluation.agreement`) beside its grades. Only the
question, the gold answers and the candidate answer are sent; questions whose retrieval touched
a confidential passage are skipped, since their answers may quote it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

from core.errors import DocduetError
from core.prompt import Prompt
from core.protocols import Generator, ProgressSink
from evaluation.agreement import judge_agreement
from evaluation.checkpoint import Checkpoint
from evaluation.metrics import mean

log = logging.getLogger(__name__)

JUDGE_SYSTEM = (
    "You grade answers to reading-comprehension questions. The message gives a question, the "
    "reference answers (or says the question cannot be answered from the documents) and a "
    "candidate answer; there are no passages to read. Reply with one line: 'SCORE: 2' when the "
    "candidate is correct (for an unanswerable question: when it declines to answer), "
    "'SCORE: 1' when it is partly correct, 'SCORE: 0' when it is wrong; then a short reason."
)
JUDGE_MAX_TOKENS = 60
_SCORE = re.compile(r"SCORE\s*[:=]?\s*([0-2])\b", re.I)


def judge_request(question: str, gold: Sequence[str], candidate: str) -> str:
    """The text the judge sees for one answer."""
    reference = " | ".join(gold) if gold else "(none: the documents do not answer this question)"
    return f"{question}\nReference answers: {reference}\nCandidate answer: {candidate or '(empty)'}"


def parse_score(text: str) -> int | None:
    """The 0-2 grade in the judge's reply, or None when it gave none."""
    match = _SCORE.search(text)
    return int(match.group(1)) if match else None


def judge_answers(
    judge: Generator,
    records: Sequence[dict[str, Any]],
    generators: Sequence[str],
    *,
    checkpoint: Checkpoint,
    progress: ProgressSink,
) -> dict[str, Any]:
    """Grade every answer that has text; the results.json ``judge`` section."""
    jobs = [(r, g) for r in records for g in generators if g in r["answers"]]
    todo = [(r, g) for r, g in jobs if f"{r['id']}|{g}" not in checkpoint]
    failed: dict[str, dict[str, Any]] = {}  # not checkpointed: a re-run tries them again
    progress.start(len(todo), f"judging with {judge.endpoint}")
    try:
        for record, name in todo:
            grade = _judge_one(judge, record, name)
            if grade.get("failed"):
                failed[grade["id"]] = grade
            else:
                checkpoint.append(grade)
            progress.advance(record["id"], name)
    finally:
        progress.finish()
    grades = [checkpoint.get(k) or failed.get(k) or {} for k in (f"{r['id']}|{g}" for r, g in jobs)]
    summary = {}
    for name in generators:
        mine = [g for g in grades if g.get("generator") == name]
        scored = [g["score"] for g in mine if g.get("score") is not None]
        summary[name] = {
            "judged": len(scored),
            "skipped": sum(1 for g in mine if g.get("skipped")),
            "failed": sum(1 for g in mine if g.get("failed")),
            "unparsed": sum(1 for g in mine if g.get("score") is None and "reply" in g),
            "mean_score": mean([s / 2 for s in scored]),
        }
    agreement = judge_agreement(records, grades, generators)
    for name in generators:
        summary[name]["kappa"] = agreement["per_generator"][name]
    return {"endpoint": judge.endpoint, "summary": summary, "grades": grades, "agreement": agreement["all"]}


def _judge_one(judge: Generator, record: dict[str, Any], name: str) -> dict[str, Any]:
    key = {"id": f"{record['id']}|{name}", "question": record["id"], "generator": name}
    if any(h["sensitivity"] == "confidential" for h in record["hits"]):
        return {**key, "score": None, "skipped": "confidential passages retrieved"}
    answer = record["answers"][name]
    if answer["scores"]["error"]:
        return {**key, "score": None, "skipped": "the generator failed"}
    text = answer["answer"]["text"]
    prompt = Prompt(
        system=JUDGE_SYSTEM, blocks=(), question=judge_request(record["question"], record["gold"], text)
    )
    try:
        reply = judge.stream(prompt, max_tokens=JUDGE_MAX_TOKENS).collect().text
    except DocduetError as e:
        log.warning("the judge failed on %s/%s: %s", record["id"], name, e)
        return {**key, "score": None, "failed": str(e)}
    return {**key, "score": parse_score(reply), "reply": reply.strip()[:300]}
