"""What the evaluation is handed: the parts the composition root builds (``docduet.compose``).

The evaluation measures docduet's own retrieval and answers, so it needs the real embedder, chunk
indexes, generators and answer services; it never builds them itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

from chat.generators import GeneratorSpec
from chat.service import AnswerService
from core.index import ChunkIndex
from core.protocols import Embedder, Generator, ProgressSink
from core.settings import Settings
from ingest.summary import IngestSummary


class EvalParts(Protocol):
    """The back ends an evaluation run uses, all on one connection to the index's store."""

    def embedder(self) -> Embedder:
        """The configured embedding model."""
        ...

    def index_named(self, name: str) -> ChunkIndex:
        """The chunk index ``name`` (an evaluation corpus's collection, or an alias)."""
        ...

    def generator_specs(self, settings: Settings, names: Sequence[str] | None = None) -> list[GeneratorSpec]:
        """The specs of ``names`` (default: every enabled generator) in ``settings``' generators file."""
        ...

    def generators(
        self, settings: Settings, names: Sequence[str]
    ) -> tuple[dict[str, Generator], dict[str, str]]:
        """Generators by id, and why each unavailable one is."""
        ...

    def answer_service(
        self, settings: Settings, names: Sequence[str] | None = None
    ) -> AbstractContextManager[AnswerService]:
        """An answer service over the settings' collection with ``names`` (default: every enabled one)."""
        ...

    def ingest(self, settings: Settings, paths: Sequence[Path], *, progress: ProgressSink) -> IngestSummary:
        """``docduet ingest`` of ``paths`` into ``settings.weaviate.collection``."""
        ...

    def rebuild(self, settings: Settings, *, progress: ProgressSink) -> IngestSummary:
        """``docduet reindex --full`` of ``settings.weaviate.collection``."""
        ...
