"""Stand-ins shared by unit tests: no model, no parser library, no server.

Real components have their own tests in tests/integration; these exist so docduet's own logic
(ingestion plans, chunking, retrieval ranking, the answer service and its front ends) can be tested
in milliseconds. Only stand-ins that more than one test file uses live here.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Generator as PyGenerator
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from core.domain import (
    Access,
    Answer,
    Chunk,
    Confidence,
    ConfidenceLevel,
    Hit,
    Privacy,
    Sensitivity,
    SourceFile,
    Timings,
    Usage,
    User,
)
from core.errors import DocduetError, IngestError
from core.filters import SearchFilters
from core.prompt import Prompt
from core.protocols import GenerationResult, Parsed, Section, TextStream, TokenWindow


class WordTokenizer:
    """A stand-in tokenizer: one token per whitespace-separated word."""

    def encode(self, text: str, add_special_tokens: bool = False, verbose: bool = False) -> list[int]:
        return list(range(len(text.split())))


class HashingEmbedder:
    """Deterministic unit vectors from a hash of the words: equal texts, equal vectors.

    A word is a token; words past the window (``max_tokens``) are not embedded, as a model's are not.
    """

    name = "hashing-embedder"

    def __init__(self, dim: int = 16, max_tokens: int = 64) -> None:
        self.dim = dim
        self.window = TokenWindow("words", max_tokens, WordTokenizer())
        self.calls = 0

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        return [self._vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)

    def _vector(self, text: str) -> list[float]:
        v = [0.0] * self.dim
        for word in text.casefold().split()[: self.window.max_tokens]:
            v[int(hashlib.sha256(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norm = sum(x * x for x in v) ** 0.5 or 1.0
        return [x / norm for x in v]


class PlainTextParser:
    """Parses a text or Markdown file's bytes: a ``# `` line starts a section under that heading.

    Each heading and the paragraphs after it are one section (paragraphs before the first
    heading one more); the first heading is the title. A file holding ``BROKEN`` fails like a
    corrupt document does. It meets the Parser contract (tests/unit/test_parser_plain_text.py).
    """

    SUFFIXES = (".md", ".txt")
    suffixes = frozenset(SUFFIXES)

    def __init__(self) -> None:
        self.parsed: list[str] = []

    def parse(self, file: SourceFile, data: bytes) -> Parsed:
        if file.suffix not in self.SUFFIXES:
            raise IngestError(f"{file.source}: unsupported file type; supported: {' '.join(self.SUFFIXES)}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise IngestError(f"{file.source}: not UTF-8 text ({e.reason}); save it as UTF-8") from e
        self.parsed.append(file.source)
        if not text.strip():
            raise IngestError(f"{file.source}: empty file; add content or remove it")
        if "BROKEN" in text:
            raise IngestError(f"{file.source}: the file is corrupt; fix or remove it")
        sections: list[Section] = []
        for block in re.split(r"^(?=# )", text, flags=re.MULTILINE):
            paragraphs = [p.strip() for p in block.split("\n\n") if p.strip()]
            heading = paragraphs[0][2:].strip() if paragraphs and paragraphs[0].startswith("# ") else ""
            if paragraphs:
                body = [heading, *paragraphs[1:]] if heading else paragraphs
                sections.append(Section("\n\n".join(body), section=heading))
        title = next((s.section for s in sections if s.section), file.path.stem)
        return Parsed(tuple(sections), title)


class CountingEmbedder:
    """A vector per text that says which text it was (its length in words), and the calls made."""

    name, dim = "counting", 2

    def __init__(self, window: TokenWindow | None = None) -> None:
        self.window = window
        self.calls: list[list[str]] = []

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [[float(len(t.split())), 1.0] for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


class ManualClock:
    """A clock (``time.monotonic``'s stand-in) that moves only when a test sets ``now``."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_chunk(
    text: str = "text",
    *,
    chunk_id: str = "c1",
    source: str = "/docs/doc.md",
    root: str = "/docs",
    title: str = "Doc",
    index: int = 0,
    doc_type: str = "md",
    section: str = "",
    page: int | None = None,
    modified: datetime = datetime(2025, 1, 1, tzinfo=UTC),
    content_hash: str = "h",
    groups: tuple[str, ...] = ("employees",),
    sensitivity: Sensitivity = Sensitivity.INTERNAL,
) -> Chunk:
    """A chunk with every field a test does not care about filled in (internal, for employees)."""
    return Chunk(
        chunk_id=chunk_id,
        source=source,
        root=root,
        title=title,
        text=text,
        index=index,
        doc_type=doc_type,
        section=section,
        page=page,
        modified=modified,
        content_hash=content_hash,
        access=Access(groups, sensitivity),
    )


# --- the answer service's parts: a retriever over a few passages, generators that answer from them


def _passage(name: str, text: str, groups: tuple[str, ...], sensitivity: Sensitivity, root: Path) -> Chunk:
    return make_chunk(
        text,
        chunk_id=f"id-{name}",
        source=str(root / f"{name}.md"),
        root=str(root),
        title=name.replace("-", " ").title(),
        section="Overview",
        page=2,
        content_hash=f"h-{name}",
        groups=groups,
        sensitivity=sensitivity,
    )


def corpus(root: Path) -> list[Chunk]:
    """Three passages: internal to employees, confidential to hr, public; files written to ``root``."""
    chunks = [
        _passage(
            "employee-handbook",
            "Office life. The office anchor days are Tuesday and Thursday. Desks are booked in Officely.",
            ("employees",),
            Sensitivity.INTERNAL,
            root,
        ),
        _passage(
            "salary-bands",
            "Pay. The salary band midpoint for a Senior Software Engineer is 78,000 pounds in Leeds.",
            ("hr",),
            Sensitivity.CONFIDENTIAL,
            root,
        ),
        _passage(
            "press-release",
            "News. Corvala raised 18 million pounds in its Series B led by Northgate Ventures.",
            ("public",),
            Sensitivity.PUBLIC,
            root,
        ),
    ]
    root.mkdir(parents=True, exist_ok=True)
    for c in chunks:
        Path(c.source).write_text(c.text, encoding="utf-8")
    return chunks


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 3}


@dataclass
class StubRetriever:
    """Passages sharing a word with the query, that the user's groups may read."""

    chunks: Sequence[Chunk]
    queries: list[str] = field(default_factory=list)

    def retrieve(
        self, query: str, *, user: User, filters: SearchFilters | None = None, top_k: int | None = None
    ) -> list[Hit]:
        self.queries.append(query)
        readable = set(user.readable_groups)
        return [
            Hit(c, score=1.0 - i / 10, similarity=0.9)
            for i, c in enumerate(self.chunks)
            if readable & set(c.access.groups) and _words(query) & _words(c.text)
        ]


@dataclass
class ScriptedGenerator:
    """Answers with the passage sentence that shares most words with the question, marked [1].

    A word is a token: ``max_tokens`` (or the configured ``max_tokens``) caps the words.
    """

    name: str
    off_premises: bool = False
    endpoint: str = "local"
    fail_with: DocduetError | None = None
    prompts: list[Prompt] = field(default_factory=list)
    max_sensitivity: Sensitivity = Sensitivity.CONFIDENTIAL
    max_tokens: int | None = None

    def __post_init__(self) -> None:
        if self.off_premises:
            self.max_sensitivity = Sensitivity.INTERNAL
        self.label = "Hosted model · scripted" if self.off_premises else "Small local model · scripted"

    def stream(self, prompt: Prompt, *, max_tokens: int | None = None) -> TextStream:
        self.prompts.append(prompt)
        return TextStream(self._pieces(prompt, max_tokens or self.max_tokens))

    def _pieces(self, prompt: Prompt, max_tokens: int | None) -> PyGenerator[str, None, GenerationResult]:
        if self.fail_with is not None:
            raise self.fail_with
        first = prompt.blocks[0].text
        sentences = [s.strip() for s in first.split(". ") if s.strip()]
        best = max(sentences, key=lambda s: len(_words(s) & _words(prompt.question)))
        words = f"{best.rstrip('.')} [1].".split(" ")
        kept = words[:max_tokens] if max_tokens is not None else words
        for i, word in enumerate(kept):
            yield word if i == 0 else f" {word}"
        text = " ".join(kept)
        usage = Usage(len(first) // 4, len(kept), 0.0)
        return GenerationResult(text, usage, "length" if len(kept) < len(words) else "stop")


def written_source(folder: Path, name: str, text: str = "hello") -> tuple[SourceFile, bytes]:
    """A file written in ``folder`` (its own ingest root) and its bytes, as a parser is handed them."""
    path = folder / name
    path.write_text(text)
    return SourceFile(path=path, root=folder), text.encode()


def make_answer(
    text: str = "Up to 5 days [1].",
    *,
    generator: str = "slm",
    level: ConfidenceLevel | None = ConfidenceLevel.HIGH,
    probability: float | None = 0.86,
    reasons: tuple[str, ...] = ("the top passage states it", "1 citation verified"),
    error: str | None = None,
    **fields: object,
) -> Answer:
    """A finished answer with a confidence (``level=None``: none), built by hand for front-end tests."""
    confidence = None if level is None else Confidence(level, probability, reasons, calibration="test fit")
    answer = Answer(
        generator=generator,
        text="" if error else text,
        citations=(),
        timings=Timings(0.05, 1.25, 3.5),
        usage=Usage(700, 12, 0.0),
        privacy=Privacy("/models/g.gguf", False, ("c1",), 0),
        error=error,
        confidence=None if error else confidence,
    )
    return replace(answer, **fields)  # type: ignore[arg-type]
