"""The composition root: the one place that builds docduet's parts from settings.

The CLI, the Streamlit page and the Slack adapter all call these functions; nothing else
constructs adapters.
"""

from __future__ import annotations

import atexit
import hashlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import weaviate
from pydantic import SecretStr

from chat.generators import GENERATORS, Generator, build_generator
from chat.rewrite import HeuristicRewriter
from chat.service import AnswerService
from docduet.db import schema
from docduet.db.chunks import ChunkStore
from docduet.db.client import open_client
from docduet.errors import ConfigError, RetrievalError
from docduet.settings import Settings
from ingest.embed import Embedder, SentenceTransformerEmbedder
from ingest.isolation import IsolatedParser
from ingest.parse import Parser, UnstructuredParser
from ingest.pipeline import Ingestor
from ingest.progress import ProgressSink
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


_PARSERS: dict[float, IsolatedParser] = {}
_PARSERS_LOCK = threading.Lock()


def build_parser(settings: Settings) -> Parser:
    """unstructured in a worker process with the per-file time limit; one per process, stopped at exit."""
    with _PARSERS_LOCK:
        if settings.parse_timeout_s not in _PARSERS:
            parser = IsolatedParser(UnstructuredParser(), timeout_s=settings.parse_timeout_s)
            atexit.register(parser.close)
            _PARSERS[settings.parse_timeout_s] = parser
        return _PARSERS[settings.parse_timeout_s]


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
) -> IngestSummary:
    """``docduet ingest``: create or migrate the schema, then ingest ``paths`` incrementally."""
    with admin_kit(settings) as kit:
        if not dry_run:
            schema.ensure_index(
                kit.client,
                settings.collection,
                embedding_model=kit.embedder.name,
                dim=kit.embedder.dim,
                replicas=settings.replication_factor,
            )
        store = ChunkStore(kit.client, settings.collection)
        ingestor = Ingestor(store, kit.parser, kit.embedder, settings, progress)
        return ingestor.run(paths, dry_run=dry_run, force=force)


def run_reindex(
    settings: Settings, *, progress: ProgressSink, full: bool = False, dry_run: bool = False
) -> IngestSummary:
    """``docduet reindex``: incremental over every indexed root, or a full alias-swapped rebuild."""
    with admin_kit(settings) as kit:
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
        )


# --- answering -------------------------------------------------------------------------------

_GENERATORS: dict[tuple[str, str], Generator] = {}
_GENERATORS_LOCK = threading.Lock()


def _generator_settings(name: str, settings: Settings) -> str:
    """The settings a generator is built from (its ``<name>_*`` fields, plus the cache dir)."""
    fields = {f for f in type(settings).model_fields if f.startswith(f"{name}_")} | {"cache_dir"}
    secrets = [getattr(settings, f) for f in sorted(fields)]
    digest = hashlib.sha256(
        "\0".join(v.get_secret_value() for v in secrets if isinstance(v, SecretStr)).encode()
    ).hexdigest()
    return settings.model_dump_json(include=fields) + digest


def build_generators(
    settings: Settings, names: Sequence[str]
) -> tuple[dict[str, Generator], dict[str, str]]:
    """Generators by name (cached per process), and the reason for each one that is unavailable."""
    ready: dict[str, Generator] = {}
    unavailable: dict[str, str] = {}
    for name in names:
        key = (name, _generator_settings(name, settings))
        try:
            with _GENERATORS_LOCK:
                if key not in _GENERATORS:
                    _GENERATORS[key] = build_generator(name, settings)
                ready[name] = _GENERATORS[key]
        except ConfigError as e:
            if name not in GENERATORS.names():
                raise
            unavailable[name] = str(e)
    return ready, unavailable


def build_answer_service(
    settings: Settings, client: weaviate.WeaviateClient, names: Sequence[str] = ("slm", "llm")
) -> AnswerService:
    """Retriever + generators + rewriter over an open client."""
    if schema.resolve_alias(client, settings.collection) is None:
        raise RetrievalError(
            f"the index {settings.collection!r} does not exist yet; run `docduet ingest PATH` first"
        )
    retriever = WeaviateRetriever(client, settings.collection, build_embedder(settings), settings)
    ready, unavailable = build_generators(settings, names)
    return AnswerService(
        retriever,
        ready,
        HeuristicRewriter(),
        unavailable=unavailable,
        max_passages={"slm": settings.slm_max_passages},
    )


@contextmanager
def answer_service(
    settings: Settings, names: Sequence[str] = ("slm", "llm")
) -> Iterator[AnswerService]:
    """An answer service with its own Weaviate connection (closed on exit)."""
    with open_client(settings, autostart=True) as client:
        yield build_answer_service(settings, client, names)
