"""The six ports of a weaviate-server node, how docduet derives them, free-port checks."""

from __future__ import annotations

import errno
import random
import socket
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from core.errors import BackendUnavailableError, ConfigError

#: Embedded scheme: cluster ports sit 10000, 20000, 30000 and 40000 above the HTTP port, so
#: two data dirs served on different HTTP ports (less than 10000 apart) never collide.
CLUSTER_PORT_OFFSETS = {"gossip": 10_000, "data": 20_000, "raft": 30_000, "raft_rpc": 40_000}
MAX_EMBEDDED_HTTP_PORT = 65_535 - CLUSTER_PORT_OFFSETS["raft_rpc"]


@dataclass(frozen=True)
class NodePorts:
    """REST, gRPC, memberlist gossip, cluster data, Raft and Raft-RPC ports of one node."""

    http: int
    grpc: int
    gossip: int
    data: int
    raft: int
    raft_rpc: int

    @classmethod
    def derived(cls, http: int, grpc: int) -> NodePorts:
        """Ports of docduet's embedded node: cluster ports derived from the HTTP port."""
        if not 1024 <= http <= MAX_EMBEDDED_HTTP_PORT:
            raise ConfigError(
                f"DOCDUET_WEAVIATE_HTTP_PORT={http} is out of range: docduet derives the cluster "
                f"ports from it (+10000..+40000): use a port from 1024 to {MAX_EMBEDDED_HTTP_PORT}."
            )
        ports = cls(http=http, grpc=grpc, **{k: http + v for k, v in CLUSTER_PORT_OFFSETS.items()})
        if len(set(ports.as_dict().values())) != 6:
            raise ConfigError(
                f"DOCDUET_WEAVIATE_GRPC_PORT={grpc} collides with a port derived from "
                f"DOCDUET_WEAVIATE_HTTP_PORT={http} ({ports.as_dict()}); choose another one."
            )
        return ports

    @classmethod
    def block(cls, base: int) -> NodePorts:
        """Six consecutive ports from ``base``; Raft-RPC = Raft + 1, as local clusters require."""
        return cls(*range(base, base + 6))

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def port_busy(host: str, port: int) -> bool:
    """True when something already listens on (or holds) ``host:port`` over TCP or UDP."""
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(_family(host), kind) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # TIME_WAIT is not busy
            try:
                sock.bind((host, port))
            except OSError as e:
                if e.errno in (errno.EADDRINUSE, errno.EACCES):
                    return True
                raise
    return False


def check_ports_free(host: str, ports: NodePorts, *, wait_s: float = 0.0) -> None:
    """Raise BackendUnavailableError naming a port something else uses.

    ``wait_s``: how long a busy port may take to free up (a node that just exited releases its
    sockets a moment after its process is gone).
    """
    deadline = time.monotonic() + wait_s
    while (busy := _first_busy(host, ports)) is not None:
        if time.monotonic() >= deadline:
            name, bind_host, port = busy
            raise BackendUnavailableError(
                f"Port {port} ({name}) on {bind_host} is already in use by another process; "
                "stop that process, or give docduet other ports (DOCDUET_WEAVIATE_HTTP_PORT, "
                "DOCDUET_WEAVIATE_GRPC_PORT; the cluster ports follow the HTTP port)."
            )
        time.sleep(0.2)


def _first_busy(host: str, ports: NodePorts) -> tuple[str, str, int] | None:
    # gRPC listens on all interfaces whatever --host says, so check it there.
    for name, port in ports.as_dict().items():
        bind_host = "0.0.0.0" if name == "grpc" and _family(host) == socket.AF_INET else host
        if port_busy(bind_host, port):
            return name, bind_host, port
    return None


def find_free_node_ports(host: str = "127.0.0.1", *, count: int = 1) -> list[NodePorts]:
    """``count`` non-overlapping blocks of six free consecutive ports (tests, local clusters)."""
    found: list[NodePorts] = []
    for base in random.sample(range(15_000, 25_000, 10), k=400):
        if _all_free(host, NodePorts.block(base)):
            found.append(NodePorts.block(base))
            if len(found) == count:
                return found
    raise BackendUnavailableError(f"Not enough free ports on {host} for {count} Weaviate node(s).")


def _all_free(host: str, ports: NodePorts) -> bool:
    return _first_busy(host, ports) is None


def all_free(host: str, ports: Iterable[NodePorts]) -> bool:
    """Are all ports of all these nodes free on ``host``?"""
    return all(_all_free(host, p) for p in ports)


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET
