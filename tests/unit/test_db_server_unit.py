"""backends.weaviate_server without a Weaviate: addresses, ports, environment, binary resolution, supervision.

Fake ``go`` and fake server binaries are small shell scripts: they stand in for the external
programs, while the code under test (build driver, process supervisor) runs for real.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from db_helpers import make_settings, script

from backends.weaviate.client import Endpoint, connect, parse_endpoint
from backends.weaviate_server.apikey import ensure_api_key, read_api_key
from backends.weaviate_server.cluster import cluster_configs, node_name
from backends.weaviate_server.node_env import build_args, build_env
from backends.weaviate_server.ports import NodePorts, find_free_node_ports
from backends.weaviate_server.server import NodeConfig, WeaviateServer, embedded_server
from core.errors import BackendUnavailableError, ConfigError
from docduet.cli import build_parser

# --- addresses --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "grpc", "expected"),
    [
        (
            "http://localhost:8080",
            None,
            Endpoint("localhost", 8080, False, "localhost", 50051, False),
        ),
        (
            "https://w.example.com",
            None,
            Endpoint("w.example.com", 443, True, "w.example.com", 50051, True),
        ),
        (
            "http://10.0.0.5",
            "10.0.0.6:6000",
            Endpoint("10.0.0.5", 80, False, "10.0.0.6", 6000, False),
        ),
        ("https://a.io", "grpc-a.io", Endpoint("a.io", 443, True, "grpc-a.io", 50051, True)),
        ("https://a.io", "grpcs://grpc-a.io", Endpoint("a.io", 443, True, "grpc-a.io", 443, True)),
        ("http://a:1", "grpc://b:2", Endpoint("a", 1, False, "b", 2, False)),
        ("http://a:1", "https://b:3", Endpoint("a", 1, False, "b", 3, True)),
        ("http://[::1]:8080", "[::1]:50051", Endpoint("::1", 8080, False, "::1", 50051, False)),
    ],
)
def test_parse_endpoint(url: str, grpc: str | None, expected: Endpoint) -> None:
    assert parse_endpoint(url, grpc) == expected


@pytest.mark.parametrize(
    ("url", "grpc"),
    [("localhost:8080", None), ("ftp://a", None), ("http://", None), ("http://a:99999", None),
     ("http://a", "tcp://b:1"), ("http://a", "b:notaport")],
)  # fmt: skip
def test_parse_endpoint_rejects_bad_addresses(url: str, grpc: str | None) -> None:
    with pytest.raises(ConfigError, match="WEAVIATE_"):
        parse_endpoint(url, grpc)


def test_endpoint_url_round_trips() -> None:
    assert parse_endpoint("https://x.io:8443").url == "https://x.io:8443"
    assert parse_endpoint("http://[::1]:80").url == "http://[::1]:80"


# --- ports ------------------------------------------------------------------------------------


def test_cluster_ports_are_derived_from_the_http_port() -> None:
    ports = NodePorts.derived(8079, 50079)
    assert ports.as_dict() == {
        "http": 8079, "grpc": 50079, "gossip": 18079, "data": 28079, "raft": 38079,
        "raft_rpc": 48079,
    }  # fmt: skip


def test_neighbouring_http_ports_never_share_a_port() -> None:
    used = [set(NodePorts.derived(p, 50_000 + p).as_dict().values()) for p in range(8070, 8090)]
    for i, a in enumerate(used):
        for b in used[i + 1 :]:
            assert not a & b


@pytest.mark.parametrize(("http", "grpc"), [(80, 50079), (30000, 50079), (8079, 18079)])
def test_derived_ports_out_of_range_or_colliding_are_config_errors(http: int, grpc: int) -> None:
    with pytest.raises(ConfigError, match="DOCDUET_WEAVIATE_"):
        NodePorts.derived(http, grpc)


def test_free_node_port_blocks_do_not_overlap() -> None:
    blocks = find_free_node_ports(count=3)
    ports = [p for b in blocks for p in b.as_dict().values()]
    assert len(set(ports)) == 18
    assert all(b.raft_rpc == b.raft + 1 for b in blocks)


# --- environment and command line ------------------------------------------------------------


def config(tmp_path: Path, **kw: object) -> NodeConfig:
    values: dict[str, object] = {
        "binary": tmp_path / "weaviate-server",
        "data_dir": tmp_path / "data",
        "log_file": tmp_path / "w.log",
        "pid_file": tmp_path / "w.pid",
        "ports": NodePorts.block(20000),
        "api_key_file": tmp_path / "w.key",
    }
    return NodeConfig(**(values | kw))  # type: ignore[arg-type]


KEY = "k_" + "x" * 30


def test_single_node_env(tmp_path: Path) -> None:
    stray = {"PATH": "/usr/bin", "CLUSTER_JOIN": "evil:1", "RAFT_JOIN": "x", "ENABLE_MODULES": "y",
             "AUTHENTICATION_APIKEY_USERS": "eve", "AUTHORIZATION_RBAC_ENABLED": "true"}  # fmt: skip
    env = build_env(config(tmp_path), KEY, base_env=stray)
    assert env["PATH"] == "/usr/bin"
    assert env["PERSISTENCE_DATA_PATH"] == str(tmp_path / "data")
    assert env["DEFAULT_VECTORIZER_MODULE"] == "none"
    assert env["ENABLE_MODULES"] == ""
    assert not [k for k in env if k.startswith("AUTHORIZATION_")]
    assert env["CLUSTER_HOSTNAME"] == "docduet"
    assert env["RAFT_JOIN"] == "docduet:20004"
    assert env["RAFT_BOOTSTRAP_EXPECT"] == "1"
    assert (env["GRPC_PORT"], env["CLUSTER_GOSSIP_BIND_PORT"], env["CLUSTER_DATA_BIND_PORT"]) == (
        "20001", "20002", "20003",
    )  # fmt: skip
    assert (env["RAFT_PORT"], env["RAFT_INTERNAL_RPC_PORT"]) == ("20004", "20005")
    assert env["CLUSTER_BIND_ADDR"] == "127.0.0.1"
    assert env["DISABLE_TELEMETRY"] == env["GO_PROFILING_DISABLE"] == "true"
    assert "CLUSTER_JOIN" not in env and "CLUSTER_IN_LOCALHOST" not in env


def test_env_always_requires_the_api_key(tmp_path: Path) -> None:
    weaken = (("AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED", "true"),
              ("AUTHENTICATION_APIKEY_ALLOWED_KEYS", "guessable"), ("LOG_LEVEL", "debug"))  # fmt: skip
    cfg = config(tmp_path, extra_env=weaken)
    env = build_env(cfg, KEY, base_env={})
    assert env["LOG_LEVEL"] == "debug"  # extra_env applies...
    assert env["AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED"] == "false"  # ...but cannot weaken auth
    assert env["AUTHENTICATION_APIKEY_ENABLED"] == "true"
    assert (env["AUTHENTICATION_APIKEY_ALLOWED_KEYS"], env["AUTHENTICATION_APIKEY_USERS"]) == (
        KEY, "docduet",
    )  # fmt: skip
    assert (env["CLUSTER_BASIC_AUTH_USERNAME"], env["CLUSTER_BASIC_AUTH_PASSWORD"]) == ("docduet", KEY)
    assert not any(KEY in arg for arg in build_args(cfg))  # argv is world-readable (ps)
    assert KEY not in repr(cfg)


# --- the API key file -------------------------------------------------------------------------


def test_api_key_file_is_made_once_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "new" / "weaviate.key"
    assert read_api_key(path) is None
    key = ensure_api_key(path)
    assert len(key) >= 40 and path.read_text() == key + "\n"
    assert path.stat().st_mode & 0o777 == 0o600
    assert ensure_api_key(path) == key == read_api_key(path)
    assert ensure_api_key(path, "another_key_" + "y" * 20) == key  # an existing key wins
    assert ensure_api_key(tmp_path / "other.key") != key  # random
    assert sorted(p.name for p in path.parent.iterdir()) == ["weaviate.key"]  # no temp files left


def test_api_key_file_readable_by_others_is_restricted(tmp_path: Path) -> None:
    path = tmp_path / "weaviate.key"
    ensure_api_key(path, KEY)
    path.chmod(0o644)
    assert read_api_key(path) == KEY
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("content", ["", "\n", "short", "has,comma" + "z" * 20, "sp ace" + "z" * 20])
def test_invalid_api_key_file_says_delete_and_restart(tmp_path: Path, content: str) -> None:
    path = tmp_path / "weaviate.key"
    path.write_text(content)
    with pytest.raises(ConfigError, match="delete the file and restart"):
        read_api_key(path)
    with pytest.raises(ConfigError):
        ensure_api_key(path)


def test_wildcard_host_binds_everywhere_and_is_dialled_on_loopback(tmp_path: Path) -> None:
    cfg = config(tmp_path, host="0.0.0.0")
    assert "CLUSTER_BIND_ADDR" not in build_env(cfg, KEY, base_env={})
    assert cfg.url == "http://127.0.0.1:20000"


def test_args(tmp_path: Path) -> None:
    assert build_args(config(tmp_path)) == [
        str(tmp_path / "weaviate-server"), "--host", "127.0.0.1", "--port", "20000",
        "--scheme", "http",
    ]  # fmt: skip


def test_cluster_env_joins_all_nodes(tmp_path: Path) -> None:
    blocks = [NodePorts.block(20000), NodePorts.block(20010), NodePorts.block(20020)]
    configs = cluster_configs(tmp_path / "bin", tmp_path, blocks)
    envs = [build_env(c, KEY, base_env={}) for c in configs]
    assert {c.api_key_file for c in configs} == {tmp_path / "weaviate.key"}  # one key for all
    assert {e["RAFT_JOIN"] for e in envs} == {"node-00:20004,node-01:20014,node-02:20024"}
    assert {e["RAFT_BOOTSTRAP_EXPECT"] for e in envs} == {"3"}
    assert {e["CLUSTER_IN_LOCALHOST"] for e in envs} == {"true"}
    assert [e["CLUSTER_JOIN"] for e in envs] == [  # each joins the others: any may restart
        "127.0.0.1:20012,127.0.0.1:20022",
        "127.0.0.1:20002,127.0.0.1:20022",
        "127.0.0.1:20002,127.0.0.1:20012",
    ]
    assert len({e["PERSISTENCE_DATA_PATH"] for e in envs}) == 3


def test_node_names_are_never_substrings_of_each_other() -> None:
    names = [node_name(i) for i in range(40)]
    assert not [(a, b) for a in names for b in names if a != b and a in b]


def test_embedded_server_follows_settings(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, weaviate_http_port=9100, weaviate_grpc_port=9101)
    cfg = embedded_server(settings).config
    assert cfg.data_dir == tmp_path / "data" / "weaviate"
    assert cfg.log_file == tmp_path / "data" / "logs" / "weaviate.log"
    assert cfg.pid_file == tmp_path / "data" / "weaviate.pid"
    assert cfg.binary == tmp_path / "cache" / "weaviate" / "1.39.0" / "weaviate-server"
    assert (cfg.ports.http, cfg.ports.grpc, cfg.ports.gossip) == (9100, 9101, 19100)
    assert cfg.api_key_file == tmp_path / "data" / "weaviate.key"
    assert not cfg.api_key_file.exists()  # made by the first start, not by inspecting


# --- the supervisor, with fake server binaries ------------------------------------------------


def fake_server(tmp_path: Path, body: str) -> WeaviateServer:
    binary = script(tmp_path / "weaviate-server", body)
    ports = find_free_node_ports()[0]
    return WeaviateServer(config(tmp_path, binary=binary, ports=ports))


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    server = fake_server(tmp_path, "exit 0\n")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", server.config.ports.http))
        busy.listen()
        with pytest.raises(BackendUnavailableError, match=f"Port {server.config.ports.http} .http"):
            server.start(timeout=5)
    assert not server.config.pid_file.exists()


def test_missing_binary_says_run_db_build(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="docduet db build"):
        WeaviateServer(config(tmp_path)).start(timeout=1)


def test_server_dying_at_start_reports_its_log(tmp_path: Path) -> None:
    server = fake_server(tmp_path, 'echo "panic: cannot open data dir"\nexit 3\n')
    with pytest.raises(BackendUnavailableError, match="exited during start-up") as err:
        server.start(timeout=10)
    assert "panic: cannot open data dir" in str(err.value)
    assert not server.config.pid_file.exists()


def test_server_never_ready_is_stopped_after_the_timeout(tmp_path: Path) -> None:
    server = fake_server(tmp_path, "trap 'exit 0' TERM\nwhile :; do sleep 0.1; done\n")
    with pytest.raises(BackendUnavailableError, match=r"not ready .* after 1 s"):
        server.start(timeout=1)
    assert server.pid() is None and not server.config.pid_file.exists()


def test_running_process_is_detached_and_stoppable(tmp_path: Path) -> None:
    server = fake_server(tmp_path, "trap 'exit 0' TERM\nwhile :; do sleep 0.1; done\n")
    assert server.launch() is True
    pid = server.pid()
    assert pid is not None and os.getsid(pid) != os.getsid(0)  # own session: survives the CLI
    assert server.launch() is False  # already running: no second process
    key = read_api_key(server.config.api_key_file)
    assert key is not None and server.config.api_key_file.stat().st_mode & 0o777 == 0o600
    state = server.status()
    assert (state.running, state.ready, state.pid) == (True, False, pid)
    assert server.stop(timeout=5) is True
    assert server.pid() is None and server.stop() is False


def test_node_gets_the_key_of_its_key_file_at_every_start(tmp_path: Path) -> None:
    body = 'echo "$AUTHENTICATION_APIKEY_ALLOWED_KEYS" > seen_key\ntrap "exit 0" TERM\n'
    body += "while :; do sleep 0.1; done\n"
    server = fake_server(tmp_path, body)
    seen = server.config.data_dir / "seen_key"  # the node runs in its data dir
    keys = []
    for _ in range(2):
        seen.unlink(missing_ok=True)
        server.launch()
        deadline = time.monotonic() + 10
        while not seen.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        keys.append(seen.read_text().strip())
        assert server.stop(timeout=5) is True
    assert keys[0] == keys[1] == read_api_key(server.config.api_key_file)


def test_stale_and_foreign_pid_files_mean_not_running(tmp_path: Path) -> None:
    server = fake_server(tmp_path, "exit 0\n")
    done = subprocess.Popen(["true"])
    done.wait()
    for pid in (done.pid, os.getpid()):  # a dead process; a live one that is not weaviate
        server.config.pid_file.write_text(f"{pid}\n")
        assert server.pid() is None
        assert server.status().running is False
    assert server.stop() is False
    assert not server.config.pid_file.exists()


def test_stop_escalates_to_sigkill(tmp_path: Path) -> None:
    server = fake_server(tmp_path, "trap '' TERM\nwhile :; do sleep 0.1; done\n")
    server.launch()
    pid = server.pid()
    assert pid is not None
    start = time.monotonic()
    assert server.stop(timeout=0.5) is True
    assert time.monotonic() - start < 5
    assert gone_or_zombie(pid)


def gone_or_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"  # killed, not yet reaped by init


# --- connect and the CLI without a server -----------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_connect_to_nothing_says_check_weaviate_url(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, weaviate_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(BackendUnavailableError, match="check WEAVIATE_URL"):
        connect(settings)


def test_embedded_without_autostart_says_db_start(tmp_path: Path) -> None:
    with pytest.raises(BackendUnavailableError, match="docduet db start"):
        connect(make_settings(tmp_path), autostart=False)


def cli(*argv: str) -> int:
    args = build_parser().parse_args(["db", *argv])
    return int(args.run(args))


def test_cli_with_external_url_does_not_manage_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCDUET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WEAVIATE_URL", f"http://127.0.0.1:{free_port()}")
    assert cli("start") == 0 and cli("stop") == 0
    assert capsys.readouterr().err.count("external Weaviate is configured") == 2
    assert not (tmp_path / "data").exists()
    assert cli("status", "--json") == 1
    state = json.loads(capsys.readouterr().out)
    assert (state["external"], state["ready"], state["pid"]) == (True, False, None)
    assert "WEAVIATE_URL" in state["detail"]


def test_cli_status_of_stopped_embedded_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOCDUET_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("WEAVIATE_URL", raising=False)
    monkeypatch.delenv("DOCDUET_WEAVIATE_URL", raising=False)
    assert cli("status") == 1
    assert "not running" in capsys.readouterr().out
    assert cli("stop") == 0
    assert "was not running" in capsys.readouterr().err


def test_the_unit_tier_refuses_to_run_a_server_binary_it_did_not_write(tmp_path: Path) -> None:
    server = WeaviateServer(config(tmp_path, binary=Path("/usr/bin/true")))
    with pytest.raises(AssertionError, match="tests/integration"):
        server.launch()
