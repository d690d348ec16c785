"""Several local weaviate-server nodes forming one real cluster (replication tests, demos)."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

from docduet.db.apikey import KEY_FILE_NAME, read_api_key
from docduet.db.ports import NodePorts, find_free_node_ports
from docduet.db.server import NodeConfig, WeaviateServer
from docduet.errors import BackendUnavailableError, ConfigError

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
) -> list[NodeConfig]:
    """One NodeConfig per port block; every node joins node 0 and all of them vote in Raft.

    All nodes share one API key file, ``root/weaviate.key`` (the first node to start makes it):
    clients and the nodes themselves (cluster data API) authenticate with it.
    """
    if not ports:
        raise ConfigError("A cluster needs at least one node.")
    if any(p.raft_rpc != p.raft + 1 for p in ports):
        raise ConfigError("Local cluster nodes need raft_rpc = raft + 1 (Weaviate's local rule).")
    raft_join = tuple(f"{node_name(i)}:{p.raft}" for i, p in enumerate(ports))
    seed = f"{host}:{ports[0].gossip}"
    return [
        NodeConfig(
            binary=binary,
            data_dir=root / node_name(i) / "data",
            log_file=root / node_name(i) / "weaviate.log",
            pid_file=root / node_name(i) / "weaviate.pid",
            ports=p,
            host=host,
            node_name=node_name(i),
            gossip_join=(seed,) if i else (),
            raft_join=raft_join,
            bootstrap_expect=len(ports),
            stop_with_pid=stop_with_pid,
            api_key_file=root / KEY_FILE_NAME,
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

    def api_key(self) -> str | None:
        """The key every node requires; None until the cluster first started."""
        return read_api_key(self.nodes[0].config.api_key_file)

    def start(self, timeout: float = 120.0) -> None:
        """Launch every node, then wait (bounded) until all are ready; on failure stop them all."""
        deadline = time.monotonic() + timeout
        try:
            for node in self.nodes:  # all must run before Raft can bootstrap
                node.launch()
            for node in self.nodes:
                node.wait_ready(max(1.0, deadline - time.monotonic()))
        except BackendUnavailableError:
            self.stop()
            raise
        log.info("local cluster of %d nodes ready", len(self.nodes))

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
