"""Issue #10 item 6: what docduet and its weaviate-server write is readable by their owner only."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from weaviate_fixtures import node_config

from backends.weaviate_server.server import WeaviateServer

pytestmark = pytest.mark.integration


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)  # what many servers have: new files readable by everyone
    try:
        yield
    finally:
        os.umask(old)


def test_the_weaviate_data_dir_is_0700_and_its_files_0600(
    weaviate_binary: Path, tmp_path: Path, open_umask: None
) -> None:
    server = WeaviateServer(node_config(weaviate_binary, tmp_path / "node"))
    server.start(timeout=120.0)
    try:
        config = server.config
        import weaviate
        from weaviate.classes.init import Auth

        with weaviate.connect_to_local(
            host=config.client_host,
            port=config.ports.http,
            grpc_port=config.ports.grpc,
            auth_credentials=Auth.api_key(server.api_key()),
        ) as client:
            client.collections.create("AtRest")  # the node writes schema and shard files
    finally:
        server.stop(timeout=30.0)
    data = config.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE(config.log_file.stat().st_mode) == 0o600
    written = [p for p in data.rglob("*") if not p.is_symlink()]
    assert written, "the node wrote nothing?"
    too_open = [f"{p} {stat.S_IMODE(p.stat().st_mode):o}" for p in written if p.stat().st_mode & 0o077]
    assert too_open == []
