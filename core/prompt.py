"""The prompt every generator receives, and its renderings; passages in it are untrusted data.

A :class:`Prompt` holds the system instructions, the numbered context blocks, the question and
the conversation so far. It renders two ways: as chat messages (hosted LLMs and GGUFs with a chat
template) and as a two-shot completion prompt for a base model without a chat template.

Passage text is never trusted: delimiter look-alikes, chat-template control tokens and citation
look-alikes inside it are neutralised before it is placed between the ``Document [n]`` lines,
also when spelt with look-alike characters (:func:`core.untrusted.fold`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

from core.domain import Hit
from core.untrusted import sub_folded

ABSTAIN_TEXT = "I don't know based on the documents you can access."
"""The exact sentence a generator must answer with when the passages do not hold the answer."""

COMPLETION_STOP: tuple[str, ...] = ("\n",)
"""Stop sequences for the few-shot completion prompt: the answer is one line."""

Role = Literal["system", "user", "assistant"]

REMINDER_TEXT = (
    "Answer from the documents above only, citing them like [1]. If they do not answer the "
    f'question, reply exactly: "{ABSTAIN_TEXT}"'
)
"""Repeated after the question: small models follow the instruction they read last."""

_FEW_SHOT_INSTRUCTIONS = (
    "Answer the question using only the passages. Copy names, numbers and dates exactly as the "
    f'passages write them. If the passages do not contain the answer, say "{ABSTAIN_TEXT}"'
)
_FEW_SHOT = (
    f"{_FEW_SHOT_INSTRUCTIONS}\n\n"
    "Question: How much can I claim for meals per day on a business trip?\n"
    "Passages:\n"
    "[1] Travel policy — Meals (p. 2): Employees may claim up to 40 EUR per day for meals "
    "while travelling on business.\n"
    "[2] IT handbook — Laptops: Laptops are replaced every four years.\n"
    "Question: How much can I claim for meals per day on a business trip?\n"
    "Answer: Up to 40 EUR per day [1].\n\n"
    "Question: What is the CEO's salary?\n"
    "Passages:\n"
    "[1] Office guide — Parking: Visitors park in the north lot and sign in at reception.\n"
    "Question: What is the CEO's salary?\n"
    f"Answer: {ABSTAIN_TEXT}\n\n"
)
"""Two worked examples for a base model. Each case states the question before its passages (so a
small model reads them with the question in mind) and again after them, where the answer starts.
On the corpus questions (.questions.yaml, Gemma 3 270M, 3 passages) this found the expected figures
in 11 of 25 answers instead of 8, and abstained on 2 of 4 unanswerable questions instead of 0."""

# Tags a passage could use to close its own delimiter or to open a chat turn.
_TAG_NAMES = (
    "passage|passages|context|documents?|question|answer|system|instructions?|user|assistant"
    "|start_of_turn|end_of_turn|bos|eos|pad|s|inst"
)
_TAG_RE = re.compile(rf"<\s*/?\s*(?:{_TAG_NAMES})\b[^<>]{{0,200}}>|<\|[^<>|]{{0,40}}\|>", re.I)
_CONTROL_RE = re.compile(r"[<‹]\s*\|[^<>‹›|]{0,40}\|\s*[>›]")
"""Chat control tokens and their look-alikes (``<|im_start|>``, ``‹|User|›``)."""
_DELIMITER_RE = re.compile(r"^\s*(end of )?document\b|\b(end of )?document\s*\[\s*\d+\s*\]", re.I | re.M)
"""A line starting like a passage boundary, or ``document [n]`` anywhere (the boundary's own words)."""
_ROLE_LINE_RE = re.compile(r"\b(question|answer|passages|documents)\s*:", re.I)
"""``Answer:`` inside a passage would look like a worked example's answer to a base model."""
_INST_RE = re.compile(r"\[/?INST\]", re.I)
_MARKER_RE = re.compile(r"\[(\s*\d+(?:\s*[,;–-]\s*\d+)*\s*)\]")
_BLANKS_RE = re.compile(r"\s+")
_MIN_PASSAGE_CHARS = 40


_OCUMENT_RE = re.compile(r"(ocument)", re.I)
_DEFUSERS: tuple[tuple[re.Pattern[str], Callable[[str], str]], ...] = (
    (_TAG_RE, lambda tag: tag.replace("<", "‹").replace(">", "›")),
    (_CONTROL_RE, lambda token: token.replace("|", "¦")),
    (_INST_RE, lambda inst: inst.replace("[", "(").replace("]", ")")),
    (_DELIMITER_RE, lambda line: _OCUMENT_RE.sub(r"\1:", line)),
)
"""Each look-alike and how it is made harmless (it gets the ASCII spelling, then loses its power)."""


def neutralise(text: str) -> str:
    """Make untrusted text inert: no delimiter, control-token or citation look-alikes survive.

    Compatibility forms are folded first (NFKC), so full-width ``＜/passage＞`` or ``｜`` cannot
    slip past as look-alikes of the ASCII ones; then each check reads the text with look-alike
    letters as the ASCII they imitate and zero-width or bidi characters dropped
    (:func:`core.untrusted.sub_folded`): ``Dоcument [2]`` with a Cyrillic ``о``, ``D\u200bocument``
    and ``<ǀim_startǀ>`` are caught like their ASCII spelling.
    """
    text = unicodedata.normalize("NFKC", text)
    for pattern, defuse in _DEFUSERS:
        text = sub_folded(pattern, defuse, text)
    return _MARKER_RE.sub(r"(\1)", text)


@dataclass(frozen=True)
class Turn:
    """One earlier message of the conversation."""

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True)
class ChatMessage:
    """One rendered chat message."""

    role: Role
    content: str


def _user_turn(passages: str, question: str, reminder: str = REMINDER_TEXT) -> str:
    return f"Documents:\n\n{passages}\n\nQuestion: {question}\n\n{reminder}"


CHAT_EXAMPLES: tuple[ChatMessage, ...] = (
    ChatMessage(
        "user",
        _user_turn(
            "Document [1] Travel policy — Meals\nEmployees may claim up to 40 EUR per day for meals "
            "while travelling on business.\nEnd of document [1]\n\n"
            "Document [2] IT handbook — Laptops\nLaptops are replaced every four years.\n"
            "End of document [2]",
            "How much can I claim for meals per day on a business trip?",
        ),
    ),
    ChatMessage("assistant", "You can claim up to 40 EUR per day for meals [1]."),
    ChatMessage(
        "user",
        _user_turn(
            "Document [1] Office guide — Parking\nVisitors park in the north lot and sign in at "
            "reception.\nEnd of document [1]",
            "What is the CEO's salary?",
        ),
    ),
    ChatMessage("assistant", ABSTAIN_TEXT),
)
"""Two worked exchanges in the chat form (the same cases as the base-model examples below)."""


@dataclass(frozen=True)
class ContextBlock:
    """A numbered passage as the model sees it; ``text`` is neutralised and maybe trimmed."""

    number: int
    hit: Hit
    text: str

    @property
    def header(self) -> str:
        """``[n] Title — section (p. 3)``, from neutralised metadata."""
        chunk = self.hit.chunk
        label = neutralise(chunk.title or chunk.source)
        if chunk.section and chunk.section != chunk.title:
            label += f" — {neutralise(chunk.section)}"
        if chunk.page is not None:
            label += f" (p. {chunk.page})"
        return f"[{self.number}] {_one_line(label)}"


@dataclass(frozen=True)
class Prompt:
    """Everything a generator needs; render with :meth:`messages` or :meth:`completion`."""

    system: str
    blocks: tuple[ContextBlock, ...]
    question: str
    history: tuple[Turn, ...] = ()
    reminder: str = REMINDER_TEXT
    """Read after the question in the chat rendering; another task than answering (the evaluation
    writing test questions) gives its own."""
    worked_examples: bool = True
    """Whether the generator's worked answering exchanges may precede it (False for other tasks)."""

    def passages(self) -> str:
        """The context blocks, each between ``Document [n]: header`` and ``End of document [n]``."""
        if not self.blocks:
            return "(no documents)"
        return "\n\n".join(
            f"Document {b.header}\n{b.text}\nEnd of document [{b.number}]" for b in self.blocks
        )

    def messages(self, *, examples: int = 0) -> tuple[ChatMessage, ...]:
        """Chat rendering: instructions as system, history, then documents, question, reminder.

        ``examples`` (0-2) worked exchanges follow the system message, the answered one with a
        citation first, then the abstained one: small instruct models copy their form. They are
        a fixed prefix, so a local model evaluates them once and reuses them for every question.
        """
        return (
            ChatMessage("system", self.system),
            *CHAT_EXAMPLES[: 2 * max(0, min(examples, 2)) if self.worked_examples else 0],
            *(ChatMessage(t.role, t.content) for t in self.history),
            ChatMessage("user", _user_turn(self.passages(), self.question, self.reminder)),
        )

    def completion(self) -> str:
        """Two-shot completion rendering for base models; one line per passage, no history.

        The question comes before the passages and again after them, as in the examples.
        """
        lines = [f"{b.header}: {_no_roles(_one_line(b.text))}" for b in self.blocks] or ["(no passages)"]
        passages = "\n".join(lines)
        question = _one_line(self.question)
        return f"{_FEW_SHOT}Question: {question}\nPassages:\n{passages}\nQuestion: {question}\nAnswer:"


def fit_prompt(
    prompt: Prompt,
    budget: int,
    count: Callable[[str], int],
    render: Callable[[Prompt], str],
) -> Prompt:
    """Shrink ``prompt`` until ``count(render(prompt)) <= budget``.

    Drops the oldest history turns first, then the lowest-ranked passages, trimming the last
    passage that still fits partly. Numbers of the kept passages do not change.
    """
    while prompt.history and count(render(prompt)) > budget:
        prompt = replace(prompt, history=prompt.history[1:])
    while prompt.blocks and count(render(prompt)) > budget:
        trimmed = _trim_last_block(prompt, budget, count, render)
        prompt = trimmed if trimmed is not None else replace(prompt, blocks=prompt.blocks[:-1])
    return prompt


def _trim_last_block(
    prompt: Prompt, budget: int, count: Callable[[str], int], render: Callable[[Prompt], str]
) -> Prompt | None:
    """The prompt with its last passage cut to fit, or None when too little of it fits."""
    last, kept = prompt.blocks[-1], prompt.blocks[:-1]

    def with_text(text: str) -> Prompt:
        return replace(prompt, blocks=(*kept, replace(last, text=text)))

    if count(render(with_text(""))) >= budget:
        return None
    limit = len(last.text)
    for _ in range(16):  # bounded; each round cuts in proportion to the overshoot
        text = _cut_at_word(last.text, limit)
        over = count(render(with_text(text))) - budget
        if over <= 0:
            return with_text(text) if len(text) >= _MIN_PASSAGE_CHARS else None
        chars_per_unit = len(text) / max(1, count(text))
        limit = min(limit - 1, int(limit - over * chars_per_unit) - 1)
        if limit < _MIN_PASSAGE_CHARS:
            return None
    return None


def _cut_at_word(text: str, limit: int) -> str:
    if limit >= len(text):
        return text
    cut = text[: max(0, limit - 2)]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip() + " …"


def _no_roles(text: str) -> str:
    """``Answer:`` -> ``Answer -`` inside a passage of the few-shot prompt."""
    return sub_folded(_ROLE_LINE_RE, lambda role: role.rstrip(" :") + " -", text)


def _one_line(text: str) -> str:
    return _BLANKS_RE.sub(" ", text).strip()
