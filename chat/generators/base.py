"""The generator seam: a narrow protocol every backend implements, and its result types."""

from __future__ import annotations

from collections.abc import Generator as PyGenerator
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from chat.prompt import Prompt
from core.domain import Sensitivity, Usage
from core.errors import GenerationError


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
    """Answers a prompt, streaming text. Implementations live in ``chat.generators``."""

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
        """Start generating; ``max_tokens`` None means the backend's configured default."""
        ...
