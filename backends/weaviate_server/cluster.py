"""Several local weaviate-server nodes forming one real cluster (replication tests, demos)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from backends.weaviate_server.apikey import KEY_FILE_NAME, read_api_key
from backends.weaviate_server.ports import NodePorts, find_free_node_ports
from backends.weaviate_server.server import NodeConfig, WeaviateServer
from core.errors import BackendUnavailableError, ConfigError

log = logging.getLogger(__name__)


def node_name(index: int) -> str:
    """``node-00``, ``node-01``…: fixed width, because Weaviate tells voters apart by substring."""
    return f"node-{index:02d}"


def cluster_configs(
    binary: Path,
    root: Path,
    ports: Sequence[NodePorts],
    *,
    host: str = "127.0.0.1",
    stop_with_pid: int | None = None,
    api_key_file: Path | None = None,
    log_dir: Path | None = None,
    version: str | None = None,
    extra_env: tuple[tuple[str, str], ...] = (),
) -> list[NodeConfig]:
    """One NodeConfig per port block; every node joins the others and all of them vote in Raft.

    Each node lists every other node to join, so any one of them can be restarted alone and
    find the cluster again (Weaviate retries joining while it sees fewer members than expected).

    All nodes share one API key file (default ``root/weaviate.key``; the first node to start
    makes it): clients and the nodes themselves (cluster data API) authenticate with it. Logs go
    to ``root/<node>/weaviate.log``, or ``log_dir/weaviate-<node>.log``.
    """
    if not ports:
        raise ConfigError("A cluster needs at least one node.")
    if any(p.raft_rpc != p.raft + 1 for p in ports):
        raise ConfigError("Local cluster nodes need raft_rpc = raft + 1 (Weaviate's local rule).")
    raft_join = tuple(f"{node_name(i)}:{p.raft}" for i, p in enumerate(ports))
    seeds = [f"{host}:{p.gossip}" for p in ports]
    return [
        NodeConfig(
            binary=binary,
            data_dir=root / node_name(i) / "data",
            log_file=(log_dir / f"weaviate-{node_name(i)}.log")
            if log_dir
            else (root / node_name(i) / "weaviate.log"),
            pid_file=root / node_name(i) / "weaviate.pid",
            ports=p,
            host=host,
            node_name=node_name(i),
            gossip_join=tuple(seed for j, seed in enumerate(seeds) if j != i),  # any restarts
            raft_join=raft_join,
            bootstrap_expect=len(ports),
            stop_with_pid=stop_with_pid,
            version=version,
            extra_env=extra_env,
            api_key_file=api_key_file or root / KEY_FILE_NAME,
        )
        for i, p in enumerate(ports)
    ]


class LocalCluster:
    """N nodes on free loopback ports under ``root``; as a context manager, stops them all."""

    def __init__(
        self,
        binary: Path,
        root: Path,
        size: int,
        *,
        host: str = "127.0.0.1",
        stop_with_pid: int | None = None,
    ) -> None:
        if size < 2:
            raise ConfigError("LocalCluster is for two or more nodes; use WeaviateServer for one.")
        ports = find_free_node_ports(host, count=size)
        configs = cluster_configs(binary, root, ports, host=host, stop_with_pid=stop_with_pid)
        self.nodes = [WeaviateServer(c) for c in configs]

    @classmethod
    def of(cls, configs: Sequence[NodeConfig]) -> LocalCluster:
        """A cluster of nodes configured elsewhere (see ``cluster_configs``)."""
        cluster = cls.__new__(cls)
        cluster.nodes = [WeaviateServer(c) for c in configs]
        return cluster

    def api_key(self) -> str | None:
        """The key every node requires; None until the cluster first started."""
        return read_api_key(self.nodes[0].config.api_key_file)

    def start(self, timeout: float = 120.0) -> list[str]:
        """Launch the nodes not running, then wait (bounded) until all are ready.

        Returns the names of the nodes it launched. On failure it stops those (only).
        """
        deadline = time.monotonic() + timeout
        launched: list[WeaviateServer] = []
        try:
            for node in self.nodes:  # all must run before Raft can bootstrap
                if node.launch():
                    launched.append(node)
            for node in self.nodes:
                node.wait_ready(max(1.0, deadline - time.monotonic()))
        except BackendUnavailableError:
            for node in launched:
                node.stop(timeout=10.0)
            raise
        log.info("local cluster of %d nodes ready", len(self.nodes))
        return [node.config.node_name for node in launched]

    def stop(self, timeout: float = 30.0) -> None:
        """Stop every node (SIGTERM, then SIGKILL after ``timeout``)."""
        for node in self.nodes:
            node.stop(timeout=timeout)

    def __enter__(self) -> LocalCluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
