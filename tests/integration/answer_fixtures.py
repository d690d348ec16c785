"""Helpers for the answer-chain tests (test_answers.py, test_answers_cli.py).

- :func:`answer_settings`: Settings for one module's own collection on the session's Weaviate,
  the packaged GGUF with one thread, small answer caps, the hosted LLM on a loopback URL.
- :func:`ingest_corpus`: ingest a copy of corpora/ and the adversarial fixtures once, and return
  every stored chunk (read back from Weaviate) by id.
- :class:`DelayingProxy`: a recording proxy that can hold chat requests for a while (so the
  hosted side of a comparison mostly waits) and notes when each request arrived and was done.
- :func:`leaked`: which confidential chunks show up in some text, even partly.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml
from llm_server import RecordedRequest, RecordingProxy, _ProxyHandler
from pydantic import AliasChoices

from backends.weaviate.client import open_client
from backends.weaviate.records import RETURN_PROPERTIES, chunk_from_properties
from backends.weaviate_server.server import WeaviateServer
from core.domain import Chunk, Sensitivity, User
from core.prompt import neutralise
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import run_ingest

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "corpora"
USERS_FILE = CORPUS / "users.yaml"
ADVERSARIAL = REPO / "tests" / "fixtures" / "adversarial"
EXPECTATIONS: dict[str, Any] = yaml.safe_load(
    (ADVERSARIAL / ".expectations.yaml").read_text(encoding="utf-8")
)
CANARY: str = EXPECTATIONS["canary"]
LEAK_WINDOW = 48
"""Characters of a confidential passage that, found verbatim elsewhere, count as a leak."""


def answer_settings(
    node: WeaviateServer, binary: Path, root: Path, gguf: Path, llm_url: str, **overrides: Any
) -> Settings:
    """Settings aimed at ``node`` with a fresh collection; keyword arguments override fields."""
    values: dict[str, Any] = {
        "weaviate_url": node.url,
        "weaviate_grpc_url": f"{node.config.client_host}:{node.config.ports.grpc}",
        "weaviate_api_key": node.api_key(),
        "weaviate_binary": binary,
        "data_dir": root / "data",
        "cache_dir": root / "cache",
        "collection": f"Answers_{uuid.uuid4().hex[:12]}",
        "users_file": USERS_FILE,
        "embedding_threads": 1,
        "slm_model_path": str(gguf),  # a packaged name or a path, as text
        "slm_threads": 1,
        "slm_n_ctx": 2048,
        "slm_max_tokens": 32,
        "slm_large_enabled": False,  # one local model keeps the suite fast; test_answers_cli runs both
        "llm_base_url": llm_url,
        "llm_api_key": "dummy",
        "llm_model": "gemma-3-270m",
        "llm_max_tokens": 24,
        "llm_max_retries": 0,
        "llm_timeout_s": 600.0,  # the loopback "hosted" model shares 2 busy cores with the tests
        "llm_first_token_timeout_s": 600.0,
        "llm_total_timeout_s": 900.0,
    }
    return Settings(**by_alias(values | overrides))


def by_alias(values: Mapping[str, Any]) -> dict[str, Any]:
    """Field values keyed as ``Settings(...)`` reads them.

    A field with aliases (``llm_base_url`` reads DOCDUET_LLM_BASE_URL or OPENAI_BASE_URL) takes
    its value only under an alias: ``Settings(llm_base_url=...)`` is silently ignored.
    """
    out: dict[str, Any] = {}
    for name, value in values.items():
        alias = Settings.flat_fields()[name].validation_alias
        first = alias.choices[0] if isinstance(alias, AliasChoices) else alias
        out[first if isinstance(first, str) else name] = value
    return out


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment variables that make ``docduet`` (a subprocess) use ``settings``."""
    env = {
        "WEAVIATE_URL": settings.weaviate.weaviate_url,
        "WEAVIATE_GRPC_URL": settings.weaviate.weaviate_grpc_url,
        "DOCDUET_COLLECTION": settings.weaviate.collection,
        "DOCDUET_USERS_FILE": str(settings.identity.users_file),
        "DOCDUET_DATA_DIR": str(settings.paths.data_dir),
        "DOCDUET_CACHE_DIR": str(settings.paths.cache_dir),
        "DOCDUET_WEAVIATE_BINARY": str(settings.weaviate.weaviate_binary),
        "DOCDUET_EMBEDDING_THREADS": str(settings.embedding.embedding_threads),
        "DOCDUET_SLM_MODEL_PATH": str(settings.generation.slm_model_path),
        "DOCDUET_SLM_THREADS": str(settings.generation.slm_threads),
        "DOCDUET_SLM_N_CTX": str(settings.generation.slm_n_ctx),
        "DOCDUET_SLM_MAX_TOKENS": str(settings.generation.slm_max_tokens),
        "DOCDUET_SLM_LARGE_ENABLED": str(settings.generation.slm_large_enabled).lower(),
        "DOCDUET_LLM_BASE_URL": settings.generation.llm_base_url,
        "DOCDUET_LLM_MODEL": settings.generation.llm_model,
        "DOCDUET_LLM_MAX_TOKENS": str(settings.generation.llm_max_tokens),
        "DOCDUET_LLM_MAX_RETRIES": str(settings.generation.llm_max_retries),
        "DOCDUET_LLM_TIMEOUT_S": str(settings.generation.llm_timeout_s),
        "DOCDUET_LLM_FIRST_TOKEN_TIMEOUT_S": str(settings.generation.llm_first_token_timeout_s),
        "DOCDUET_LLM_TOTAL_TIMEOUT_S": str(settings.generation.llm_total_timeout_s),
    }
    for name, secret in (
        ("WEAVIATE_API_KEY", settings.weaviate.weaviate_api_key),
        ("DOCDUET_LLM_API_KEY", settings.generation.llm_api_key),
    ):
        if secret is not None:
            env[name] = secret.get_secret_value()
    return {k: v for k, v in env.items() if v is not None}


def ingest_corpus(settings: Settings, workdir: Path) -> dict[str, Chunk]:
    """Ingest copies of corpora/ and the adversarial fixtures; every stored chunk by id."""
    corpus = Path(shutil.copytree(CORPUS, workdir / "corpus"))
    adversarial = Path(shutil.copytree(ADVERSARIAL, workdir / "adversarial"))
    summary = run_ingest(settings, [corpus, adversarial], progress=NullProgress())
    assert summary.failed == [], summary.failed
    chunks = stored_chunks(settings)
    assert chunks, "the ingest stored nothing"
    return chunks


def stored_chunks(settings: Settings) -> dict[str, Chunk]:
    """Every chunk in ``settings.weaviate.collection``, read straight from Weaviate."""
    with open_client(settings, autostart=False) as client:
        collection = client.collections.use(settings.weaviate.collection)
        return {
            str(obj.uuid): chunk_from_properties(str(obj.uuid), obj.properties)
            for obj in collection.iterator(return_properties=RETURN_PROPERTIES)
        }


def readable_by(chunk: Chunk, user: User) -> bool:
    """Whether ``user`` may read ``chunk`` according to its stored access groups."""
    return bool(set(chunk.access.groups) & set(user.readable_groups))


def confidential(chunks: Mapping[str, Chunk]) -> list[Chunk]:
    """The confidential chunks of the index."""
    return [c for c in chunks.values() if c.access.sensitivity is Sensitivity.CONFIDENTIAL]


def _squash(text: str) -> str:
    return " ".join(text.split())


def leaked(text: str, chunks: Iterable[Chunk]) -> list[str]:
    """Ids of the chunks of which at least LEAK_WINDOW consecutive characters occur in ``text``.

    Passages are compared as a prompt carries them (neutralised) and as stored, whitespace
    squashed, so a trimmed or reflowed passage is caught too.
    """
    haystack = _squash(text)
    found = []
    for chunk in chunks:
        for variant in {_squash(chunk.text), _squash(neutralise(chunk.text))}:
            windows = range(0, max(1, len(variant) - LEAK_WINDOW + 1), LEAK_WINDOW // 2)
            if any(variant[i : i + LEAK_WINDOW] in haystack for i in windows):
                found.append(chunk.chunk_id)
                break
    return found


class _DelayingHandler(_ProxyHandler):
    def _forward(self) -> None:
        proxy: DelayingProxy = self.server.owner  # type: ignore[attr-defined]
        arrived = time.perf_counter()
        if self.command == "POST" and proxy.delay_s > 0:
            proxy.stop_event.wait(timeout=proxy.delay_s)  # bounded; ends early at shutdown
        try:
            super()._forward()
        finally:
            proxy.note(self.path, arrived, time.perf_counter())


class DelayingProxy(RecordingProxy):
    """A :class:`RecordingProxy` that holds each POST ``delay_s`` seconds before forwarding it.

    ``timeline`` holds ``(path, arrived, done)`` per request, in ``time.perf_counter`` seconds.
    """

    handler = _DelayingHandler

    def __init__(self, upstream_port: int, *, timeout_s: float = 300.0) -> None:
        self.delay_s = 0.0
        self._timeline: list[tuple[str, float, float]] = []
        self._timeline_lock = threading.Lock()
        super().__init__(upstream_port, timeout_s=timeout_s)

    def note(self, path: str, arrived: float, done: float) -> None:
        """Record when one request arrived and when its reply was sent."""
        with self._timeline_lock:
            self._timeline.append((path, arrived, done))

    @property
    def timeline(self) -> list[tuple[str, float, float]]:
        """``(path, arrived, done)`` of the requests answered so far."""
        with self._timeline_lock:
            return list(self._timeline)

    def chat_timeline(self, count: int, timeout_s: float = 10.0) -> list[tuple[float, float]]:
        """``(arrived, done)`` of the chat requests, once ``count`` of them are done (bounded wait).

        A streaming client may stop reading at ``data: [DONE]``, a moment before the proxy is done.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            done = [(a, d) for path, a, d in self.timeline if path.endswith("/chat/completions")]
            if len(done) >= count or time.monotonic() > deadline:
                return done
            time.sleep(0.05)

    def clear(self) -> None:
        """Forget requests and timings; no delay."""
        super().clear()
        with self._timeline_lock:
            self._timeline.clear()
        self.delay_s = 0.0

    def chat_requests(self) -> list[RecordedRequest]:
        """The chat-completion requests received so far."""
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def sent_messages(self) -> str:
        """The message contents of every chat request, decoded (JSON escapes undone)."""
        return "\n".join(
            str(m.get("content", "")) for r in self.chat_requests() for m in r.json()["messages"]
        )
