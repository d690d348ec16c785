"""The composition root: the one place that builds docduet's back ends and hands them out.

:class:`Root` is docduet built from one Settings: the Weaviate connection, the chunk index, the
embedder, the parser, the generators, the retriever and the answer service, each made on first
use and kept until :meth:`Root.close`. Each front end builds one per process (a CLI command at its
start, the web chat through ``st.cache_resource``, the Slack bot at start) and takes every part
from it. The loaded models live in :func:`docduet.models.process_models`, shared by every root of
the process. The functions at the bottom are one-call shortcuts for tests, benches and scripts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import weaviate

from backends.weaviate.client import connect as connect_client
from backends.weaviate.client import open_client
from backends.weaviate.index import WeaviateChunkIndex
from chat.columns import build_slots, calibration_folders, step_ids, to_build
from chat.confidence import Assessor, load_calibrations
from chat.confidence.assess import model_name
from chat.generators import GeneratorSpec, enabled_specs, spec_by_id
from chat.rewrite import HeuristicRewriter
from chat.service import AnswerService
from core.domain import User
from core.errors import BackendUnavailableError, DocduetError, RetrievalError
from core.index import ChunkIndex, IndexStats
from core.protocols import Embedder, Generator, Parser, ProgressSink
from core.settings import Settings
from docduet.models import BUILTIN_KINDS, Models, build_generator, generator_kinds, process_models
from docduet.warm import Warming, warm_models
from ingest.last_run import record_last_run
from ingest.lock import index_lock
from ingest.pipeline import Ingestor
from ingest.reindex import reindex
from ingest.sources import read_source
from ingest.summary import IngestSummary
from retrieval.retriever import HybridRetriever

__all__ = [
    "BUILTIN_KINDS",
    "Connection",
    "EvaluationParts",
    "Root",
    "Warming",
    "build_generator",
    "generator_kinds",
]

T = TypeVar("T")
log = logging.getLogger(__name__)


@dataclass
class Connection:
    """An open connection to the store and the chunk index on it; close it when done."""

    client: weaviate.WeaviateClient
    index: WeaviateChunkIndex

    def close(self) -> None:
        self.client.close()

    def index_named(self, name: str) -> WeaviateChunkIndex:
        """Another index (collection or alias) on the same connection, e.g. an evaluation's."""
        return WeaviateChunkIndex(self.client, name, self.index.settings)


def connect(settings: Settings, *, autostart: bool = True) -> Connection:
    """A connection to keep (close it); ``autostart`` may start docduet's own Weaviate."""
    client = connect_client(settings, autostart=autostart)
    return Connection(client, WeaviateChunkIndex(client, settings.weaviate.collection, settings))


class Root:
    """docduet built from one Settings; each part is made on first use and kept (thread-safe).

    ``autostart``: whether opening the connection may start docduet's own Weaviate (the CLI does;
    the web chat never starts one from a request: ``docduet ui`` starts it first). ``models``:
    where loaded models are kept (default: the process's); ``connector``: what opens the
    connection (default: :func:`connect`; unit tests hand in an in-memory one).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        autostart: bool = True,
        models: Models | None = None,
        connector: Callable[..., Connection] | None = None,
    ) -> None:
        self.settings = settings
        self.autostart = autostart
        self.models = models if models is not None else process_models()
        self._connector = connector if connector is not None else connect
        self._lock = threading.RLock()
        self._connection: Connection | None = None
        self._services: dict[tuple[str, ...] | None, AnswerService] = {}

    def __enter__(self) -> Root:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def derive(self, settings: Settings) -> Root:
        """A root for other settings (an evaluation's variant) sharing this one's loaded models."""
        return Root(settings, autostart=self.autostart, models=self.models, connector=self._connector)

    @property
    def connection(self) -> Connection:
        """The connection to the store, opened on first use."""
        with self._lock:
            if self._connection is None:
                self._connection = self._connector(self.settings, autostart=self.autostart)
            return self._connection

    @property
    def index(self) -> WeaviateChunkIndex:
        """The chunk index of ``settings.weaviate.collection`` (a collection or an alias)."""
        return self.connection.index

    @property
    def embedder(self) -> Embedder:
        return self.models.embedder(self.settings)

    @property
    def parser(self) -> Parser:
        return self.models.parser(self.settings)

    def generator_specs(self, names: Sequence[str] | None = None) -> list[GeneratorSpec]:
        """The specs of ``names`` (any configured id, enabled or not), or of every enabled generator."""
        return generator_specs(self.settings, names)

    def generators(self, names: Sequence[str] | None = None) -> tuple[dict[str, Generator], dict[str, str]]:
        """Generators by id (loaded once per process), and why each unavailable one is (cascades,
        which are columns of the answer service and no generator, are left out)."""
        specs = [s for s in self.generator_specs(names) if not s.is_cascade]
        return self.models.generators(self.settings, specs)

    def warm(self, names: Sequence[str] | None = None) -> Warming:
        """Start loading the embedder and the local models ``names`` use (default: every enabled
        one, a cascade's steps included) in the background; returns at once (:mod:`docduet.warm`)."""
        try:
            specs = self.generator_specs(names)
            steps = [spec_by_id(self.settings, step) for step in step_ids(specs)]
            ready, _unavailable = self.models.generators(self.settings, to_build(specs, steps))
        except DocduetError as e:  # the front end reports it where the generators are used
            log.warning("docduet: the local models were not loaded ahead: %s", e)
            ready = {}
        return warm_models(lambda: self.embedder, ready)

    def retriever(
        self, index: ChunkIndex | None = None, *, stemmed: bool = True, pieces: bool = True
    ) -> HybridRetriever:
        """The hybrid retriever over ``index`` (default: the root's) with the configured embedder."""
        target = self.index if index is None else index
        return HybridRetriever(target, self.embedder, self.settings.retrieval, stemmed=stemmed, pieces=pieces)

    def answer_service(self, names: Sequence[str] | None = None) -> AnswerService:
        """The answer service over the root's index with ``names`` (default: every enabled one), kept."""
        key = None if names is None else tuple(names)
        with self._lock:
            if key not in self._services:
                self._services[key] = self.service_over(self.index, names)
            return self._services[key]

    def service_over(self, index: ChunkIndex, names: Sequence[str] | None = None) -> AnswerService:
        """A new answer service over ``index``: retriever, generators, rewriter, trusted links."""
        if not index.exists():
            raise RetrievalError(
                f"the index {index.name!r} does not exist yet; run `docduet ingest PATH` first"
            )
        specs = self.generator_specs(names)
        steps = [spec_by_id(self.settings, step) for step in step_ids(specs)]  # a cascade's, not columns
        ready, unavailable = self.models.generators(self.settings, to_build(specs, steps))
        slots = build_slots(specs, steps, ready, unavailable)
        links = self.settings.links
        trusted = (*links.trusted_links, *([links.source_url_base] if links.source_url_base else []))
        assessor = self.assessor(ready)
        return AnswerService(
            self.retriever(index), slots, HeuristicRewriter(), trusted_links=trusted, assessor=assessor
        )

    def assessor(self, generators: Mapping[str, Generator]) -> Assessor:
        """Confidence from the calibrations: packaged, then DATA_DIR/calibration (``docduet eval
        --calibrate``), each used only for the model it was fitted for."""
        models = {name: model_name(g.endpoint) for name, g in generators.items()}
        return Assessor(load_calibrations(calibration_folders(self.settings.paths.data_dir)), models=models)

    def ingest(
        self,
        paths: Sequence[Path],
        *,
        progress: ProgressSink,
        dry_run: bool = False,
        force: bool = False,
        allow_empty: bool = False,
    ) -> IngestSummary:
        """``docduet ingest``: create or migrate the schema, then ingest ``paths`` incrementally.

        Holds the index's writer lock (not for a dry run; see :mod:`ingest.lock`) and records the
        summary for the admin page.
        """
        with self._writer_lock("docduet ingest", dry_run):
            embedder, index = self.embedder, self.index
            if not dry_run:
                index.ensure(embedding_model=embedder.name, dim=embedder.dim)
            ingestor = Ingestor(index, self.parser, embedder, self.settings, progress)
            summary = ingestor.run(list(paths), dry_run=dry_run, force=force, allow_empty=allow_empty)
        record_last_run(summary, self.settings.paths.data_dir)
        return summary

    def reindex(
        self, *, progress: ProgressSink, full: bool = False, dry_run: bool = False, allow_empty: bool = False
    ) -> IngestSummary:
        """``docduet reindex``: incremental over every indexed root, or a full alias-swapped rebuild."""
        with self._writer_lock("docduet reindex --full" if full else "docduet reindex", dry_run):
            embedder, index = self.embedder, self.index
            if not full and not dry_run:
                index.ensure(embedding_model=embedder.name, dim=embedder.dim)
            summary = reindex(
                index,
                self.settings,
                parser=self.parser,
                embedder=embedder,
                progress=progress,
                full=full,
                dry_run=dry_run,
                allow_empty=allow_empty,
            )
        record_last_run(summary, self.settings.paths.data_dir)
        return summary

    def _writer_lock(self, what: str, dry_run: bool) -> AbstractContextManager[None]:
        """The cross-process writer lock of the index; a dry run writes nothing and takes none."""
        if dry_run:
            return nullcontext()
        return index_lock(self.settings.paths.data_dir, self.settings.weaviate.collection, what=what)

    def stats(self) -> IndexStats:
        """What the index holds (the admin page)."""
        return self.index.stats()

    def source(self, source: str, user: User) -> bytes:
        """A cited file's bytes for ``user``, every check made now (:func:`ingest.sources.read_source`)."""
        return read_source(self.index, self.settings, source, user)

    def evaluation_parts(self) -> EvaluationParts:
        return EvaluationParts(self)

    def on_index(self, use: Callable[[], T]) -> T:
        """``use()``; when the store cannot be reached, the root reconnects on the next call."""
        try:
            return use()
        except BackendUnavailableError:
            self.reset()
            raise

    def reset(self) -> None:
        """Close the connection and forget the services built on it; the next use reconnects."""
        with self._lock:
            connection, self._connection = self._connection, None
            self._services.clear()
        if connection is not None:
            try:
                connection.close()
            except Exception as e:  # closing a dead connection must not hide the real error
                log.debug("closing the Weaviate client failed: %s", e)

    def close(self) -> None:
        """Close the connection (the loaded models stay with the process)."""
        self.reset()


class EvaluationParts:
    """What the evaluation is handed (:class:`evaluation.parts.EvalParts`), on one root's connection."""

    def __init__(self, root: Root) -> None:
        self._root = root

    def embedder(self) -> Embedder:
        return self._root.embedder

    def index_named(self, name: str) -> ChunkIndex:
        return self._root.connection.index_named(name)

    def generator_specs(self, settings: Settings, names: Sequence[str] | None = None) -> list[GeneratorSpec]:
        return generator_specs(settings, names)

    def generators(
        self, settings: Settings, names: Sequence[str]
    ) -> tuple[dict[str, Generator], dict[str, str]]:
        return self._root.derive(settings).generators(names)

    @contextmanager
    def answer_service(
        self, settings: Settings, names: Sequence[str] | None = None
    ) -> Iterator[AnswerService]:
        index = self.index_named(settings.weaviate.collection)
        yield self._root.derive(settings).service_over(index, names)

    def ingest(self, settings: Settings, paths: Sequence[Path], *, progress: ProgressSink) -> IngestSummary:
        with self._root.derive(settings) as root:
            return root.ingest(paths, progress=progress)

    def rebuild(self, settings: Settings, *, progress: ProgressSink) -> IngestSummary:
        with self._root.derive(settings) as root:
            return root.reindex(progress=progress, full=True)


# --- one-call shortcuts (tests, benches, scripts): each builds a Root and closes it -------------


def generator_specs(settings: Settings, names: Sequence[str] | None = None) -> list[GeneratorSpec]:
    """The specs of ``names`` (any configured id, enabled or not), or of every enabled generator."""
    if names is None:
        return enabled_specs(settings)
    return [spec_by_id(settings, name) for name in dict.fromkeys(names)]


@contextmanager
def open_index(settings: Settings, *, autostart: bool = True) -> Iterator[Connection]:
    """A connection for one command (closed on exit); starts the embedded Weaviate when needed."""
    with open_client(settings, autostart=autostart) as client:
        yield Connection(client, WeaviateChunkIndex(client, settings.weaviate.collection, settings))


def build_embedder(settings: Settings) -> Embedder:
    """The embedding model; loaded once per process for a given model and thread count."""
    return process_models().embedder(settings)


def build_parser(settings: Settings) -> Parser:
    """The parser worker with the per-file limits; one per process, stopped at exit."""
    return process_models().parser(settings)


def build_generators(
    settings: Settings, names: Sequence[str] | None = None
) -> tuple[dict[str, Generator], dict[str, str]]:
    """Generators by id (loaded once per process), and the reason for each one that is unavailable."""
    return Root(settings).generators(names)


def build_retriever(
    settings: Settings, index: ChunkIndex, *, stemmed: bool = True, pieces: bool = True
) -> HybridRetriever:
    """The hybrid retriever over ``index`` with the configured embedder (see HybridRetriever)."""
    return Root(settings).retriever(index, stemmed=stemmed, pieces=pieces)


def build_answer_service(
    settings: Settings, index: ChunkIndex, names: Sequence[str] | None = None
) -> AnswerService:
    """Retriever + generators (default: every enabled one) + rewriter over ``index``."""
    return Root(settings).service_over(index, names)


@contextmanager
def answer_service(settings: Settings, names: Sequence[str] | None = None) -> Iterator[AnswerService]:
    """An answer service with its own Weaviate connection (closed on exit)."""
    with Root(settings) as root:
        yield root.answer_service(names)


def run_ingest(
    settings: Settings,
    paths: Sequence[Path],
    *,
    progress: ProgressSink,
    dry_run: bool = False,
    force: bool = False,
    allow_empty: bool = False,
) -> IngestSummary:
    """:meth:`Root.ingest` on a connection of its own."""
    with Root(settings) as root:
        return root.ingest(paths, progress=progress, dry_run=dry_run, force=force, allow_empty=allow_empty)


def run_reindex(
    settings: Settings,
    *,
    progress: ProgressSink,
    full: bool = False,
    dry_run: bool = False,
    allow_empty: bool = False,
) -> IngestSummary:
    """:meth:`Root.reindex` on a connection of its own."""
    with Root(settings) as root:
        return root.reindex(progress=progress, full=full, dry_run=dry_run, allow_empty=allow_empty)


@contextmanager
def evaluation_parts(settings: Settings) -> Iterator[EvaluationParts]:
    """The evaluation's parts on a connection of their own (closed on exit)."""
    with Root(settings) as root:
        yield root.evaluation_parts()
