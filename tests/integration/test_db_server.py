"""The real weaviate-server run by docduet: CLI lifecycle, crashes, connect, replication."""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
import weaviate
from weaviate.classes.config import Configure, ConsistencyLevel, DataType, Property
from weaviate.classes.data import DataObject
from weaviate.classes.init import Auth
from weaviate.proto.v1 import search_get_pb2, weaviate_pb2_grpc

from backends.weaviate.client import connect, open_client
from backends.weaviate_server.apikey import read_api_key
from backends.weaviate_server.cluster import LocalCluster
from backends.weaviate_server.ports import MAX_EMBEDDED_HTTP_PORT, NodePorts, all_free, find_free_node_ports
from backends.weaviate_server.server import NodeConfig, WeaviateServer, embedded_server
from core.errors import BackendUnavailableError
from core.settings import Settings
from docduet.cli import build_parser

pytestmark = pytest.mark.integration

START_TIMEOUT_S = 120.0


def cli(*argv: str) -> int:
    args = build_parser().parse_args(["db", *argv])
    return int(args.run(args))


def find_free_embedded_ports(host: str = "127.0.0.1") -> NodePorts:
    """Free HTTP + gRPC ports (gRPC = HTTP + 1) whose derived cluster ports are free as well."""
    for http in random.sample(range(15_000, MAX_EMBEDDED_HTTP_PORT), k=400):
        ports = NodePorts.derived(http, http + 1)
        if all_free(host, [ports]):
            return ports
    raise AssertionError(f"no free set of embedded Weaviate ports on {host}")


@pytest.fixture
def embedded_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, weaviate_binary: Path
) -> Iterator[Settings]:
    """Environment for docduet's embedded server on free ports; stops it afterwards."""
    ports = find_free_embedded_ports()
    for name in ("WEAVIATE_URL", "DOCDUET_WEAVIATE_URL", "WEAVIATE_GRPC_URL", "WEAVIATE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "DOCDUET_DATA_DIR": tmp_path / "data",
        "DOCDUET_CACHE_DIR": tmp_path / "cache",
        "DOCDUET_WEAVIATE_BINARY": weaviate_binary,
        "DOCDUET_WEAVIATE_HTTP_PORT": ports.http,
        "DOCDUET_WEAVIATE_GRPC_PORT": ports.grpc,
        "DOCDUET_WEAVIATE_STARTUP_TIMEOUT_S": START_TIMEOUT_S,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))
    settings = Settings()
    try:
        yield settings
    finally:
        embedded_server(settings).stop(timeout=30)


def status_json(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    code = cli("status", "--json")
    return code, json.loads(capsys.readouterr().out)


def test_cli_lifecycle(embedded_env: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli("start") == 0
    assert "started at" in capsys.readouterr().err
    code, state = status_json(capsys)
    assert code == 0 and state["running"] is True and state["ready"] is True
    assert state["version"] == embedded_env.weaviate.weaviate_version
    pid = state["pid"]
    assert isinstance(pid, int) and os.getsid(pid) != os.getsid(0)  # detached from the CLI
    assert (embedded_env.paths.data_dir / "weaviate.pid").read_text().strip() == str(pid)

    assert cli("start") == 0  # idempotent
    assert "already running" in capsys.readouterr().err
    assert status_json(capsys)[1]["pid"] == pid
    upgraded = embedded_server(embedded_env.replace(weaviate_version="9.9.9"))
    expected = f"running {embedded_env.weaviate.weaviate_version} but 9.9.9 is configured"
    assert expected in str(upgraded.status().detail)

    assert cli("stop") == 0
    assert f"stopped (was pid {pid})" in capsys.readouterr().err
    code, state = status_json(capsys)
    assert code == 1 and state["running"] is False and state["ready"] is False
    assert not (embedded_env.paths.data_dir / "weaviate.pid").exists()
    assert cli("stop") == 0
    assert "was not running" in capsys.readouterr().err


def http_status(url: str, authorization: str | None = None) -> int:
    headers = {"Authorization": authorization} if authorization else {}
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return e.code


def grpc_search(port: int, collection: str, api_key: str | None) -> int:
    """Objects found by a raw gRPC Search (what the client's queries use), with or without key."""
    request = search_get_pb2.SearchRequest(
        collection=collection, limit=5, uses_123_api=True, uses_125_api=True, uses_127_api=True
    )
    metadata = [("authorization", f"Bearer {api_key}")] if api_key else None
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        reply = weaviate_pb2_grpc.WeaviateStub(channel).Search(request, timeout=10, metadata=metadata)
    return len(reply.results)


def test_embedded_server_admits_only_its_api_key(embedded_env: Settings) -> None:
    server = embedded_server(embedded_env)
    with open_client(embedded_env) as client:  # autostarts it; authenticated with the key file
        secrets = client.collections.create(
            "Secrets",
            vector_config=Configure.Vectors.self_provided(),
            properties=[Property(name="text", data_type=DataType.TEXT)],
        )
        secrets.data.insert({"text": "salaries"}, vector=[0.1, 0.2])
        assert len(secrets.query.fetch_objects().objects) == 1  # over gRPC
    key = server.api_key()
    assert key is not None
    url, ports = server.url, server.config.ports
    assert http_status(f"{url}/v1/.well-known/ready") == 200  # readiness needs no key
    assert http_status(f"{url}/v1/.well-known/live") == 200
    assert http_status(f"{url}/v1/schema") == 401
    assert http_status(f"{url}/v1/objects", "Bearer not-the-key-not-the-key") == 401
    assert http_status(f"{url}/v1/schema", f"Bearer {key}") == 200
    with pytest.raises(grpc.RpcError, match="unauthorized"):
        grpc_search(ports.grpc, "Secrets", None)
    with pytest.raises(grpc.RpcError, match="unauthorized"):
        grpc_search(ports.grpc, "Secrets", "not-the-key-not-the-key")
    assert grpc_search(ports.grpc, "Secrets", key) == 1
    # The cluster data API (objects, shards) listens on every interface: basic auth with the key.
    data = f"http://127.0.0.1:{ports.data}"
    assert http_status(f"{data}/nodes/status") == 401
    basic = base64.b64encode(f"docduet:{key}".encode()).decode()
    assert http_status(f"{data}/nodes/status", f"Basic {basic}") == 200
    with pytest.raises(weaviate.exceptions.UnexpectedStatusCodeError, match="401"):
        weaviate.connect_to_custom(
            http_host="127.0.0.1", http_port=ports.http, http_secure=False,
            grpc_host="127.0.0.1", grpc_port=ports.grpc, grpc_secure=False, skip_init_checks=True,
        )  # fmt: skip


def test_api_key_file_is_private_reused_and_never_shown(
    embedded_env: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = embedded_env.paths.data_dir / "weaviate.key"
    assert cli("start") == 0
    key = read_api_key(key_file)
    assert key is not None and len(key) >= 40
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert cli("status") == 0 and cli("status", "--json") == 0
    assert cli("stop") == 0 and cli("start") == 0
    assert read_api_key(key_file) == key  # reused across restarts
    with open_client(embedded_env, autostart=False) as client:
        assert client.get_meta()["version"] == embedded_env.weaviate.weaviate_version
    shown = capsys.readouterr()
    log_text = (embedded_env.paths.log_dir / "weaviate.log").read_text()
    assert "started at" in shown.err and "is ready" in shown.out and "Serving weaviate" in log_text
    assert key not in shown.out + shown.err + log_text

    other = "another-key-" + "q" * 30  # the file changed while the server runs
    key_file.write_text(other + "\n")
    with pytest.raises(BackendUnavailableError, match=r"refused docduet's credentials.*db stop"):
        connect(embedded_env, autostart=False)
    assert cli("status") == 1
    assert "rejects the API key" in capsys.readouterr().out
    assert cli("stop") == 0 and cli("start") == 0  # a restart takes the new key
    with open_client(embedded_env, autostart=False) as client:
        assert client.is_ready()


def test_connect_autostarts_the_embedded_server(embedded_env: Settings) -> None:
    assert embedded_server(embedded_env).pid() is None
    with open_client(embedded_env) as client:
        assert client.is_ready()
        assert client.get_meta()["version"] == embedded_env.weaviate.weaviate_version
    assert embedded_server(embedded_env).status().ready  # keeps running for the next command


def test_killed_server_is_detected_and_restarted(tmp_path: Path, weaviate_binary: Path) -> None:
    server = WeaviateServer(
        NodeConfig(
            binary=weaviate_binary,
            data_dir=tmp_path / "data",
            log_file=tmp_path / "weaviate.log",
            pid_file=tmp_path / "weaviate.pid",
            ports=find_free_node_ports()[0],
            stop_with_pid=os.getpid(),
            api_key_file=tmp_path / "weaviate.key",
        )
    )
    try:
        assert server.start(timeout=START_TIMEOUT_S) is True
        first = server.pid()
        assert first is not None
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while server.pid() is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        state = server.status()
        assert (state.running, state.ready, state.pid) == (False, False, None)
        assert server.config.pid_file.exists()  # stale, until the next start cleans it up
        key = server.api_key()
        assert server.start(timeout=START_TIMEOUT_S) is True
        assert server.pid() not in (None, first) and server.status().ready
        assert server.api_key() == key is not None  # same key after the restart
    finally:
        server.stop(timeout=30)


def test_connect_to_external_url(settings: Settings) -> None:
    with open_client(settings, autostart=False) as client:
        assert client.get_meta()["version"] == settings.weaviate.weaviate_version
        notes = client.collections.create(
            settings.weaviate.collection,
            vector_config=Configure.Vectors.self_provided(),
            properties=[Property(name="text", data_type=DataType.TEXT)],
        )
        notes.data.insert({"text": "hello"}, vector=[0.1, 0.2, 0.3])
        found = notes.query.near_vector([0.1, 0.2, 0.3], limit=1)  # over gRPC
        assert [o.properties["text"] for o in found.objects] == ["hello"]
    assert not client.is_connected()  # open_client closed it


def test_db_status_reports_external_server(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WEAVIATE_URL", settings.weaviate.weaviate_url or "")
    monkeypatch.setenv("WEAVIATE_GRPC_URL", settings.weaviate.weaviate_grpc_url or "")
    for name in ("WEAVIATE_API_KEY", "DOCDUET_WEAVIATE_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    code, state = status_json(capsys)
    assert code == 1 and "refused docduet's credentials" in str(state["detail"])  # no key
    assert settings.weaviate.weaviate_api_key is not None
    key = settings.weaviate.weaviate_api_key.get_secret_value()
    monkeypatch.setenv("WEAVIATE_API_KEY", key)
    assert cli("status") == 0
    assert key not in capsys.readouterr().out
    code, state = status_json(capsys)
    assert code == 0
    assert (state["external"], state["ready"], state["url"]) == (True, True, settings.weaviate.weaviate_url)
    assert state["version"] == settings.weaviate.weaviate_version


def test_wrong_grpc_port_fails_the_health_check(make_settings: Callable[..., Settings]) -> None:
    nothing = find_free_node_ports()[0].http
    with pytest.raises(BackendUnavailableError, match=r"not ready.*WEAVIATE_URL"):
        connect(make_settings(weaviate_grpc_url=f"127.0.0.1:{nothing}"))


@pytest.mark.slow
def test_replicated_collection_survives_a_node(tmp_path: Path, weaviate_binary: Path) -> None:
    """Two real nodes, replication factor 2: data written with ALL is readable with ONE from the
    surviving node after the node it was written through is stopped."""
    cluster = LocalCluster(weaviate_binary, tmp_path, size=2, stop_with_pid=os.getpid())
    with cluster:
        first, second = (node.config for node in cluster.nodes)
        with node_client(first) as client:
            assert sorted(n.name for n in client.cluster.nodes()) == ["node-00", "node-01"]
            docs = client.collections.create(
                "Replicated",
                replication_config=Configure.replication(factor=2),
                vector_config=Configure.Vectors.self_provided(),
                properties=[Property(name="text", data_type=DataType.TEXT)],
            )
            assert docs.config.get().replication_config.factor == 2
            objects = [DataObject({"text": f"doc {i}"}, vector=[i, 1.0, 0.5]) for i in range(20)]
            result = docs.with_consistency_level(ConsistencyLevel.ALL).data.insert_many(objects)
            assert not result.has_errors and len(result.uuids) == 20
        cluster.nodes[0].stop(timeout=30)
        with node_client(second) as client:
            docs = client.collections.use("Replicated").with_consistency_level(ConsistencyLevel.ONE)
            texts = {str(o.properties["text"]) for o in docs.query.fetch_objects(limit=100).objects}
            assert texts == {f"doc {i}" for i in range(20)}
            one = docs.query.fetch_object_by_id(result.uuids[7])
            assert one is not None and one.properties["text"] == "doc 7"


def node_client(config: NodeConfig) -> weaviate.WeaviateClient:
    key = read_api_key(config.api_key_file)
    assert key is not None
    return weaviate.connect_to_custom(
        http_host=config.client_host,
        http_port=config.ports.http,
        http_secure=False,
        grpc_host=config.client_host,
        grpc_port=config.ports.grpc,
        grpc_secure=False,
        auth_credentials=Auth.api_key(key),
        skip_init_checks=True,
    )
