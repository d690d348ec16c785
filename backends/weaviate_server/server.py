"""One weaviate-server process, run and supervised by docduet (no Docker).

The process is detached (its own session), so it outlives the command that started it; a pid file
and ``GET /v1/.well-known/ready`` (which needs no credentials) tell later commands whether it runs
and serves. Every node requires the API key kept in its ``api_key_file`` (see ``apikey``).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backends.weaviate_server.apikey import KEY_FILE_NAME, ensure_api_key, read_api_key
from backends.weaviate_server.binary import configured_binary
from backends.weaviate_server.node_env import build_args, build_env
from backends.weaviate_server.ports import NodePorts, check_ports_free
from backends.weaviate_server.process import (
    alive,
    prepare_storage,
    read_pid,
    send_signal,
    why_not_alive,
    write_atomic,
)
from core.errors import BackendUnavailableError
from core.settings import Settings

log = logging.getLogger(__name__)

EMBEDDED_NODE_NAME = "docduet"
_POLL_S = 0.25
_PORT_GRACE_S = 5.0
#: ``sh -c`` script: run the node ("$@") in the background, output appended to the log ($0),
#: print its pid. With an owner pid ($1, > 0) a watchdog sends the node SIGTERM once the owner
#: is gone, so nodes started by a test session die with it even when it is killed.
_LAUNCH = (
    'log=$0; owner=$1; shift; "$@" </dev/null >>"$log" 2>&1 & node=$!; echo $node; '
    '[ "$owner" -gt 0 ] && ( while kill -0 "$owner" && kill -0 "$node"; do sleep 1; done; '
    'kill "$node" ) </dev/null >/dev/null 2>&1 &'
)
_LOG_TAIL_LINES = 30
PRIVATE_UMASK = 0o077
"""The node creates its files 0600 and folders 0700, whatever the caller's umask."""


@dataclass(frozen=True)
class NodeConfig:
    """Everything one node needs: binary, storage, ports, cluster membership, log and pid files."""

    binary: Path
    data_dir: Path
    log_file: Path
    pid_file: Path
    ports: NodePorts
    host: str = "127.0.0.1"
    node_name: str = EMBEDDED_NODE_NAME
    gossip_join: tuple[str, ...] = ()
    """``host:gossip_port`` of nodes to join (CLUSTER_JOIN); empty for a single node."""
    raft_join: tuple[str, ...] = ()
    """``name:raft_port`` of the voters (RAFT_JOIN); empty means this node alone."""
    bootstrap_expect: int = 1
    version: str | None = None
    """The version the binary is expected to be; ``status`` flags a running node that differs."""
    query_defaults_limit: int = 25
    extra_env: tuple[tuple[str, str], ...] = ()
    stop_with_pid: int | None = None
    """Stop the node when this process exits (test sessions); None: run until stopped."""
    api_key_file: Path = field(kw_only=True)
    """The node's API key (made at first launch, mode 0600); nodes of one cluster share it."""

    @property
    def client_host(self) -> str:
        """The address clients dial: a wildcard bind address is reached over loopback."""
        return {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)

    @property
    def url(self) -> str:
        host = f"[{self.client_host}]" if ":" in self.client_host else self.client_host
        return f"http://{host}:{self.ports.http}"

    @property
    def multi_node(self) -> bool:
        return bool(self.gossip_join) or self.bootstrap_expect > 1


@dataclass(frozen=True)
class ServerStatus:
    """What ``docduet db status`` reports about a server."""

    running: bool
    pid: int | None
    url: str
    ready: bool
    data_dir: Path | None
    log_file: Path | None
    version: str | None
    external: bool = False
    detail: str | None = None
    """Why it is not ready, when known."""

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        return {k: str(v) if isinstance(v, Path) else v for k, v in out.items()}


class WeaviateServer:
    """Start, stop and inspect one weaviate-server node described by a NodeConfig."""

    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self._log_offset = 0

    @property
    def url(self) -> str:
        return self.config.url

    def start(self, timeout: float = 90.0) -> bool:
        """Start the node and wait until it is ready; False if it was already running (no-op)."""
        launched = self.launch()
        try:
            self.wait_ready(timeout)
        except BackendUnavailableError:
            if launched:
                self.stop(timeout=10.0)
            raise
        return launched

    def launch(self) -> bool:
        """Spawn the node without waiting for readiness; False if one is already running."""
        if self.pid() is not None:
            log.info("weaviate-server already running (pid %s)", self.pid())
            return False
        self._remove_pid_file()
        if not os.access(self.config.binary, os.X_OK):
            raise BackendUnavailableError(
                f"No weaviate-server binary at {self.config.binary}; run `docduet db build` "
                "(or set DOCDUET_WEAVIATE_BINARY)."
            )
        check_ports_free(self.config.host, self.config.ports, wait_s=_PORT_GRACE_S)
        prepare_storage(self.config.data_dir, self.config.log_file, self.config.pid_file)
        pid = self._spawn(ensure_api_key(self.config.api_key_file))
        write_atomic(self.config.pid_file, f"{pid}\n")
        log.info("weaviate-server %s started (pid %s)", self.config.node_name, pid)
        return True

    def _spawn(self, api_key: str) -> int:
        """Start the node through ``sh`` so it is not our child: it outlives us, init reaps it."""
        with open(self.config.log_file, "ab") as out:
            self._log_offset = out.tell()
            stamp = datetime.now(UTC).isoformat(timespec="seconds")
            out.write(f"--- docduet: starting {self.config.node_name} at {stamp}\n".encode())
        try:
            result = subprocess.run(
                ["/bin/sh", "-c", _LAUNCH, str(self.config.log_file),
                 str(self.config.stop_with_pid or 0), *build_args(self.config)],
                env=build_env(self.config, api_key), cwd=self.config.data_dir, stdin=subprocess.DEVNULL,
                capture_output=True, text=True, timeout=30, check=True, umask=PRIVATE_UMASK,
                start_new_session=True,  # no controlling terminal: survives the CLI and Ctrl-C
            )  # fmt: skip
            return int(result.stdout.strip())
        except (OSError, subprocess.SubprocessError, ValueError) as e:
            raise BackendUnavailableError(
                f"Could not launch {self.config.binary}: {e}; check the binary and {self.config.data_dir}."
            ) from e

    def wait_ready(self, timeout: float) -> None:
        """Block until ``/v1/.well-known/ready`` answers 200; raise if the node dies or stalls."""
        deadline = time.monotonic() + timeout
        while True:
            gone = self._why_not_running()
            if gone is not None:
                self._remove_pid_file()
                raise BackendUnavailableError(
                    f"weaviate-server {self.config.node_name} exited during start-up ({gone}); "
                    f"last lines of {self.config.log_file}:\n{self.log_tail()}"
                )
            if self.is_ready():
                return
            if time.monotonic() > deadline:
                raise BackendUnavailableError(
                    f"weaviate-server {self.config.node_name} was not ready at {self.url} after "
                    f"{timeout:.0f} s; raise DOCDUET_WEAVIATE_STARTUP_TIMEOUT_S or read "
                    f"{self.config.log_file}:\n{self.log_tail()}"
                )
            time.sleep(_POLL_S)

    def stop(self, timeout: float = 30.0) -> bool:
        """SIGTERM, wait up to ``timeout``, then SIGKILL; False if nothing was running."""
        pid = self.pid()
        if pid is None:
            self._remove_pid_file()
            return False
        send_signal(pid, signal.SIGTERM)
        if not self._wait_exit(pid, timeout):
            log.warning("weaviate-server pid %s ignored SIGTERM for %.0f s; killing it", pid, timeout)
            send_signal(pid, signal.SIGKILL)
            self._wait_exit(pid, 10.0)
        self._remove_pid_file()
        return True

    def _wait_exit(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while alive(pid, self.config.binary):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def pid(self) -> int | None:
        """The pid of the running node, or None (no pid file, or its process is gone)."""
        pid = read_pid(self.config.pid_file)
        return pid if pid is not None and alive(pid, self.config.binary) else None

    def _why_not_running(self) -> str | None:
        pid = read_pid(self.config.pid_file)
        if pid is None:
            return f"no pid in {self.config.pid_file}"
        return why_not_alive(pid, self.config.binary)

    def is_ready(self) -> bool:
        """Does ``/v1/.well-known/ready`` answer 200? (No credentials needed.)"""
        return _http_status(f"{self.url}/v1/.well-known/ready") == 200

    def api_key(self) -> str | None:
        """The key this node requires, None before its first launch made one."""
        return read_api_key(self.config.api_key_file)

    def status(self) -> ServerStatus:
        """A snapshot: process alive, ready, version from ``/v1/meta`` (with the API key)."""
        pid = self.pid()
        ready = pid is not None and self.is_ready()
        code, version = _meta(self.url, self.api_key()) if ready else (None, None)
        rejected = code in (401, 403)
        return ServerStatus(
            running=pid is not None, pid=pid, url=self.url, ready=ready and not rejected,
            data_dir=self.config.data_dir, log_file=self.config.log_file, version=version,
            detail=self._detail(pid, ready, version, rejected),
        )  # fmt: skip

    def _detail(self, pid: int | None, ready: bool, version: str | None, rejected: bool) -> str | None:
        if pid is None:
            return "not running"
        if not ready:
            return f"process {pid} is up but not ready yet; see {self.config.log_file}"
        if rejected:
            return (
                f"it rejects the API key in {self.config.api_key_file} (it was started with "
                "another one); `docduet db stop` then `docduet db start` restarts it with this key"
            )
        if self.config.version and version and version != self.config.version:
            return (
                f"running {version} but {self.config.version} is configured; "
                "`docduet db stop` then `docduet db start` switches to it"
            )
        return None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines the node logged since this object last started it."""
        try:
            with open(self.config.log_file, "rb") as f:
                f.seek(self._log_offset)
                text = f.read().decode(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _remove_pid_file(self) -> None:
        self.config.pid_file.unlink(missing_ok=True)


def embedded_server(settings: Settings, *, binary: Path | None = None) -> WeaviateServer:
    """docduet's own single node, configured from settings (binary: default configured/cached)."""
    config = NodeConfig(
        binary=binary or configured_binary(settings),
        data_dir=settings.paths.weaviate_data_dir,
        log_file=settings.paths.log_dir / "weaviate.log",
        pid_file=settings.paths.data_dir / "weaviate.pid",
        ports=NodePorts.derived(settings.weaviate.weaviate_http_port, settings.weaviate.weaviate_grpc_port),
        host=settings.weaviate.weaviate_host,
        version=settings.weaviate.weaviate_version,
        api_key_file=settings.paths.data_dir / KEY_FILE_NAME,
    )
    return WeaviateServer(config)


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with _NO_PROXY.open(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, ValueError):
        return None


def _meta(url: str, api_key: str | None) -> tuple[int | None, str | None]:
    """HTTP status and version from ``/v1/meta``; (None, None) when unreachable."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    request = urllib.request.Request(f"{url}/v1/meta", headers=headers)
    try:
        with _NO_PROXY.open(request, timeout=2.0) as response:
            return int(response.status), str(json.load(response).get("version"))
    except urllib.error.HTTPError as e:
        return e.code, None
    except (OSError, ValueError):
        return None, None
