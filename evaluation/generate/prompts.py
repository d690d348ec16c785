"""The prompts that ask a generator to write test questions from one passage, and their replies.

One generation writes up to :data:`ANSWERABLE_PER_PASSAGE` questions about different facts of its
passage: the passage is read once for several items, which on a CPU costs less than reading it
once per item. An unanswerable question is one of those rewritten about another name, place,
number or date (up to :data:`UNANSWERABLE_PER_PASSAGE` of a passage's kept questions).

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

ANSWERABLE_PER_PASSAGE = 3
UNANSWERABLE_PER_PASSAGE = 3

ANSWERABLE_SYSTEM = (
    "You write test questions for a company's document search assistant. You are given one "
    "document. Write up to three questions an employee could ask that this document answers, each "
    "about a different fact, and for each the answer copied word for word from the document: a "
    "short phrase such as a name, number, date or amount (at most six words).\n"
    "Rules:\n"
    "1. Each question must make sense on its own to someone who has not seen the document: name "
    "the subject (the policy, product, office, team or event), never 'the document', 'the text' "
    "or 'the passage'.\n"
    "2. Ask about one specific fact, not a summary. Write fewer questions rather than repeat one.\n"
    "3. Reply with two lines per question and nothing else:\n"
    "Question: <the question>\n"
    "Answer: <the answer copied from the document>"
)
ANSWERABLE_TASK = "Write up to three questions this document answers, each with its answer copied from it."
ANSWERABLE_REMINDER = "Reply with the lines 'Question:' and 'Answer:' only, two per question."

UNANSWERABLE_SYSTEM = (
    "You change a question so that it asks about something else. Replace one name, place, number "
    "or date in it with a different one of the same kind (another city, person, product, team, "
    "company, quarter or year). Keep every other word.\n"
    "Examples:\n"
    "What is the address of the Leeds office? -> What is the address of the Glasgow office?\n"
    "How many tickets were received in Q1 2025? -> How many tickets were received in Q3 2027?\n"
    "Who approves expenses for the Sales team? -> Who approves expenses for the Legal team?\n"
    "Reply with exactly one line and nothing else:\n"
    "Question: <the changed question>"
)
UNANSWERABLE_REMINDER = "Reply with the one line 'Question:' only."

_LINE_RE = re.compile(
    r"^\s*(?:\d+[.)]\s*)?\**\s*(question|answer)\s*\d*\s*\**\s*[:：]\s*\**\s*(.+?)\s*$", re.I | re.M
)
"""A ``Question:`` or ``Answer:`` line, also numbered (``1. Question:``, ``Question 2:``) or bold."""
_QUOTES = " \"'`*“”‘’"
MAX_QUESTION_CHARS = 300
MAX_ANSWER_CHARS = 120
MAX_ANSWER_WORDS = 8
"""A gold answer is a short span (the prompt asks for at most six words): a sentence-long one
would score every correct paraphrase wrong."""


@dataclass(frozen=True)
class Written:
    """What the generator wrote: a question and, for an answerable one, its gold answer."""

    question: str
    answer: str | None = None


def task_prompt(hit: Hit) -> Prompt:
    """The prompt asking for answerable questions about ``hit``'s passage."""
    prompt = build_prompt(ANSWERABLE_TASK, [hit], system=ANSWERABLE_SYSTEM)
    return Prompt(
        system=prompt.system,
        blocks=prompt.blocks,
        question=ANSWERABLE_TASK,
        reminder=ANSWERABLE_REMINDER,
        worked_examples=False,
    )


def swap_prompt(question: str) -> Prompt:
    """The prompt asking for ``question`` with one name, place, number or date changed (no passage:
    the index's own words tell afterwards whether the new one is absent)."""
    return Prompt(
        system=UNANSWERABLE_SYSTEM,
        blocks=(),
        question=f"Change one name, place, number or date in this question: {question}",
        reminder=UNANSWERABLE_REMINDER,
        worked_examples=False,
    )


def parse_replies(text: str, *, answerable: bool) -> list[Written]:
    """The questions (each with its answer, for answerable ones) in a reply, in order, at most
    :data:`ANSWERABLE_PER_PASSAGE` (or :data:`UNANSWERABLE_PER_PASSAGE`). A question without a
    usable answer line before the next question, or one that is empty or too long, is left out; so
    is an answer over :data:`MAX_ANSWER_WORDS` words or :data:`MAX_ANSWER_CHARS` characters."""
    limit = ANSWERABLE_PER_PASSAGE if answerable else UNANSWERABLE_PER_PASSAGE
    written: list[Written] = []
    question: str | None = None
    for match in _LINE_RE.finditer(text):
        kind, value = match.group(1).lower(), match.group(2).strip(_QUOTES)
        if kind == "question":
            if question is not None and not answerable:
                written.append(Written(question))
            question = value if value and len(value) <= MAX_QUESTION_CHARS else None
        elif question is not None and answerable:
            answer = _answer(value)
            if answer is not None:
                written.append(Written(question, answer))
            question = None
    if question is not None and not answerable:
        written.append(Written(question))
    return written[:limit]


def parse_reply(text: str, *, answerable: bool) -> Written | None:
    """The first question (and answer) of a reply; None when there is none (:func:`parse_replies`)."""
    found = parse_replies(text, answerable=answerable)
    return found[0] if found else None


def _answer(line: str) -> str | None:
    answer = re.sub(r"\s*\[\d+\]\s*", " ", line).strip().rstrip(".").strip(_QUOTES)
    if not answer or len(answer) > MAX_ANSWER_CHARS or len(answer.split()) > MAX_ANSWER_WORDS:
        return None
    return answer
