"""What the web chat talks to: the answer service, the users file, feedback and admin actions.

:class:`LiveBackend` builds the real parts through the composition root, once per process (the
app caches it with ``st.cache_resource``). Tests inject another :class:`ChatBackend` by putting
it in the session state under :data:`BACKEND_KEY` before the first run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from chat.results import GeneratorInfo
from core.domain import User
from core.errors import BackendUnavailableError, DocduetError
from core.feedback import FeedbackStore
from core.identity import UserDirectory
from core.index import IndexStats
from core.protocols import ProgressSink
from core.settings import Settings
from ingest.last_run import LastRun, read_last_run
from ingest.summary import IngestSummary
from ui.streaming import Answerer

if TYPE_CHECKING:
    from docduet.compose import Root, Warming

T = TypeVar("T")

BACKEND_KEY = "docduet.backend"
MAX_COLUMNS = 4
"""The chat shows the first four enabled generators of the generators file, left to right."""


class ChatBackend(Protocol):
    """Everything the pages use; each method raises a DocduetError saying what to do next."""

    settings: Settings
    directory: UserDirectory
    feedback: FeedbackStore

    def answerer(self) -> Answerer:
        """The answer service (connecting on first use)."""
        ...

    def columns(self) -> tuple[GeneratorInfo, ...]:
        """The generators shown as columns, left to right (connecting on first use)."""
        ...

    def reset(self) -> None:
        """Forget the connection, so the next call reconnects (after Weaviate went away)."""
        ...

    def index_stats(self) -> IndexStats: ...

    def last_run(self) -> LastRun | None: ...

    def reindex(self, progress: ProgressSink, *, full: bool = False) -> IngestSummary: ...

    def source_bytes(self, source: str, user: User) -> bytes:
        """A cited file for ``user``, every check made now (raises SourceRefusedError saying why)."""
        ...


class LiveBackend:
    """The real backend: the index, the embedder and the generators, shared by all sessions.

    Every part comes from one composition root (:class:`docduet.compose.Root`), which never
    starts a database from a web request (``docduet ui`` starts it first).
    """

    def __init__(self, settings: Settings, root: Root | None = None) -> None:
        from docduet.compose import Root

        self.settings = settings
        self.directory = UserDirectory.from_settings(settings.identity)
        self.feedback = FeedbackStore.in_data_dir(settings.paths.data_dir)
        self.root = root if root is not None else Root(settings, autostart=False)

    def warm(self) -> Warming:
        """Start loading the local models in the background, so the first question pays no load."""
        return self.root.warm()

    def answerer(self) -> Answerer:
        return self._on_index(self.root.answer_service)

    def columns(self) -> tuple[GeneratorInfo, ...]:
        service = self.root.answer_service()
        return tuple(service.describe(n) for n in service.generator_names[:MAX_COLUMNS])

    def reset(self) -> None:
        self.root.reset()

    def index_stats(self) -> IndexStats:
        return self._on_index(self.root.stats)

    def last_run(self) -> LastRun | None:
        return read_last_run(self.settings.paths.data_dir)

    def reindex(self, progress: ProgressSink, *, full: bool = False) -> IngestSummary:
        return self._on_index(lambda: self.root.reindex(progress=progress, full=full))

    def source_bytes(self, source: str, user: User) -> bytes:
        return self._on_index(lambda: self.root.source(source, user))

    def _on_index(self, use: Callable[[], T]) -> T:
        """``use()``; when the store cannot be reached, the root reconnects on the next call."""
        return self.root.on_index(use)


def describe_outage(error: DocduetError, settings: Settings) -> str:
    """The banner text for an index that cannot be used, with what to do about it."""
    if not isinstance(error, BackendUnavailableError):
        return f"The document index cannot be used: {error}"
    if settings.weaviate.weaviate_url:
        todo = f"check that the Weaviate at WEAVIATE_URL={settings.weaviate.weaviate_url} is up and reachable"
    else:
        todo = "start docduet's database with `docduet db start` (or set WEAVIATE_URL to use yours)"
    return f"The document index is unavailable: {error}\n\nWhat to do: {todo}, then ask again."
