"""Fakes for the generated-test-set tests: a generator answering by a function, a scripted writer."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Generator as PyGenerator
from dataclasses import dataclass, field

from core.domain import Chunk, Sensitivity, Usage
from core.errors import DocduetError
from core.identity import UserDirectory
from core.prompt import ABSTAIN_TEXT, Prompt
from core.protocols import GenerationResult, TextStream
from evaluation.generate.flow import Generation
from evaluation.generate.prompts import ANSWERABLE_SYSTEM, UNANSWERABLE_SYSTEM
from tests.fakes import HashingEmbedder, StubRetriever, make_chunk

DIRECTORY = UserDirectory.parse(
    {"users": {"alice": {"groups": ["employees", "hr"]}, "carol": {"groups": ["employees"]}}}
)


@dataclass
class FunctionGenerator:
    """Replies with ``reply(prompt)`` in one piece (raising what it raises); records its prompts."""

    name: str
    reply: Callable[[Prompt], str]
    off_premises: bool = False
    max_sensitivity: Sensitivity = Sensitivity.CONFIDENTIAL
    endpoint: str = "local"
    label: str = ""
    prompts: list[Prompt] = field(default_factory=list)

    def stream(self, prompt: Prompt, *, max_tokens: int | None = None) -> TextStream:
        self.prompts.append(prompt)
        return TextStream(self._pieces(prompt))

    def _pieces(self, prompt: Prompt) -> PyGenerator[str, None, GenerationResult]:
        text = self.reply(prompt)
        if text:
            yield text
        return GenerationResult(text, Usage(1, len(text.split()), 0.0), "stop")


def one_per_file(sentence: str, n: int = 4) -> list[Chunk]:
    """``n`` passages, each ``sentence`` followed by its number, each in a file of its own."""
    return [make_chunk(f"{sentence} {i}.", chunk_id=f"c{i}", source=f"/d/{i}.md") for i in range(n)]


def passage(prompt: Prompt) -> str:
    return " ".join(b.text for b in prompt.blocks)


FACTS = {"anchor": "Tuesday and Thursday", "midpoint": "78,000 pounds", "series b": "18 million pounds"}


def reader(prompt: Prompt) -> str:
    """The answering prompt: a fact whose keyword the question names, when the passages state it."""
    for key, value in FACTS.items():
        if key in prompt.question.lower() and value in passage(prompt):
            return f"{value} [1]."
    return ABSTAIN_TEXT


def scripted(replies: dict[str, str | DocduetError]) -> Callable[[Prompt], str]:
    """Writes the reply scripted for the passage's first sentence, or, asked to rewrite a question
    as unanswerable, for that question; answers the answering prompt like :func:`reader`."""

    def reply(prompt: Prompt) -> str:
        if prompt.system == UNANSWERABLE_SYSTEM:
            key = prompt.question.split(": ", 1)[1]
        elif prompt.system == ANSWERABLE_SYSTEM:
            key = passage(prompt).split(".")[0]
        else:
            return reader(prompt)
        found = replies[key]
        if isinstance(found, DocduetError):
            raise found
        return found

    return reply


def generation(generators: dict[str, FunctionGenerator], chunks: list[Chunk]) -> Generation:
    return Generation(
        generators,
        list(generators),
        retriever=StubRetriever(chunks),
        embedder=HashingEmbedder(dim=64),
        directory=DIRECTORY,
        created="2026-12-07T00:00:00+00:00",
    )


ANCHOR = "Question: Which days are the office anchor days?\nAnswer: Tuesday and Thursday"
