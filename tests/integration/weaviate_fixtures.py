"""Pytest fixtures for a real weaviate-server (loaded by tests/conftest.py).

``weaviate_node``   one node for the whole session, on free loopback ports in a tmp data dir;
                    like every docduet node it requires an API key (no anonymous access).
``make_settings``   Settings pointing at it as an *external* server: ``weaviate_url`` is
                    ``http://127.0.0.1:<http>``, ``weaviate_grpc_url`` is ``127.0.0.1:<grpc>``
                    (a form ``backends.weaviate.client.parse_endpoint`` reads), ``weaviate_api_key``
                    the node's key; data and cache dirs under
                    the test's tmp dir; ``weaviate_binary`` the cached build; a collection name of
                    its own, so tests sharing the node never see each other's objects.
``settings``        ``make_settings()``.
``weaviate_client`` a client connected through ``backends.weaviate.client.open_client(settings)``.

Nothing starts until a test asks for one of them. A missing binary is built (``go install``,
minutes), never skipped.
"""

from __future__ import annotations

import functools
import os
import secrets
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from backends.weaviate_server.apikey import KEY_FILE_NAME, ensure_api_key
from backends.weaviate_server.binary import ensure_binary
from backends.weaviate_server.ports import find_free_node_ports
from backends.weaviate_server.server import NodeConfig, WeaviateServer
from core.settings import Settings

NODE_STARTUP_TIMEOUT_S = 120.0


@pytest.fixture(scope="session")
def weaviate_binary() -> Path:
    """The weaviate-server binary: DOCDUET_WEAVIATE_BINARY, the cached build, or a fresh build."""
    return ensure_binary(Settings())


@functools.cache
def session_api_key() -> str:
    """One random API key for every node this test session starts with ``node_config``."""
    return secrets.token_urlsafe(32)


def node_config(binary: Path, root: Path) -> NodeConfig:
    """A single node on free loopback ports with everything under ``root``.

    Its key file holds ``session_api_key()``, so Settings made by ``make_settings`` reach it too.
    """
    ensure_api_key(root / KEY_FILE_NAME, session_api_key())
    return NodeConfig(
        binary=binary,
        data_dir=root / "data",
        log_file=root / "weaviate.log",
        pid_file=root / "weaviate.pid",
        ports=find_free_node_ports("127.0.0.1")[0],
        stop_with_pid=os.getpid(),  # dies with the session, even a killed one
        api_key_file=root / KEY_FILE_NAME,
    )


@pytest.fixture(scope="session")
def weaviate_node(
    weaviate_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WeaviateServer]:
    """One real weaviate-server for the whole session, stopped at the end."""
    server = WeaviateServer(node_config(weaviate_binary, tmp_path_factory.mktemp("weaviate")))
    server.start(timeout=NODE_STARTUP_TIMEOUT_S)
    try:
        yield server
    finally:
        server.stop(timeout=30.0)


@pytest.fixture
def make_settings(
    weaviate_node: WeaviateServer, weaviate_binary: Path, tmp_path: Path
) -> Callable[..., Settings]:
    """Factory: Settings aimed at the session node; keyword arguments override fields."""
    node = weaviate_node.config

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "weaviate_url": weaviate_node.url,
            "weaviate_grpc_url": f"{node.client_host}:{node.ports.grpc}",
            "weaviate_api_key": weaviate_node.api_key(),
            "weaviate_binary": weaviate_binary,
            "data_dir": tmp_path / "data",
            "cache_dir": tmp_path / "cache",
            "collection": f"Test_{uuid.uuid4().hex[:12]}",
        }
        return Settings(**(values | overrides))

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """Settings for one test, pointing at the session's Weaviate node."""
    return make_settings()


@pytest.fixture
def weaviate_client(settings: Settings) -> Iterator[Any]:
    """A connected weaviate-client for ``settings``; closed after the test."""
    from backends.weaviate.client import open_client

    with open_client(settings) as client:
        yield client
