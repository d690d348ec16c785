"""The composition root: the one place that builds docduet's parts from settings.

The CLI, the Streamlit page and the Slack adapter all call these functions; nothing else
constructs adapters.
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

from backends.sentence_transformers import SentenceTransformerEmbedder
from backends.unstructured import UnstructuredParser
from backends.weaviate import schema
from backends.weaviate.chunks import ChunkStore
from backends.weaviate.client import open_client
from chat.generators import Generator, GeneratorSpec, build_generator, enabled_specs, spec_by_id
from chat.rewrite import HeuristicRewriter
from chat.service import AnswerService
from core.errors import ConfigError, RetrievalError
from core.protocols import Embedder, Parser, ProgressSink
from core.settings import Settings
from ingest.isolation import IsolatedParser
from ingest.lock import index_lock
from ingest.pipeline import Ingestor
from ingest.reindex import reindex
from ingest.summary import IngestSummary
from retrieval.retriever import WeaviateRetriever


@dataclass(frozen=True)
class AdminKit:
    """What the admin commands need: a client, a parser and an embedder."""

    client: weaviate.WeaviateClient
    parser: Parser
    embedder: Embedder


_EMBEDDERS: dict[tuple[str | None, int], Embedder] = {}
_EMBEDDERS_LOCK = threading.Lock()


def build_embedder(settings: Settings) -> Embedder:
    """The embedding model; loaded once per process for a given model and thread count."""
    key = (settings.embedding_model, settings.embedding_threads)
    with _EMBEDDERS_LOCK:
        if key not in _EMBEDDERS:
            _EMBEDDERS[key] = SentenceTransformerEmbedder.from_settings(settings)
        return _EMBEDDERS[key]


_PARSERS: dict[tuple[float, int], IsolatedParser] = {}
_PARSERS_LOCK = threading.Lock()


def build_parser(settings: Settings) -> Parser:
    """unstructured in a worker process with the per-file time limit; one per process, stopped at exit."""
    key = (settings.parse_timeout_s, settings.max_file_bytes)
    with _PARSERS_LOCK:
        if key not in _PARSERS:
            inner = UnstructuredParser(max_file_bytes=settings.max_file_bytes)
            parser = IsolatedParser(inner, timeout_s=settings.parse_timeout_s)
            atexit.register(parser.close)
            _PARSERS[key] = parser
        return _PARSERS[key]


@contextmanager
def admin_kit(settings: Settings) -> Iterator[AdminKit]:
    """Connect (starting the embedded Weaviate if needed) and load the parser and embedder."""
    with open_client(settings, autostart=True) as client:
        yield AdminKit(client, build_parser(settings), build_embedder(settings))


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

    Holds the index's writer lock (not for a dry run); see :mod:`ingest.lock`.
    """
    with _writer_lock(settings, "docduet ingest", dry_run), admin_kit(settings) as kit:
        if not dry_run:
            schema.ensure_index(
                kit.client,
                settings.collection,
                embedding_model=kit.embedder.name,
                dim=kit.embedder.dim,
                replicas=settings.replication_factor,
            )
        store = ChunkStore.for_settings(kit.client, settings.collection, settings)
        ingestor = Ingestor(store, kit.parser, kit.embedder, settings, progress)
        return ingestor.run(paths, dry_run=dry_run, force=force, allow_empty=allow_empty)


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
    with _writer_lock(settings, what, dry_run), admin_kit(settings) as kit:
        if not full and not dry_run:
            schema.ensure_index(
                kit.client,
                settings.collection,
                embedding_model=kit.embedder.name,
                dim=kit.embedder.dim,
                replicas=settings.replication_factor,
            )
        return reindex(
            kit.client,
            settings,
            parser=kit.parser,
            embedder=kit.embedder,
            progress=progress,
            full=full,
            dry_run=dry_run,
            allow_empty=allow_empty,
        )


def _writer_lock(settings: Settings, what: str, dry_run: bool) -> AbstractContextManager[None]:
    """The cross-process writer lock of the index; a dry run writes nothing and takes none."""
    return nullcontext() if dry_run else index_lock(settings.data_dir, settings.collection, what=what)


# --- answering -------------------------------------------------------------------------------

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
    """Generators by id (cached per process), and the reason for each one that is unavailable."""
    ready: dict[str, Generator] = {}
    unavailable: dict[str, str] = {}
    for spec in generator_specs(settings, names):
        key = _cache_key(spec, settings)
        try:
            with _GENERATORS_LOCK:
                if key not in _GENERATORS:
                    _GENERATORS[key] = build_generator(spec, settings)
                ready[spec.id] = _GENERATORS[key]
        except ConfigError as e:
            unavailable[spec.id] = str(e)
    return ready, unavailable


def build_answer_service(
    settings: Settings, client: weaviate.WeaviateClient, names: Sequence[str] | None = None
) -> AnswerService:
    """Retriever + generators (default: every enabled one) + rewriter over an open client."""
    if schema.resolve_alias(client, settings.collection) is None:
        raise RetrievalError(
            f"the index {settings.collection!r} does not exist yet; run `docduet ingest PATH` first"
        )
    retriever = WeaviateRetriever(client, settings.collection, build_embedder(settings), settings)
    specs = generator_specs(settings, names)
    ready, unavailable = build_generators(settings, [s.id for s in specs])
    return AnswerService(
        retriever,
        ready,
        HeuristicRewriter(),
        unavailable=unavailable,
        max_passages={s.id: s.max_passages for s in specs if s.max_passages is not None},
        labels={s.id: s.title for s in specs},
    )


@contextmanager
def answer_service(
    settings: Settings, names: Sequence[str] | None = None
) -> Iterator[AnswerService]:
    """An answer service with its own Weaviate connection (closed on exit)."""
    with open_client(settings, autostart=True) as client:
        yield build_answer_service(settings, client, names)
