"""Fixtures for integration tests: a private copy of the corpus, reference ingests, own servers."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from llm_server import (  # the loopback model servers: defined here once, so one per session
    failing_llm_server,
    gguf_path,
    llama_server_port,
    llm_recorder,
    recording_proxy,
    silent_llm_server,
)
from weaviate_fixtures import (  # the real weaviate-server fixtures, for this tier only
    make_settings,
    node_config,
    settings,
    weaviate_binary,
    weaviate_client,
    weaviate_node,
)

from backends.weaviate_server.server import WeaviateServer
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import run_ingest

REPO = Path(__file__).resolve().parents[2]
__all__ = [
    "failing_llm_server",
    "gguf_path",
    "llama_server_port",
    "llm_recorder",
    "make_settings",
    "recording_proxy",
    "settings",
    "silent_llm_server",
    "weaviate_binary",
    "weaviate_client",
    "weaviate_node",
]


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of corpora/ (tests edit and delete files in it)."""
    return Path(shutil.copytree(REPO / "corpora", tmp_path / "corpus"))


@pytest.fixture
def index_settings(settings: Settings) -> Settings:
    """Settings with a collection of this test's own on the session's Weaviate."""
    return settings


@pytest.fixture
def reference_ids(make_settings: Callable[..., Settings], corpus: Path) -> dict[str, set[str]]:
    """The chunk ids a clean, uninterrupted ingest of ``corpus`` produces."""
    from tests_helpers import chunk_ids

    clean = make_settings()
    summary = run_ingest(clean, [corpus], progress=NullProgress())
    assert summary.failed == []
    return chunk_ids(clean)


class KillableServer(WeaviateServer):
    """A node the test may kill -9 (like a crash) and start again on the same data."""

    def kill(self) -> None:
        pid = self.pid()
        assert pid is not None, "server is not running"
        os.kill(pid, signal.SIGKILL)
        for _ in range(100):
            if not self.is_ready():
                return
            import time

            time.sleep(0.05)


@pytest.fixture
def private_server(
    weaviate_binary: Path, tmp_path: Path, make_settings: Callable[..., Settings]
) -> Iterator[tuple[Settings, Any]]:
    """A weaviate-server of this test's own, and Settings pointing at it."""
    server = KillableServer(node_config(weaviate_binary, tmp_path / "private"))
    server.start(timeout=120.0)
    ports = server.config.ports
    settings = make_settings(
        weaviate_url=server.url, weaviate_grpc_url=f"{server.config.client_host}:{ports.grpc}"
    )
    try:
        yield settings, server
    finally:
        server.stop(timeout=30.0)
