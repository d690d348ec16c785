"""What a weaviate-server node is started with: its environment (where it reads its whole
configuration from, authentication last) and its command line (never the key: argv is
world-readable)."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING

from backends.weaviate_server.apikey import API_KEY_USER

if TYPE_CHECKING:
    from backends.weaviate_server.server import NodeConfig

#: Variables a node inherits from docduet's environment; everything else is set explicitly so a
#: stray CLUSTER_JOIN or RAFT_* in the caller's shell cannot change the node.
_INHERITED_ENV = ("PATH", "HOME", "TMPDIR", "TZ", "LANG", "LC_ALL", "GOMAXPROCS", "GOMEMLIMIT")


def build_env(config: NodeConfig, api_key: str, base_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment weaviate-server reads its configuration from.

    Authentication is always on and comes last, so ``extra_env`` cannot weaken it.
    """
    base = os.environ if base_env is None else base_env
    env = {k: base[k] for k in _INHERITED_ENV if k in base}
    ports = config.ports
    raft_join = config.raft_join or (f"{config.node_name}:{ports.raft}",)
    env.update(
        PERSISTENCE_DATA_PATH=str(config.data_dir),
        DEFAULT_VECTORIZER_MODULE="none",
        ENABLE_MODULES="",
        QUERY_DEFAULTS_LIMIT=str(config.query_defaults_limit),
        GRPC_PORT=str(ports.grpc),
        CLUSTER_HOSTNAME=config.node_name,
        CLUSTER_GOSSIP_BIND_PORT=str(ports.gossip),
        CLUSTER_DATA_BIND_PORT=str(ports.data),
        RAFT_PORT=str(ports.raft),
        RAFT_INTERNAL_RPC_PORT=str(ports.raft_rpc),
        RAFT_JOIN=",".join(raft_join),
        RAFT_BOOTSTRAP_EXPECT=str(config.bootstrap_expect),
        DISABLE_TELEMETRY="true",
        GO_PROFILING_DISABLE="true",  # else every node binds :6060
        LIMIT_RESOURCES="true",
        LOG_FORMAT="text",
        LOG_LEVEL="info",
    )
    bind_addr = _bind_address(config.host)
    if bind_addr:
        env["CLUSTER_BIND_ADDR"] = bind_addr
    if config.multi_node:
        # Local clusters: each node has its own Raft port; its RPC port is Raft + 1.
        env["CLUSTER_IN_LOCALHOST"] = "true"
        env["CLUSTER_JOIN"] = ",".join(config.gossip_join)
    else:
        # Alone, a node waits out one Raft heartbeat timeout (1 s x multiplier) before it elects
        # itself; the default multiplier 5 tolerates real networks, a single node needs none.
        env["RAFT_TIMEOUTS_MULTIPLIER"] = "1"
    env.update(dict(config.extra_env))
    env.update(_auth_env(api_key))
    return env


def _auth_env(api_key: str) -> dict[str, str]:
    """REST and gRPC need the key (no anonymous access); the cluster data API needs it too.

    No AUTHORIZATION_*: without an authorization module every authenticated user (only ours)
    may do everything.
    """
    return {
        "AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED": "false",
        "AUTHENTICATION_APIKEY_ENABLED": "true",
        "AUTHENTICATION_APIKEY_ALLOWED_KEYS": api_key,
        "AUTHENTICATION_APIKEY_USERS": API_KEY_USER,
        "CLUSTER_BASIC_AUTH_USERNAME": API_KEY_USER,
        "CLUSTER_BASIC_AUTH_PASSWORD": api_key,
    }


def build_args(config: NodeConfig) -> list[str]:
    """Command line of the node."""
    return [str(config.binary), "--host", config.host, "--port", str(config.ports.http),
            "--scheme", "http"]  # fmt: skip


def _bind_address(host: str) -> str | None:
    """An IP literal to bind memberlist/Raft to, or None to let Weaviate choose."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        try:
            return socket.gethostbyname(host)
        except OSError:
            return None
    return None if ip.is_unspecified else str(ip)
