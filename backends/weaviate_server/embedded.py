"""docduet's own Weaviate: one node, or a local cluster of N nodes on loopback (``--nodes N``).

Both layouts serve clients on the same ports (``DOCDUET_WEAVIATE_HTTP_PORT`` / ``_GRPC_PORT``
for the first node; node *i* of a cluster on those + *i*) and share one API key file, so a
command connects the same way to either. Their data lives apart: one node in
``DATA_DIR/weaviate``, a cluster in ``DATA_DIR/weaviate-cluster/node-NN`` with its size recorded in
``cluster.json`` (a Raft cluster cannot change its size by restarting with another count).
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

from backends.weaviate_server.apikey import KEY_FILE_NAME
from backends.weaviate_server.binary import configured_binary
from backends.weaviate_server.cluster import LocalCluster, cluster_configs
from backends.weaviate_server.ports import NodePorts, all_free
from backends.weaviate_server.process import write_atomic
from backends.weaviate_server.server import WeaviateServer, embedded_server
from core.errors import BackendUnavailableError, ConfigError
from core.settings import Settings

log = logging.getLogger(__name__)

CLUSTER_DIR = "weaviate-cluster"
LAYOUT_FILE = "cluster.json"
LOCAL_CLUSTER_ENV = (("ASYNC_REPLICATION_FREQUENCY", "5s"),)
"""A restarted node compares its data with the others every 5 s (Weaviate's default: 30 s): on
loopback with small data this costs little and a node catches up within seconds."""


def cluster_root(settings: Settings) -> Path:
    """Where the local cluster's nodes keep their data, pid files and size."""
    return settings.paths.data_dir / CLUSTER_DIR


#: Gossip/data and Raft/Raft-RPC pairs of a cluster's nodes sit this far above the HTTP port.
#: Unlike one node's layout (+10000..+40000), these stay below the kernel's ephemeral range
#: (32768+) for HTTP ports under ~30000: the live nodes keep reconnecting to a dead node's ports,
#: and on loopback such a connection can take the very port the node needs to restart on.
CLUSTER_OFFSETS = {"gossip": 1_000, "raft": 2_000}


def cluster_ports(http: int, grpc: int, count: int) -> list[NodePorts]:
    """Ports of a local cluster: node i serves on http + i and grpc + i; its gossip/data and
    Raft/Raft-RPC pairs are http + 1000 + 2i (+1) and http + 2000 + 2i (+1)."""
    gossip, raft = (http + CLUSTER_OFFSETS[k] for k in ("gossip", "raft"))
    ports = [
        NodePorts(http + i, grpc + i, gossip + 2 * i, gossip + 2 * i + 1, raft + 2 * i, raft + 2 * i + 1)
        for i in range(count)
    ]
    every = [port for p in ports for port in p.as_dict().values()]
    if len(set(every)) != len(every) or not all(1024 <= port <= 65_535 for port in every):
        raise ConfigError(
            f"DOCDUET_WEAVIATE_HTTP_PORT={http} and DOCDUET_WEAVIATE_GRPC_PORT={grpc} leave no room "
            f"for {count} nodes (node i uses HTTP+i, gRPC+i, HTTP+1000+2i.., HTTP+2000+2i..); "
            "choose ports further apart, e.g. 8079 and 50079."
        )
    return ports


def find_free_cluster_ports(count: int, host: str = "127.0.0.1") -> tuple[int, int]:
    """HTTP and gRPC ports (for tests) whose ``cluster_ports`` for ``count`` nodes are all free."""
    for http in random.sample(range(15_000, 25_000, 10), k=400):
        grpc = http + 5_000
        if all_free(host, cluster_ports(http, grpc, count)):
            return http, grpc
    raise BackendUnavailableError(f"No free ports on {host} for a local cluster of {count} nodes.")


def recorded_size(settings: Settings) -> int | None:
    """The node count the local cluster was created with, None when there is none yet."""
    try:
        return int(json.loads((cluster_root(settings) / LAYOUT_FILE).read_text())["nodes"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(
            f"{cluster_root(settings) / LAYOUT_FILE} is unreadable ({e}); restore it, or delete "
            f"{cluster_root(settings)} to start a new, empty cluster"
        ) from e


def local_cluster(
    settings: Settings, size: int, *, binary: Path | None = None, stop_with_pid: int | None = None
) -> LocalCluster:
    """The local cluster of ``size`` nodes described by settings (nothing is started)."""
    if size < 2:
        raise ConfigError("a local cluster needs 2 or more nodes; use --nodes 1 for one node")
    root = cluster_root(settings)
    configs = cluster_configs(
        binary or configured_binary(settings), root,
        cluster_ports(settings.weaviate.weaviate_http_port, settings.weaviate.weaviate_grpc_port, size),
        host=settings.weaviate.weaviate_host, api_key_file=settings.paths.data_dir / KEY_FILE_NAME,
        log_dir=settings.paths.log_dir, version=settings.weaviate.weaviate_version,
        stop_with_pid=stop_with_pid, extra_env=LOCAL_CLUSTER_ENV,
    )  # fmt: skip
    return LocalCluster.of(configs)


def embedded_nodes(
    settings: Settings, size: int | None = None, *, binary: Path | None = None
) -> list[WeaviateServer]:
    """Every node of the layout of ``size`` nodes (default: DOCDUET_WEAVIATE_NODES)."""
    size = size or settings.weaviate.weaviate_nodes
    if size == 1:
        return [embedded_server(settings, binary=binary)]
    return local_cluster(settings, size, binary=binary).nodes


def running_nodes(settings: Settings) -> list[WeaviateServer]:
    """The nodes of whichever layout has a live process (all its nodes, live or not); else []."""
    single = embedded_server(settings)
    if single.pid() is not None:
        return [single]
    size = recorded_size(settings)
    if size is not None:
        nodes = local_cluster(settings, size).nodes
        if any(node.pid() is not None for node in nodes):
            return nodes
    return []


def start(
    settings: Settings,
    size: int | None = None,
    *,
    binary: Path | None = None,
    stop_with_pid: int | None = None,
) -> list[str]:
    """Start every node of the layout that is not running; returns the names launched.

    Refuses to start one layout while the other runs, or a cluster with another size than the
    one its data was created with. ``stop_with_pid``: a cluster's nodes stop when that process
    ends (test sessions).
    """
    size = size or settings.weaviate.weaviate_nodes
    other = running_nodes(settings)
    if other and len(other) != size:
        running = "one node" if len(other) == 1 else f"a local cluster of {len(other)} nodes"
        raise BackendUnavailableError(
            f"docduet's Weaviate already runs as {running}; run `docduet db stop` first, "
            f"then `docduet db start --nodes {size}`."
        )
    timeout = settings.weaviate.weaviate_startup_timeout_s
    if size == 1:
        server = embedded_server(settings, binary=binary)
        return [server.config.node_name] if server.start(timeout=timeout) else []
    recorded = recorded_size(settings)
    if recorded is not None and recorded != size:
        raise ConfigError(
            f"the local cluster in {cluster_root(settings)} was created with {recorded} nodes; "
            f"start it with --nodes {recorded} (or DOCDUET_WEAVIATE_NODES={recorded}), or delete "
            "that folder to create a new, empty one"
        )
    cluster = local_cluster(settings, size, binary=binary, stop_with_pid=stop_with_pid)
    if recorded is None:
        cluster_root(settings).mkdir(parents=True, exist_ok=True)
        write_atomic(cluster_root(settings) / LAYOUT_FILE, json.dumps({"nodes": size}) + "\n")
    if settings.weaviate.weaviate_nodes != size:
        log.warning("other commands start %d node(s) unless DOCDUET_WEAVIATE_NODES=%d is set",
                    settings.weaviate.weaviate_nodes, size)  # fmt: skip
    return cluster.start(timeout=timeout)


def stop(settings: Settings, timeout: float = 30.0) -> list[tuple[str, int]]:
    """Stop every running node of both layouts; returns (node name, pid) of those stopped."""
    stopped = []
    size = recorded_size(settings)
    candidates = [embedded_server(settings)]
    if size is not None:
        candidates += local_cluster(settings, size).nodes
    for node in candidates:
        pid = node.pid()
        if pid is not None and node.stop(timeout=timeout):
            stopped.append((node.config.node_name, pid))
    return stopped
