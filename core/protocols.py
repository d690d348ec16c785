"""The narrow interfaces between docduet's layers.

Capabilities (ingest, retrieval, chat, evaluation) are written against these; the back ends
(:mod:`backends`) implement them and the composition root (:mod:`docduet.compose`) hands one to
the other. Unit tests use the in-memory implementations (``backends.memory``, ``NullProgress``).
"""

from __future__ import annotations

from collections.abc import Generator as PyGenerator
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from core.domain import Hit, Sensitivity, SourceFile, Usage, User
from core.errors import GenerationError
from core.filters import SearchFilters
from core.prompt import Prompt

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


@runtime_checkable
class SpanEmbedder(Embedder, Protocol):
    """An embedder that can also embed spans of a text from the text's own forward pass.

    Each span's vector is the mean of the contextual token embeddings inside it ("late
    chunking"): a chunk and all its pieces cost one encode of the chunk.
    """

    def embed_spans(
        self, texts: Sequence[str], spans: Sequence[Sequence[tuple[int, int]]]
    ) -> list[tuple[list[float], list[list[float]]]]:
        """Per text, its unit vector and one unit vector per ``(start, end)`` character span.

        Spans index ``text.strip()``; a span holding no token the model read (past its window)
        gets the whole text's vector.
        """
        ...


# --- parsing ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChunkSizes:
    """How a parser groups a document's text into sections, in characters (before the token split).

    A section ends at a heading, a page or sheet, or past ``new_after_chars`` (soft); it never
    holds more than ``max_chars`` (hard); sections under ``combine_under_chars`` are combined with
    the next. Ingestion's settings give them (``DOCDUET_CHUNK_MAX_CHARS``, ...); these defaults
    are those settings' defaults.
    """

    max_chars: int = 1500
    new_after_chars: int = 1000
    combine_under_chars: int = 300


@dataclass(frozen=True, slots=True)
class Section:
    """A passage of a document under one heading, on one page: what chunking splits to size.

    ``text`` starts with its heading when the section begins at one; ``section`` is the heading it
    sits under ("" before the first; a spreadsheet's sheet name until its first heading);
    ``page`` is its page (PDF), slide or sheet number, None where the format has none;
    ``category`` is ``"text"`` or ``"table"`` (a section that is one table, or part of one).
    """

    text: str
    section: str = ""
    page: int | None = None
    category: str = "text"


@dataclass(frozen=True)
class Parsed:
    """One parsed file: its sections, in document order, and its title (read in the parser's process).

    Plain values of docduet's own types only, never a library's objects: the result travels back
    from the parser's worker process, pickled.
    """

    sections: tuple[Section, ...]
    title: str


class Parser(Protocol):
    """Turns one file of a suffix it reads into sections and a title."""

    @property
    def suffixes(self) -> frozenset[str]:
        """The suffixes it reads, lower case with their dot (``.pdf``)."""
        ...

    def parse(self, file: SourceFile, data: bytes) -> Parsed:
        """Parse ``data``, the bytes of ``file`` as ingestion read them once; never ``file.path``.

        ``file`` names the document (its suffix picks the format, its source goes in errors
        and metadata); ingestion hashes and decides the access of these same bytes. The sections
        are grouped under their headings with the parser's :class:`ChunkSizes`. A file it cannot
        read (empty, corrupt, no text, a suffix not in :attr:`suffixes`) raises
        ``IngestError("<file>: <reason>; <what to do>")``, never another exception type.
        ``tests/contract/parser_contract.py`` checks all of this.
        """
        ...


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


# --- generation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class GenerationResult:
    """What a finished stream produced: the full text, token usage and why it stopped."""

    text: str
    usage: Usage
    finish_reason: str | None = None
    usage_estimated: bool = False
    """True when the backend reported no token counts and they were estimated."""
    queue_s: float = 0.0
    """Seconds the question waited for a free model instance before generation began."""
    core_seconds: float | None = None
    """CPU core-seconds the backend spent on it (each evaluation's seconds times its threads,
    checks and samples after the answer included); None: not measured (a hosted model)."""
    token_logprobs: tuple[float, ...] = ()
    """Natural-log probability of each answer token as the model chose it (empty: not reported)."""
    self_check: float | None = None
    """The model's P(yes) when asked, after answering, whether its answer is stated in the
    passages (None: not asked). Both feed :mod:`chat.confidence`."""
    samples: tuple[str, ...] = ()
    """More answers to the same prompt, sampled after this one (empty: none drawn); how often
    they agree with it is the ``consistency`` signal of :mod:`chat.confidence`."""


class TextStream(Iterator[str]):
    """Text pieces as they arrive; :attr:`result` is available once the stream is exhausted.

    Wraps a Python generator that yields the pieces and *returns* a :class:`GenerationResult`.
    Call :meth:`close` (or exhaust it) to release the backend early.
    """

    def __init__(self, pieces: PyGenerator[str, None, GenerationResult]) -> None:
        self._pieces = pieces
        self._result: GenerationResult | None = None

    def __iter__(self) -> TextStream:
        return self

    def __next__(self) -> str:
        try:
            return next(self._pieces)
        except StopIteration as stop:
            self._result = stop.value
            raise

    def close(self) -> None:
        """Stop generating and release the backend."""
        self._pieces.close()

    @property
    def result(self) -> GenerationResult:
        """The finished generation; raises GenerationError when read before the end."""
        if self._result is None:
            raise GenerationError("the stream is not finished: iterate it to the end first")
        return self._result

    def collect(self) -> GenerationResult:
        """Consume the rest of the stream and return its result."""
        for _ in self:
            pass
        return self.result


@runtime_checkable
class Generator(Protocol):
    """Answers a prompt, streaming text. Kinds are registered in ``chat.generators.registry``."""

    name: str
    """The generator's id in the generators file, e.g. ``slm`` or ``llm``."""
    label: str
    """What the user is shown, e.g. ``Qwen2.5-Coder-0.5B-Instruct · local``."""
    endpoint: str
    """Where the prompt goes: a file path for a local model, a base URL for a hosted one."""
    off_premises: bool
    """True when the prompt leaves the company's machines (the privacy filter relies on it)."""
    max_sensitivity: Sensitivity
    """The most sensitive passage it may receive; more sensitive ones are withheld."""

    def stream(self, prompt: Prompt, *, max_tokens: int | None = None) -> TextStream:
        """Start generating; ``max_tokens`` None means the backend's configured default.

        The stream yields non-empty text pieces and ends with a :class:`GenerationResult` whose
        text is the pieces joined, with at most ``max_tokens`` completion tokens, the prompt's
        token count and a finish reason (``stop`` or ``length``). A back end that fails raises a
        :class:`core.errors.DocduetError` (GenerationError; ConfigError for a setting to fix)
        while the stream is iterated, never a library's own exception. ``close()`` stops the
        generation and frees the back end for the next question. One generator serves several
        streams at once (threads). ``tests/contract/generator_contract.py`` checks all of this.
        """
        ...


@runtime_checkable
class QueuedGenerator(Generator, Protocol):
    """A generator whose questions may wait in line for a model instance (a local model's pool).

    The answer service tells the asker how many questions are ahead of theirs.
    """

    def ahead(self) -> int:
        """Questions a new one would wait behind now; 0 when it would start at once."""
        ...


@runtime_checkable
class Warmable(Protocol):
    """A generator that can get ready before its first question (a local model: load it and
    evaluate the fixed head of every prompt). Kinds without anything to prepare leave it out."""

    def warm(self) -> None:
        """Prepare now, blocking; a failure raises the DocduetError the first question would."""
        ...
