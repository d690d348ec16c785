"""``docduet db start|stop|status|build``: manage docduet's own Weaviate server."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.console import Console

from docduet.db.binary import ensure_binary
from docduet.db.server import ServerStatus, embedded_server
from docduet.settings import Settings

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
        "writes to DOCDUET_DATA_DIR/weaviate.key (mode 0600; never printed). With "
        "WEAVIATE_URL set, docduet uses that server instead and `start`/`stop` do nothing.",
    )
    cmds = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    start = cmds.add_parser(
        "start",
        help="start the server (builds it first if needed); no-op when running",
        description="Start docduet's weaviate-server in the background and wait until it is "
        "ready (DOCDUET_WEAVIATE_STARTUP_TIMEOUT_S). Ports: DOCDUET_WEAVIATE_HTTP_PORT, "
        "DOCDUET_WEAVIATE_GRPC_PORT; cluster ports are derived from the HTTP port.",
    )
    start.set_defaults(run=run_start)
    stop = cmds.add_parser(
        "stop",
        help="stop the server (SIGTERM, then SIGKILL after --timeout)",
        description="Stop docduet's weaviate-server; data stays on disk.",
    )
    stop.add_argument("--timeout", type=float, default=30.0, help="seconds before SIGKILL")
    stop.set_defaults(run=run_stop)
    status = cmds.add_parser(
        "status",
        help="is the server running and ready? (exit 0 ready, 1 not)",
        description="Report whether the server (docduet's own or WEAVIATE_URL's) is running "
        "and ready. Exit status 0 when ready, 1 when not.",
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
    """``docduet db start``."""
    settings, console = Settings(), _console()
    if settings.weaviate_url:
        console.print(_EXTERNAL.format(url=settings.weaviate_url, verb="start"))
        return 0
    server = embedded_server(settings, binary=ensure_binary(settings, console=console))
    with console.status(f"Starting Weaviate at {server.url}…"):
        started = server.start(timeout=settings.weaviate_startup_timeout_s)
    state = server.status()
    verb = "started" if started else "already running"
    console.print(
        f"Weaviate {state.version or '?'} {verb} at {state.url} (pid {state.pid}); "
        f"data {state.data_dir}, log {state.log_file}"
    )
    if not state.ready:
        console.print(f"But it is not usable: {state.detail}")
        return 1
    return 0


def run_stop(args: argparse.Namespace) -> int:
    """``docduet db stop``."""
    settings, console = Settings(), _console()
    if settings.weaviate_url:
        console.print(_EXTERNAL.format(url=settings.weaviate_url, verb="stop"))
        return 0
    server = embedded_server(settings)
    pid = server.pid()
    if server.stop(timeout=args.timeout):
        console.print(f"Weaviate stopped (was pid {pid}).")
    else:
        console.print("Weaviate was not running.")
    return 0


def run_status(args: argparse.Namespace) -> int:
    """``docduet db status``: exit 0 when ready, 1 otherwise."""
    settings = Settings()
    if settings.weaviate_url:
        from docduet.db.client import external_status  # imports weaviate-client: only here

        state = external_status(settings)
    else:
        state = embedded_server(settings).status()
    if args.json:
        print(json.dumps(state.as_dict(), indent=2))
    else:
        _console(stderr=False).print(_describe(state))
    return 0 if state.ready else 1


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
