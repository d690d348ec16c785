"""The sample corpus's own questions (corpora/.questions.yaml), answered by each generator.

``python -m docduet.suites.corpus_questions [--generators a,b] [--out FILE]`` ingests corpora/ into a
collection of its own on the configured Weaviate (the embedded one by default), asks every question
as a demo user allowed to read its source (anonymous for public ones), and scores each answer:

- answerable: the expected key facts (the first two numbers of the expected answer, or its
  capitalised words when it has none, e.g. "Tuesday", "Thursday") all appear in the answer; and
  separately, whether the answer cites the file that holds it;
- unanswerable: the generator abstained.

Each answer is also kept whole (``answer``: its confidence signals, timings, cost and privacy), so
``python -m evaluation.confidence_eval`` and ``docduet eval ... --calibrate-with`` can use it.

Results go to ``FILE`` (JSON) and a table to the terminal.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from chat.results import Question, answer_json
from core.domain import ANONYMOUS, Answer, User
from core.errors import ConfigError
from core.identity import UserDirectory
from core.protocols import NullProgress
from core.settings import Settings
from evaluation.parts import EvalParts

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpora"
COLLECTION = "DocduetCorpusQuestions"
_NUMBER_RE = re.compile(r"\d+(?:[.,:]\d+)*")
_CAPITAL_RE = re.compile(r"\b[A-Z][a-z]+\b")


@dataclass(frozen=True)
class CorpusQuestion:
    question: str
    answer: str | None
    source: str | None
    readable_by: tuple[str, ...]

    @property
    def key_facts(self) -> list[str]:
        """What an answer must contain: its first two numbers, else its capitalised words."""
        if self.answer is None:
            return []
        numbers = _NUMBER_RE.findall(self.answer)
        return numbers[:2] if numbers else _CAPITAL_RE.findall(self.answer)[:3]


def load_questions(path: Path = CORPUS / ".questions.yaml") -> list[CorpusQuestion]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        CorpusQuestion(q["question"], q.get("answer"), q.get("source"), tuple(q.get("readable_by") or ()))
        for q in data["questions"]
    ]


def asker(question: CorpusQuestion, directory: UserDirectory) -> User:
    """The first demo user allowed to read the source (anonymous for public documents)."""
    names = [n for n in question.readable_by if n != "anonymous"]
    if "anonymous" in question.readable_by or not names:
        return ANONYMOUS if "anonymous" in question.readable_by else directory.resolve("carol")
    return directory.resolve(names[0])


def score(question: CorpusQuestion, answer: Answer) -> dict[str, Any]:
    """Whether ``answer`` holds the key facts and cites the right file (or abstained rightly)."""
    if question.answer is None:
        return {"correct": answer.abstained and not answer.error, "abstained": answer.abstained}
    text = answer.text.replace(",", "")
    facts = question.key_facts
    found = [f for f in facts if f.replace(",", "") in text]
    cited = any(c.source.endswith(question.source or "\0") for c in answer.citations)
    return {
        "correct": bool(facts) and len(found) == len(facts) and not answer.abstained,
        "facts": facts,
        "found": found,
        "cited_source": cited,
        "abstained": answer.abstained,
    }


def run(settings: Settings, names: list[str] | None, out: Path, *, parts: EvalParts) -> dict[str, Any]:
    settings = settings.replace(collection=COLLECTION)
    try:
        summary = parts.ingest(settings, [CORPUS], progress=NullProgress())
    except ConfigError as e:  # its index was built by an older docduet: rebuild it
        log.warning("%s; rebuilding %s", e, COLLECTION)
        summary = parts.rebuild(settings, progress=NullProgress())
    log.info("corpus index: %d chunks", summary.total_chunks)
    directory = UserDirectory.parse(yaml.safe_load((CORPUS / "users.yaml").read_text("utf-8")))
    ids = [s.id for s in parts.generator_specs(settings, names)]
    records = []
    with parts.answer_service(settings, ids) as service:
        for q in load_questions():
            started = time.perf_counter()
            comparison = service.compare(Question(text=q.question, user=asker(q, directory)), ids)
            answers = {
                a.generator: {"text": a.text, "error": a.error, **score(q, a), "answer": answer_json(a)}
                for a in comparison.answers
            }
            records.append(
                {
                    "question": q.question,
                    "expected": q.answer,
                    "seconds": time.perf_counter() - started,
                    "answers": answers,
                }
            )
            marks = " ".join(f"{g}:{'ok' if r['correct'] else '--'}" for g, r in answers.items())
            print(f"{q.question[:60]:60} {marks}", flush=True)
    results = {"generators": ids, "records": records, "summary": _summary(records, ids)}
    out.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return results


def _summary(records: list[dict[str, Any]], ids: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for g in ids:
        answerable = [r["answers"][g] for r in records if r["expected"] is not None]
        unanswerable = [r["answers"][g] for r in records if r["expected"] is None]
        out[g] = {
            "answerable": len(answerable),
            "facts_right": sum(a["correct"] for a in answerable),
            "facts_right_and_cited": sum(a["correct"] and a["cited_source"] for a in answerable),
            "unanswerable": len(unanswerable),
            "abstained_rightly": sum(a["correct"] for a in unanswerable),
        }
    return out
