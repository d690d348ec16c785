"""HTTP mode: Slack's Events and Interactivity requests served by uvicorn.

Bolt verifies every request's signature and timestamp (401 otherwise) and, with
``process_before_response=False``, answers 200 before the listener runs. Dispatch runs in a
worker thread so a slow listener never blocks the event loop.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn
from slack_bolt import App
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from core.errors import BackendUnavailableError, ConfigError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1 << 20
"""Slack's payloads are a few KiB; larger bodies are refused unread."""


def asgi_app(app: App, path: str = "/slack/events") -> Starlette:
    """``POST path`` for Slack (events and interactivity), ``GET /healthz`` for probes."""

    async def slack(request: Request) -> Response:
        body = await _read_body(request)
        if body is None:
            return PlainTextResponse("request body too large", status_code=413)
        bolt_response = await run_in_threadpool(app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(bolt_response)

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(routes=[Route(path, slack, methods=["POST"]), Route("/healthz", health)])


async def _read_body(request: Request) -> bytes | None:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class SlackHttpServer:
    """The Bolt app on ``host:port``; :meth:`serve` blocks, :meth:`start`/:meth:`stop` run it aside."""

    def __init__(self, app: App, *, host: str, port: int, path: str = "/slack/events") -> None:
        self.path = path if path.startswith("/") else f"/{path}"
        config = uvicorn.Config(
            asgi_app(app, self.path), host=host, port=port, log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._socket = _bind(host, port)
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        """The bound host and port (a real port when 0 was asked for)."""
        host, port = self._socket.getsockname()[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        """The Request URL to give Slack, as seen from this machine."""
        host, port = self.address
        return f"http://{host}:{port}{self.path}"

    def serve(self) -> None:
        """Serve until SIGINT/SIGTERM (run from the main thread)."""
        log.warning("docduet Slack bot listening on %s", self.url)
        self._server.run(sockets=[self._socket])

    def start(self, timeout_s: float = 10.0) -> None:
        """Serve in a background thread; returns once the server accepts connections."""
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, daemon=True, name="slack-http"
        )
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise BackendUnavailableError(f"the Slack HTTP server did not start on {self.url}")
            time.sleep(0.02)

    def stop(self, timeout_s: float = 10.0) -> None:
        """Stop a server started with :meth:`start`."""
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout_s)
        self._socket.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port} ({e.strerror or e}); choose another "
            "DOCDUET_SLACK_PORT / DOCDUET_SLACK_HOST"
        ) from e
    sock.listen(128)
    return sock
