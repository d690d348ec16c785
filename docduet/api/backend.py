"""What the API talks to: the answer service and the cited files, through the composition root.

:class:`LiveApiBackend` takes every part from one :class:`docduet.compose.Root`; unit tests hand
the app another :class:`ApiBackend` built on fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from chat.service import AnswerService
from core.domain import User

if TYPE_CHECKING:
    from docduet.compose import Root

T = TypeVar("T")


class ApiBackend(Protocol):
    """Everything the routes use; each method raises a DocduetError saying what to do next."""

    def service(self) -> AnswerService:
        """The answer service over every enabled generator (connecting on first use)."""
        ...

    def buffered(self) -> frozenset[str]:
        """Generators whose streamed words may be replaced at the end (a cascade that asks its
        next model, a generator that abstains when unsure): their answer is sent once final."""
        ...

    def source_bytes(self, source: str, user: User) -> bytes:
        """A cited file for ``user``, every check made now (SourceRefusedError saying why not)."""
        ...


class LiveApiBackend:
    """The real parts, shared by every request of this process (one Weaviate connection)."""

    def __init__(self, root: Root) -> None:
        self.root = root

    def service(self) -> AnswerService:
        return self._on_index(self.root.answer_service)

    def buffered(self) -> frozenset[str]:
        specs = self.root.generator_specs()
        return frozenset(s.id for s in specs if s.is_cascade or (s.min_confidence and s.below == "abstain"))

    def source_bytes(self, source: str, user: User) -> bytes:
        return self._on_index(lambda: self.root.source(source, user))

    def _on_index(self, use: Callable[[], T]) -> T:
        """``use()``; when the store cannot be reached, the root reconnects on the next call."""
        return self.root.on_index(use)
