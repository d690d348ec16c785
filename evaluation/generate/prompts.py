"""The prompts that ask a generator to write a test question from one passage, and their replies.

The passage goes in as the prompt's only context block (neutralised like every passage), the
task replaces the answering instructions, and no worked answering exchange precedes it
(``Prompt.worked_examples``), so any generator kind can write questions through its usual
:meth:`core.protocols.Generator.stream`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from chat.prompt import build_prompt
from core.domain import Hit
from core.prompt import Prompt

ANSWERABLE_SYSTEM = (
    "You write test questions for a company's document search assistant. You are given one "
    "document. Write one question an employee could ask that this document answers, and the answer "
    "copied word for word from the document: a short phrase such as a name, number, date or amount "
    "(at most ten words).\n"
    "Rules:\n"
    "1. The question must make sense on its own to someone who has not seen the document: name "
    "the subject (the policy, product, office, team or event), never 'the document', 'the text' "
    "or 'the passage'.\n"
    "2. Ask about one specific fact, not a summary.\n"
    "3. Reply with exactly two lines and nothing else:\n"
    "Question: <the question>\n"
    "Answer: <the answer copied from the document>"
)
ANSWERABLE_TASK = "Write one question this document answers, and its answer copied from it."
ANSWERABLE_REMINDER = "Reply with the two lines 'Question:' and 'Answer:' only."

UNANSWERABLE_SYSTEM = (
    "You write test questions for a company's document search assistant. You are given one "
    "document. Write one question an employee could ask on the same subject that this document "
    "does NOT answer: ask for a specific detail (a number, date, name or rule) that the document "
    "does not state, and that it would be plausible for a company document to state.\n"
    "Rules:\n"
    "1. The question must make sense on its own: name the subject, never 'the document', 'the "
    "text' or 'the passage'.\n"
    "2. Reply with exactly one line and nothing else:\n"
    "Question: <the question>"
)
UNANSWERABLE_TASK = "Write one question on this subject that the document does not answer."
UNANSWERABLE_REMINDER = "Reply with the one line 'Question:' only."

_LINE_RE = re.compile(r"^\s*\**\s*(question|answer)\s*\**\s*[:：]\s*(.+?)\s*$", re.I | re.M)
_QUOTES = " \"'`*“”‘’"
MAX_QUESTION_CHARS = 300
MAX_ANSWER_CHARS = 120
MAX_ANSWER_WORDS = 12
"""A gold answer is a short span (the prompt asks for at most ten words): a sentence-long one
would score every correct paraphrase wrong."""


@dataclass(frozen=True)
class Written:
    """What the generator wrote: a question and, for an answerable one, its gold answer."""

    question: str
    answer: str | None = None


def task_prompt(hit: Hit, *, answerable: bool) -> Prompt:
    """The prompt asking for an answerable (or unanswerable) question about ``hit``'s passage."""
    if answerable:
        system, task, reminder = ANSWERABLE_SYSTEM, ANSWERABLE_TASK, ANSWERABLE_REMINDER
    else:
        system, task, reminder = UNANSWERABLE_SYSTEM, UNANSWERABLE_TASK, UNANSWERABLE_REMINDER
    prompt = build_prompt(task, [hit], system=system)
    return Prompt(
        system=prompt.system,
        blocks=prompt.blocks,
        question=task,
        reminder=reminder,
        worked_examples=False,
    )


def parse_reply(text: str, *, answerable: bool) -> Written | None:
    """The question (and answer) in a reply; None when a line is missing, empty or too long
    (an answer over :data:`MAX_ANSWER_WORDS` words or :data:`MAX_ANSWER_CHARS` characters)."""
    found: dict[str, str] = {}
    for match in _LINE_RE.finditer(text):
        found.setdefault(match.group(1).lower(), match.group(2).strip(_QUOTES))
    question = found.get("question", "")
    if not question or len(question) > MAX_QUESTION_CHARS:
        return None
    if not answerable:
        return Written(question)
    answer = re.sub(r"\s*\[\d+\]\s*", " ", found.get("answer", "")).strip().rstrip(".").strip(_QUOTES)
    if not answer or len(answer) > MAX_ANSWER_CHARS or len(answer.split()) > MAX_ANSWER_WORDS:
        return None
    return Written(question, answer)
