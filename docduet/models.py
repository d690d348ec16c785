"""The heavy parts of a process: embedding models, parser workers and generators, each loaded once.

:class:`Models` keys each part by the settings that shape it, so every
:class:`docduet.compose.Root` of a process (the front end's, an evaluation's variants, a test's
collections) shares one loaded model. :func:`process_models` is the process's one instance.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import threading
from collections.abc import Sequence

from pydantic import SecretStr

from backends.llama_cpp.build import build_llama_cpp
from backends.openai_compatible.generator import build_openai_compatible
from backends.sentence_transformers import SentenceTransformerEmbedder
from backends.unstructured import UnstructuredParser
from chat.generators import KINDS, GeneratorSpec, KindFactory, load_kinds
from core.errors import ConfigError
from core.protocols import ChunkSizes, Embedder, Generator, Parser
from core.registry import Registry
from core.settings import Settings
from ingest.chunking import chunk_sizes
from ingest.isolation import IsolatedParser
from ingest.limits import ExpansionLimit

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


def isolated_parser(settings: Settings) -> IsolatedParser:
    """unstructured in a worker process with the per-file limits (close it to stop the worker).

    The limits: time, file size, text for its size (:class:`ingest.limits.ExpansionLimit`), memory.
    """
    expansion = ExpansionLimit(
        ratio=settings.ingest.max_expansion_ratio, ceiling_chars=settings.ingest.max_extracted_chars
    )
    inner = UnstructuredParser(
        max_file_bytes=settings.ingest.max_file_bytes, expansion=expansion, chunking=chunk_sizes(settings)
    )
    return IsolatedParser(
        inner,
        timeout_s=settings.ingest.parse_timeout_s,
        max_memory_mb=settings.ingest.parse_max_memory_mb or None,
    )


def _parser_key(settings: Settings) -> tuple[float, int, float, int, int, ChunkSizes]:
    return (
        settings.ingest.parse_timeout_s,
        settings.ingest.max_file_bytes,
        settings.ingest.max_expansion_ratio,
        settings.ingest.max_extracted_chars,
        settings.ingest.parse_max_memory_mb,
        chunk_sizes(settings),
    )


def _generator_key(spec: GeneratorSpec, settings: Settings) -> tuple[str, str]:
    """A generator is reused while its spec (secrets included, hashed) and cache dir are the same."""
    secrets = [v.get_secret_value() for v in spec.options.values() if isinstance(v, SecretStr)]
    digest = hashlib.sha256("\0".join(secrets).encode()).hexdigest()
    return spec.id, f"{spec.model_dump_json()}|{settings.paths.cache_dir}|{digest}"


class Models:
    """Embedders, parser workers and generators, each built on first use and kept (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._embedders: dict[tuple[str | None, int], Embedder] = {}
        self._parsers: dict[tuple[float, int, float, int, int, ChunkSizes], IsolatedParser] = {}
        self._generators: dict[tuple[str, str], Generator] = {}

    def embedder(self, settings: Settings) -> Embedder:
        """The embedding model, one per model and thread count."""
        key = (settings.embedding.embedding_model, settings.embedding.embedding_threads)
        with self._lock:
            if key not in self._embedders:
                self._embedders[key] = SentenceTransformerEmbedder.from_settings(settings)
            return self._embedders[key]

    def parser(self, settings: Settings) -> Parser:
        """The parser worker (:func:`isolated_parser`), one per set of limits; stopped by :meth:`close`."""
        key = _parser_key(settings)
        with self._lock:
            if key not in self._parsers:
                self._parsers[key] = isolated_parser(settings)
            return self._parsers[key]

    def generators(
        self, settings: Settings, specs: Sequence[GeneratorSpec]
    ) -> tuple[dict[str, Generator], dict[str, str]]:
        """Generators by id, and the reason for each one that is unavailable (a ConfigError's text)."""
        ready: dict[str, Generator] = {}
        unavailable: dict[str, str] = {}
        for spec in specs:
            key = _generator_key(spec, settings)
            try:
                with self._lock:
                    if key not in self._generators:
                        self._generators[key] = build_generator(spec, settings)
                    ready[spec.id] = self._generators[key]
            except ConfigError as e:
                unavailable[spec.id] = str(e)
        return ready, unavailable

    def close(self) -> None:
        """Stop the parser workers (the models go with the process)."""
        with self._lock:
            parsers, self._parsers = list(self._parsers.values()), {}
        for parser in parsers:
            parser.close()


@functools.cache
def process_models() -> Models:
    """The process's one :class:`Models`, closed at exit."""
    models = Models()
    atexit.register(models.close)
    return models
