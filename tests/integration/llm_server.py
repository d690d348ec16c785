"""Loopback OpenAI-compatible servers for integration tests.

- :func:`llama_server`: llama-cpp-python's own server on the packaged GGUF, in a subprocess.
- :class:`RecordingProxy`: sits in front of it and records every request body (authorization
  headers stripped), so a test can prove what did or did not leave docduet.
- :class:`StatusServer`: answers every request with one HTTP status (e.g. 500).
- :class:`SilentServer`: accepts requests and never answers, to exercise timeouts.
- ``scripted_llm.ScriptedServer`` (its own module): plays scripted replies (429, cut streams...).

All bind 127.0.0.1 on free ports; every wait is bounded. Session fixtures at the bottom; they
are imported by tests/integration/conftest.py only: a session fixture imported into several
test modules becomes one fixture per module, so each module would start its own llama server.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

import pytest
from tests_helpers import stop_process

HOST = "127.0.0.1"
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "te",
    "upgrade",
    "host",
    "proxy-authorization",
    "proxy-connection",
    "content-length",
}


def free_port() -> int:
    """A TCP port on loopback that was free a moment ago."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the upstream received it; authorization headers are not kept."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _LoopbackServer:
    """A threaded HTTP server on a free loopback port, started and stopped as a context."""

    handler: type[BaseHTTPRequestHandler]

    def __init__(self) -> None:
        self.stop_event = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server((HOST, 0), self.handler)
        self._server.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1``, ready for an OpenAI client."""
        return f"http://{HOST}:{self._server.server_address[1]}/v1"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # close-delimited replies: streamed bodies pass unbuffered

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def _forward(self) -> None:
        proxy: RecordingProxy = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        proxy.record(RecordedRequest(self.command, self.path, _without_auth(headers), body))
        upstream = http.client.HTTPConnection(HOST, proxy.upstream_port, timeout=proxy.timeout_s)
        try:
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            reply = upstream.getresponse()
            self.send_response(reply.status)
            for key, value in reply.getheaders():
                if key.lower() not in _HOP_BY_HOP:
                    self.send_header(key, value)
            self.end_headers()
            while piece := reply.read1(65536):
                self.wfile.write(piece)
                self.wfile.flush()
        finally:
            upstream.close()


def _without_auth(headers: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in {"authorization", "api-key"}}


class RecordingProxy(_LoopbackServer):
    """Forwards to ``upstream_port`` on loopback and records every request."""

    handler = _ProxyHandler

    def __init__(self, upstream_port: int, *, timeout_s: float = 300.0) -> None:
        self.upstream_port = upstream_port
        self.timeout_s = timeout_s
        self._requests: list[RecordedRequest] = []
        super().__init__()

    def record(self, request: RecordedRequest) -> None:
        """Keep one request (called by the handler threads)."""
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[RecordedRequest]:
        """Requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def sent_text(self) -> str:
        """Every request body decoded as text, for 'was X sent?' assertions."""
        return "\n".join(r.body.decode("utf-8", "replace") for r in self.requests)

    def clear(self) -> None:
        """Forget the requests recorded so far."""
        with self._lock:
            self._requests.clear()


class _StatusHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        owner: StatusServer = self.server.owner  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        owner.count()
        body = json.dumps({"error": {"message": "injected failure", "type": "server_error"}})
        self.send_response(owner.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST


class StatusServer(_LoopbackServer):
    """Answers every request with ``status`` and counts the requests."""

    handler: type[BaseHTTPRequestHandler] = _StatusHandler

    def __init__(self, status: int = 500) -> None:
        self.status = status
        self.hits = 0
        super().__init__()

    def count(self) -> None:
        """Count one request (called by the handler threads)."""
        with self._lock:
            self.hits += 1


class _SilentHandler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        owner: SilentServer = self.server.owner  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        owner.count()
        owner.stop_event.wait(timeout=owner.max_hold_s)  # bounded: never answers before this

    do_GET = do_POST


class SilentServer(StatusServer):
    """Reads each request and holds it without answering until stopped (at most max_hold_s)."""

    handler = _SilentHandler

    def __init__(self, max_hold_s: float = 60.0) -> None:
        self.max_hold_s = max_hold_s
        super().__init__(status=0)


@contextmanager
def llama_server(
    model: Path,
    *,
    log_path: Path,
    n_ctx: int = 2048,
    startup_timeout_s: float = 180.0,
    chat_format: str = "chatml",
    extra_args: Sequence[str] = (),
) -> Iterator[int]:
    """Run ``python -m llama_cpp.server`` on ``model`` with one thread; yield its port.

    ``extra_args`` go to the server as given, e.g. ``("--interrupt_requests", "false")``.
    """
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--chat_format",
        chat_format,
        "--n_threads",
        "1",
        "--n_threads_batch",
        "1",
        "--n_ctx",
        str(n_ctx),
        "--host",
        HOST,
        "--port",
        str(port),
        *extra_args,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
        )
        try:
            _wait_ready(process, port, startup_timeout_s, log_path)
            yield port
        finally:
            stop_process(process, timeout_s=15)


def _wait_ready(process: subprocess.Popen[bytes], port: int, timeout_s: float, log_path: Path) -> None:
    deadline = time.monotonic() + timeout_s
    url = f"http://{HOST}:{port}/v1/models"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"llama_cpp.server exited with {process.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"llama_cpp.server did not answer {url} within {timeout_s:.0f} s")


# --- fixtures ------------------------------------------------------------------------------


TEST_MODEL = "qwen2.5-coder-0.5b-instruct"
"""The default small local model (ChatML template): the tests run what users get by default."""


@pytest.fixture(scope="session")
def gguf_path() -> Path:
    """The GGUF the tests run: DOCDUET_SLM_MODEL_PATH, or the packaged default small model."""
    from backends.llama_cpp.packaged import resolve_model
    from core.settings import Settings

    settings = Settings()
    return resolve_model(settings.generation.slm_model_path or TEST_MODEL, settings.paths.cache_dir)


HOSTED_TEST_MODEL = "gemma-3-270m"
"""The loopback "hosted" model: another model than the local one, so the two columns differ. It
proves the OpenAI-compatible path (streaming, usage, pricing, privacy), not hosted-model quality."""


@pytest.fixture(scope="session")
def llama_server_port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Port of a llama-cpp-python server (the packaged Gemma 3 270M) running for the whole session."""
    from backends.llama_cpp.packaged import resolve_model
    from core.settings import Settings

    model = resolve_model(HOSTED_TEST_MODEL, Settings().paths.cache_dir)
    log_path = tmp_path_factory.mktemp("llama-server") / "server.log"
    with llama_server(model, log_path=log_path, chat_format="gemma") as port:
        yield port


@pytest.fixture(scope="session")
def recording_proxy(llama_server_port: int) -> Iterator[RecordingProxy]:
    """A recording proxy in front of the session's llama server."""
    with RecordingProxy(llama_server_port) as proxy:
        yield proxy


@pytest.fixture
def llm_recorder(recording_proxy: RecordingProxy) -> RecordingProxy:
    """The session's recording proxy, emptied for this test."""
    recording_proxy.clear()
    return recording_proxy


@pytest.fixture
def failing_llm_server() -> Iterator[StatusServer]:
    """An endpoint that answers every request with HTTP 500."""
    with StatusServer(500) as server:
        yield server


@pytest.fixture
def silent_llm_server() -> Iterator[SilentServer]:
    """An endpoint that accepts requests and never answers."""
    with SilentServer() as server:
        yield server
