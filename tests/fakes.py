"""Stand-ins shared by unit tests: no model, no parser library, no server.

Real components have their own tests in tests/integration; these exist so docduet's own logic
(ingestion plans, chunking, retrieval ranking) can be tested in milliseconds.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from unstructured.documents.elements import NarrativeText, Title

from core.domain import SourceFile
from core.errors import IngestError
from core.protocols import Parsed, TokenWindow


class WordTokenizer:
    """A stand-in tokenizer: one token per whitespace-separated word."""

    def encode(self, text: str, add_special_tokens: bool = False, verbose: bool = False) -> list[int]:
        return list(range(len(text.split())))


class HashingEmbedder:
    """Deterministic unit vectors from a hash of the words: equal texts, equal vectors."""

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
        for word in text.casefold().split():
            v[int(hashlib.sha256(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        norm = sum(x * x for x in v) ** 0.5 or 1.0
        return [x / norm for x in v]


class PlainTextParser:
    """Reads a text or Markdown file: ``# `` lines become titles, other paragraphs narrative text.

    A file holding ``BROKEN`` fails like a corrupt document does.
    """

    def __init__(self) -> None:
        self.parsed: list[str] = []

    def parse(self, file: SourceFile) -> Parsed:
        text = file.path.read_text(encoding="utf-8")
        self.parsed.append(file.source)
        if "BROKEN" in text:
            raise IngestError(f"{file.source}: the file is corrupt; fix or remove it")
        elements = [
            Title(text=p[2:].strip()) if p.startswith("# ") else NarrativeText(text=p.strip())
            for p in text.split("\n\n")
            if p.strip()
        ]
        title = next((e.text for e in elements if isinstance(e, Title)), file.path.stem)
        return Parsed(elements, title)
