"""What the web chat talks to: the answer service, the users file, feedback and admin actions.

:class:`LiveBackend` builds the real parts through the composition root, once per process (the
app caches it with ``st.cache_resource``). Tests inject another :class:`ChatBackend` by putting
it in the session state under :data:`BACKEND_KEY` before the first run.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Protocol

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
    from docduet.compose import Connection

log = logging.getLogger(__name__)

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

    Every part comes from the composition root (:mod:`docduet.compose`).
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.directory = UserDirectory.from_settings(settings)
        self.feedback = FeedbackStore.in_data_dir(settings.data_dir)
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._answerer: Answerer | None = None

    def answerer(self) -> Answerer:
        from docduet.compose import build_answer_service, connect

        with self._lock:
            if self._answerer is None:
                # never starts a database from a web request (`docduet ui` does that)
                connection = connect(self.settings, autostart=False)
                try:
                    self._answerer = build_answer_service(self.settings, connection.index)
                except BaseException:
                    connection.close()
                    raise
                self._connection = connection
            return self._answerer

    def columns(self) -> tuple[GeneratorInfo, ...]:
        service = self.answerer()
        return tuple(service.describe(n) for n in service.generator_names[:MAX_COLUMNS])

    def reset(self) -> None:
        with self._lock:
            connection, self._connection, self._answerer = self._connection, None, None
        if connection is not None:
            try:
                connection.close()
            except Exception as e:  # closing a dead connection must not hide the real error
                log.debug("closing the Weaviate client failed: %s", e)

    def index_stats(self) -> IndexStats:
        from docduet.compose import index_stats

        return index_stats(self.settings)

    def last_run(self) -> LastRun | None:
        return read_last_run(self.settings.data_dir)

    def reindex(self, progress: ProgressSink, *, full: bool = False) -> IngestSummary:
        from docduet.compose import run_reindex

        return run_reindex(self.settings, progress=progress, full=full)

    def source_bytes(self, source: str, user: User) -> bytes:
        from docduet.compose import serve_source

        return serve_source(self.settings, source, user)


def describe_outage(error: DocduetError, settings: Settings) -> str:
    """The banner text for an index that cannot be used, with what to do about it."""
    if not isinstance(error, BackendUnavailableError):
        return f"The document index cannot be used: {error}"
    if settings.weaviate_url:
        todo = f"check that the Weaviate at WEAVIATE_URL={settings.weaviate_url} is up and reachable"
    else:
        todo = "start docduet's database with `docduet db start` (or set WEAVIATE_URL to use yours)"
    return f"The document index is unavailable: {error}\n\nWhat to do: {todo}, then ask again."
