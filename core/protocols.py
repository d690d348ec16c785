"""The narrow interfaces between docduet's layers.

Capabilities (ingest, retrieval, chat, evaluation) are written against these; the back ends
(:mod:`backends`) implement them and the composition root (:mod:`docduet.compose`) hands one to
the other. Unit tests use the in-memory implementations (``backends.memory``, ``NullProgress``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from core.domain import Hit, SourceFile, User
from core.filters import SearchFilters

# --- progress --------------------------------------------------------------------------------


class ProgressSink(Protocol):
    """How a long run reports progress: one call per file; implementations must be cheap.

    The CLI shows a rich bar, the web admin page its own widget.
    """

    def start(self, total: int, description: str) -> None: ...

    def advance(self, source: str, outcome: str) -> None: ...

    def finish(self) -> None: ...


class NullProgress:
    """Reports nothing (tests, library use)."""

    def start(self, total: int, description: str) -> None:
        pass

    def advance(self, source: str, outcome: str) -> None:
        pass

    def finish(self) -> None:
        pass


# --- embedding -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenWindow:
    """How much text an embedding model reads: ``max_tokens`` of its own ``tokenizer``'s tokens.

    ``max_tokens`` excludes the special tokens the model adds itself ([CLS], [SEP], ...); text past
    it is truncated, i.e. never embedded.
    """

    model: str
    max_tokens: int
    tokenizer: Any  # a Hugging Face PreTrainedTokenizerBase

    def count(self, text: str) -> int:
        """Tokens ``text`` takes, without special tokens."""
        return len(self.tokenizer.encode(text, add_special_tokens=False, verbose=False))


class Embedder(Protocol):
    """Turns texts into unit-length vectors of a fixed dimension."""

    name: str
    dim: int
    window: TokenWindow
    """How much of a text the model reads (chunks are sized to it)."""

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


# --- parsing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    """One parsed file: its elements and its title (both read in the parser's process).

    The elements are unstructured's ``Element`` objects (anything with ``text``, ``category`` and
    ``metadata`` will do): the document model chunking reads.
    """

    elements: list[Any]
    title: str


class Parser(Protocol):
    """Turns one file into document elements and a title."""

    def parse(self, file: SourceFile) -> Parsed: ...


# --- retrieval -------------------------------------------------------------------------------


@runtime_checkable
class Retriever(Protocol):
    """Finds the passages a user may read that best answer a query."""

    def retrieve(
        self,
        query: str,
        *,
        user: User,
        filters: SearchFilters | None = None,
        top_k: int | None = None,
    ) -> list[Hit]:
        """At most ``top_k`` hits (default: settings), best first, all readable by ``user``."""
        ...
