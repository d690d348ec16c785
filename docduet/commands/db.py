"""``docduet db start|stop|status|build``: manage docduet's own Weaviate server."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console

from backends.weaviate_server import embedded
from backends.weaviate_server.binary import ensure_binary
from backends.weaviate_server.server import ServerStatus, WeaviateServer, embedded_server
from core.settings import Settings

_EXTERNAL = (
    "An external Weaviate is configured (WEAVIATE_URL={url}); docduet does not manage it, "
    "so there is nothing to {verb}. Unset WEAVIATE_URL to use docduet's own server."
)


def register(sub: Any) -> None:
    """Add ``db`` and its subcommands to the top-level subparsers."""
    db = sub.add_parser(
        "db",
        help="start, stop and inspect docduet's Weaviate server",
        description="docduet runs its own weaviate-server (no Docker): built once with "
        "`go install` into the cache, data under DOCDUET_DATA_DIR/weaviate, log in "
        "DOCDUET_DATA_DIR/logs/weaviate.log. It keeps running after the command exits. It "
        "admits no anonymous access: clients need the random API key that the first start "
        "writes to DOCDUET_DATA_DIR/weaviate.key (mode 0600; never printed). `start --nodes 3` "
        "runs a local 3-node cluster instead (docs/cluster.md). With WEAVIATE_URL set, docduet "
        "uses that server instead and `start`/`stop` do nothing.",
    )
    cmds = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    start = cmds.add_parser(
        "start",
        help="start the server (builds it first if needed); no-op when running",
        description="Start docduet's weaviate-server in the background and wait until it is "
        "ready (DOCDUET_WEAVIATE_STARTUP_TIMEOUT_S). Ports: DOCDUET_WEAVIATE_HTTP_PORT, "
        "DOCDUET_WEAVIATE_GRPC_PORT; cluster ports are derived from the HTTP port. With --nodes "
        "N (N >= 2) it runs a local cluster of N nodes on loopback (node i on HTTP+i, gRPC+i; data "
        "in DOCDUET_DATA_DIR/weaviate-cluster); new collections get one copy per node, "
        "read and written with QUORUM, so 3 nodes survive one dead node. Started again, it "
        "restarts only the nodes that are down.",
    )
    start.add_argument(
        "--nodes", type=int, choices=range(1, 10), metavar="N", default=None,
        help="1 (one node) or a local cluster of N nodes (default: DOCDUET_WEAVIATE_NODES, 1)",
    )  # fmt: skip
    start.set_defaults(run=run_start)
    stop = cmds.add_parser(
        "stop",
        help="stop the server (SIGTERM, then SIGKILL after --timeout)",
        description="Stop docduet's weaviate-server, or every node of its local cluster; data stays on disk.",
    )
    stop.add_argument("--timeout", type=float, default=30.0, help="seconds before SIGKILL")
    stop.set_defaults(run=run_stop)
    status = cmds.add_parser(
        "status",
        help="is the server running and ready? (exit 0 ready, 1 not)",
        description="Report whether the server (docduet's own or WEAVIATE_URL's) is running "
        "and ready; of a local cluster, every node. Exit status 0 when ready (every node), 1 "
        "when not.",
    )
    status.add_argument("--json", action="store_true", help="print the status as JSON")
    status.set_defaults(run=run_status)
    build = cmds.add_parser(
        "build",
        help="build (or locate) the weaviate-server binary",
        description="Make sure a weaviate-server binary exists: DOCDUET_WEAVIATE_BINARY, or the "
        "cached build for DOCDUET_WEAVIATE_VERSION, or build it now with `go install` "
        "(needs Go; 10-20 min on two cores). Prints the binary's path.",
    )
    build.set_defaults(run=run_build)


def _console(*, stderr: bool = True) -> Console:
    """Plain messages: no markup (paths and log lines contain brackets), no hard wrapping."""
    return Console(stderr=stderr, soft_wrap=True, markup=False, highlight=False)


def run_start(args: argparse.Namespace) -> int:
    """``docduet db start [--nodes N]``."""
    settings, console = Settings(), _console()
    if settings.weaviate.weaviate_url:
        console.print(_EXTERNAL.format(url=settings.weaviate.weaviate_url, verb="start"))
        return 0
    size = args.nodes or settings.weaviate.weaviate_nodes
    binary = ensure_binary(settings, console=console)
    nodes = embedded.embedded_nodes(settings, size, binary=binary)
    with console.status(f"Starting Weaviate at {nodes[0].url}…"):
        launched = embedded.start(settings, size, binary=binary)
    code = 0
    for node in nodes:
        state = node.status()
        verb = "started" if node.config.node_name in launched else "already running"
        name = f" {node.config.node_name}" if size > 1 else ""
        console.print(
            f"Weaviate{name} {state.version or '?'} {verb} at {state.url} (pid {state.pid}); "
            f"data {state.data_dir}, log {state.log_file}"
        )
        if not state.ready:
            console.print(f"But it is not usable: {state.detail}")
            code = 1
    if size != settings.weaviate.weaviate_nodes:
        console.print(f"Set DOCDUET_WEAVIATE_NODES={size} so that later commands restart this layout.")
    return code


def run_stop(args: argparse.Namespace) -> int:
    """``docduet db stop``: every running node of docduet's own Weaviate."""
    settings, console = Settings(), _console()
    if settings.weaviate.weaviate_url:
        console.print(_EXTERNAL.format(url=settings.weaviate.weaviate_url, verb="stop"))
        return 0
    stopped = embedded.stop(settings, timeout=args.timeout)
    if not stopped:
        console.print("Weaviate was not running.")
    elif len(stopped) == 1 and stopped[0][0] == embedded_server(settings).config.node_name:
        console.print(f"Weaviate stopped (was pid {stopped[0][1]}).")
    else:
        names = ", ".join(f"{name} (was pid {pid})" for name, pid in stopped)
        console.print(f"Weaviate stopped: {names}.")
    return 0


def run_status(args: argparse.Namespace) -> int:
    """``docduet db status``: exit 0 when ready (every node of a cluster), 1 otherwise."""
    settings = Settings()
    if settings.weaviate.weaviate_url:
        from backends.weaviate.client import external_status  # imports weaviate-client: only here

        nodes: list[WeaviateServer] = []
        states = [external_status(settings)]
    else:
        nodes = embedded.running_nodes(settings) or embedded.embedded_nodes(settings)
        states = [node.status() for node in nodes]
    ready = all(state.ready for state in states)
    if len(states) > 1:
        return _cluster_status(nodes, states, ready, as_json=args.json)
    if args.json:
        print(json.dumps(states[0].as_dict(), indent=2))
    else:
        _console(stderr=False).print(_describe(states[0]))
    return 0 if ready else 1


def _cluster_status(
    nodes: list[WeaviateServer], states: list[ServerStatus], ready: bool, *, as_json: bool
) -> int:
    if as_json:
        named = [{"node": n.config.node_name, **s.as_dict()} for n, s in zip(nodes, states, strict=True)]
        print(json.dumps({"ready": ready, "nodes": named}, indent=2))
        return 0 if ready else 1
    console = _console(stderr=False)
    up = sum(state.ready for state in states)
    console.print(f"docduet's local Weaviate cluster: {up} of {len(states)} nodes ready")
    for node, state in zip(nodes, states, strict=True):
        console.print(f"  {node.config.node_name}: {_describe(state)}")
    if not ready:
        console.print("`docduet db start` restarts the nodes that are down; they catch up by themselves.")
    return 0 if ready else 1


def _describe(state: ServerStatus) -> str:
    where = "external" if state.external else "docduet's"
    if state.ready:
        pid = f", pid {state.pid}" if state.pid else ""
        note = f" ({state.detail})" if state.detail else ""
        return f"{where} Weaviate {state.version} is ready at {state.url}{pid}{note}"
    hint = "" if state.external else "; run `docduet db start`"
    return f"{where} Weaviate at {state.url} is not ready: {state.detail}{hint}"


def run_build(args: argparse.Namespace) -> int:
    """``docduet db build``: print the path of a runnable weaviate-server."""
    settings = Settings()
    print(ensure_binary(settings, console=_console()))
    return 0
