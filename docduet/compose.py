"""The composition root: the one place that builds docduet's back ends and hands them out.

It alone opens the Weaviate client and builds the embedder, the parser, the generators and the
chunk index; the CLI, the web chat, Slack, reindex and the evaluation all get theirs from here.
"""

from __future__ import annotations

import atexit
import hashlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import weaviate
from pydantic import SecretStr

from backends.llama_cpp.generator import build_llama_cpp
from backends.openai_compatible.generator import build_openai_compatible
from backends.sentence_transformers import SentenceTransformerEmbedder
from backends.unstructured import UnstructuredParser
from backends.weaviate.client import connect as connect_client
from backends.weaviate.client import open_client
from backends.weaviate.index import WeaviateChunkIndex
from chat.columns import build_slots, calibration_folders, step_ids, to_build
from chat.confidence import Assessor, load_calibrations
from chat.confidence.assess import model_name
from chat.generators import KINDS, GeneratorSpec, KindFactory, enabled_specs, load_kinds, spec_by_id
from chat.rewrite import HeuristicRewriter
from chat.service import AnswerService
from core.domain import User
from core.errors import ConfigError, RetrievalError
from core.index import ChunkIndex, IndexStats
from core.protocols import Embedder, Generator, Parser, ProgressSink
from core.registry import Registry
from core.settings import Settings
from ingest.isolation import IsolatedParser
from ingest.last_run import record_last_run
from ingest.limits import ExpansionLimit
from ingest.lock import index_lock
from ingest.pipeline import Ingestor
from ingest.reindex import reindex
from ingest.sources import read_source
from ingest.summary import IngestSummary
from retrieval.retriever import HybridRetriever

# --- the index -------------------------------------------------------------------------------


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
    """A long-lived connection (the web chat, Slack); ``autostart`` may start the embedded Weaviate."""
    client = connect_client(settings, autostart=autostart)
    return Connection(client, WeaviateChunkIndex(client, settings.collection, settings))


@contextmanager
def open_index(settings: Settings, *, autostart: bool = True) -> Iterator[Connection]:
    """A connection for one command (closed on exit); starts the embedded Weaviate when needed."""
    with open_client(settings, autostart=autostart) as client:
        yield Connection(client, WeaviateChunkIndex(client, settings.collection, settings))


def index_stats(settings: Settings) -> IndexStats:
    """What the index holds (the admin page); never starts a database."""
    with open_index(settings, autostart=False) as connection:
        return connection.index.stats()


def serve_source(settings: Settings, source: str, user: User) -> bytes:
    """A cited file's bytes for ``user``, every check made now (:func:`ingest.sources.read_source`)."""
    with open_index(settings, autostart=False) as connection:
        return read_source(connection.index, settings, source, user)


# --- ingestion -------------------------------------------------------------------------------

_EMBEDDERS: dict[tuple[str | None, int], Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def build_embedder(settings: Settings) -> Embedder:
    """The embedding model; loaded once per process for a given model and thread count."""
    key = (settings.embedding_model, settings.embedding_threads)
    with _EMBEDDERS_LOCK:
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = SentenceTransformerEmbedder.from_settings(settings)
        return _EMBEDDERS[key]


_PARSERS: dict[tuple[float, int, float, int, int], IsolatedParser] = {}
_PARSERS_LOCK = threading.Lock()


def build_parser(settings: Settings) -> Parser:
    """unstructured in a worker process with the per-file limits; one per process, stopped at exit.

    The limits: time, file size, text for its size (:class:`ingest.limits.ExpansionLimit`), memory.
    """
    key = (
        settings.parse_timeout_s,
        settings.max_file_bytes,
        settings.max_expansion_ratio,
        settings.max_extracted_chars,
        settings.parse_max_memory_mb,
    )
    with _PARSERS_LOCK:
        if key not in _PARSERS:
            expansion = ExpansionLimit(
                ratio=settings.max_expansion_ratio, ceiling_chars=settings.max_extracted_chars
            )
            inner = UnstructuredParser(max_file_bytes=settings.max_file_bytes, expansion=expansion)
            parser = IsolatedParser(
                inner,
                timeout_s=settings.parse_timeout_s,
                max_memory_mb=settings.parse_max_memory_mb or None,
            )
            atexit.register(parser.close)
            _PARSERS[key] = parser
        return _PARSERS[key]


def run_ingest(
    settings: Settings,
    paths: list[Path],
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
    with _writer_lock(settings, "docduet ingest", dry_run), open_index(settings) as connection:
        embedder, index = build_embedder(settings), connection.index
        if not dry_run:
            index.ensure(embedding_model=embedder.name, dim=embedder.dim)
        ingestor = Ingestor(index, build_parser(settings), embedder, settings, progress)
        summary = ingestor.run(paths, dry_run=dry_run, force=force, allow_empty=allow_empty)
    record_last_run(summary, settings.data_dir)
    return summary


def run_reindex(
    settings: Settings,
    *,
    progress: ProgressSink,
    full: bool = False,
    dry_run: bool = False,
    allow_empty: bool = False,
) -> IngestSummary:
    """``docduet reindex``: incremental over every indexed root, or a full alias-swapped rebuild."""
    what = "docduet reindex --full" if full else "docduet reindex"
    with _writer_lock(settings, what, dry_run), open_index(settings) as connection:
        embedder, index = build_embedder(settings), connection.index
        if not full and not dry_run:
            index.ensure(embedding_model=embedder.name, dim=embedder.dim)
        summary = reindex(
            index,
            settings,
            parser=build_parser(settings),
            embedder=embedder,
            progress=progress,
            full=full,
            dry_run=dry_run,
            allow_empty=allow_empty,
        )
    record_last_run(summary, settings.data_dir)
    return summary


def _writer_lock(settings: Settings, what: str, dry_run: bool) -> AbstractContextManager[None]:
    """The cross-process writer lock of the index; a dry run writes nothing and takes none."""
    return nullcontext() if dry_run else index_lock(settings.data_dir, settings.collection, what=what)


# --- answering -------------------------------------------------------------------------------

BUILTIN_KINDS: dict[str, KindFactory] = {
    "llama_cpp": build_llama_cpp,
    "openai_compatible": build_openai_compatible,
}
"""docduet's own generator kinds; plugins add theirs through the ``docduet.generator_kinds`` group."""
_KINDS_LOCK = threading.Lock()


def generator_kinds() -> Registry[Generator]:
    """Every generator kind: the built-ins, registered here as a plugin's would be, then the plugins'."""
    with _KINDS_LOCK:
        for name, factory in BUILTIN_KINDS.items():
            if name not in KINDS.names():
                KINDS.register(name)(factory)
    return load_kinds()


def build_generator(spec: GeneratorSpec, settings: Settings) -> Generator:
    """Build ``spec`` with its kind's factory; an unknown kind raises ConfigError naming the known."""
    return generator_kinds().get(spec.kind)(spec, settings)


_GENERATORS: dict[tuple[str, str], Generator] = {}
_GENERATORS_LOCK = threading.Lock()


def _cache_key(spec: GeneratorSpec, settings: Settings) -> tuple[str, str]:
    """A generator is reused while its spec (secrets included, hashed) and cache dir are the same."""
    secrets = [v.get_secret_value() for v in spec.options.values() if isinstance(v, SecretStr)]
    digest = hashlib.sha256("\0".join(secrets).encode()).hexdigest()
    return spec.id, f"{spec.model_dump_json()}|{settings.cache_dir}|{digest}"


def generator_specs(settings: Settings, names: Sequence[str] | None = None) -> list[GeneratorSpec]:
    """The specs of ``names`` (any configured id, enabled or not), or of every enabled generator."""
    if names is None:
        return enabled_specs(settings)
    return [spec_by_id(settings, name) for name in dict.fromkeys(names)]


def build_generators(
    settings: Settings, names: Sequence[str] | None = None
) -> tuple[dict[str, Generator], dict[str, str]]:
    """Generators by id (cached per process), and the reason for each one that is unavailable
    (cascades, which are columns of the answer service and no generator, are left out)."""
    ready: dict[str, Generator] = {}
    unavailable: dict[str, str] = {}
    for spec in [s for s in generator_specs(settings, names) if not s.is_cascade]:
        key = _cache_key(spec, settings)
        try:
            with _GENERATORS_LOCK:
                if key not in _GENERATORS:
                    _GENERATORS[key] = build_generator(spec, settings)
                ready[spec.id] = _GENERATORS[key]
        except ConfigError as e:
            unavailable[spec.id] = str(e)
    return ready, unavailable


def build_retriever(
    settings: Settings, index: ChunkIndex, *, stemmed: bool = True, pieces: bool = True
) -> HybridRetriever:
    """The hybrid retriever over ``index`` with the configured embedder (see HybridRetriever)."""
    return HybridRetriever(index, build_embedder(settings), settings, stemmed=stemmed, pieces=pieces)


def build_answer_service(
    settings: Settings, index: ChunkIndex, names: Sequence[str] | None = None
) -> AnswerService:
    """Retriever + generators (default: every enabled one) + rewriter over ``index``."""
    if not index.exists():
        raise RetrievalError(
            f"the index {index.name!r} does not exist yet; run `docduet ingest PATH` first"
        )
    specs = generator_specs(settings, names)
    steps = [spec_by_id(settings, step) for step in step_ids(specs)]  # a cascade's, not columns
    ready, unavailable = build_generators(settings, [s.id for s in to_build(specs, steps)])
    slots = build_slots(specs, steps, ready, unavailable)
    trusted = (*settings.trusted_links, *([settings.source_url_base] if settings.source_url_base else []))
    models = {name: model_name(g.endpoint) for name, g in ready.items()}
    assessor = Assessor(load_calibrations(calibration_folders(settings.data_dir)), models=models)
    return AnswerService(
        build_retriever(settings, index), slots, HeuristicRewriter(), trusted_links=trusted, assessor=assessor
    )


@contextmanager
def answer_service(
    settings: Settings, names: Sequence[str] | None = None
) -> Iterator[AnswerService]:
    """An answer service with its own Weaviate connection (closed on exit)."""
    with open_index(settings) as connection:
        yield build_answer_service(settings, connection.index, names)


# --- evaluation ------------------------------------------------------------------------------


class EvaluationParts:
    """What the evaluation is handed (:class:`evaluation.parts.EvalParts`), on one connection."""

    def __init__(self, settings: Settings, connection: Connection) -> None:
        self._settings = settings
        self._connection = connection

    def embedder(self) -> Embedder:
        return build_embedder(self._settings)

    def index_named(self, name: str) -> ChunkIndex:
        return self._connection.index_named(name)

    def generator_specs(self, settings: Settings, names: Sequence[str] | None = None) -> list[GeneratorSpec]:
        return generator_specs(settings, names)

    def generators(
        self, settings: Settings, names: Sequence[str]
    ) -> tuple[dict[str, Generator], dict[str, str]]:
        return build_generators(settings, names)

    @contextmanager
    def answer_service(
        self, settings: Settings, names: Sequence[str] | None = None
    ) -> Iterator[AnswerService]:
        yield build_answer_service(settings, self._connection.index_named(settings.collection), names)

    def ingest(self, settings: Settings, paths: Sequence[Path], *, progress: ProgressSink) -> IngestSummary:
        return run_ingest(settings, list(paths), progress=progress)

    def rebuild(self, settings: Settings, *, progress: ProgressSink) -> IngestSummary:
        return run_reindex(settings, progress=progress, full=True)


@contextmanager
def evaluation_parts(settings: Settings) -> Iterator[EvaluationParts]:
    """The evaluation's parts on a connection of their own (closed on exit)."""
    with open_index(settings) as connection:
        yield EvaluationParts(settings, connection)
