"""A loopback OpenAI-compatible chat endpoint that records every request and answers briefly.

It stands in for a hosted model where only *what is sent* matters (the randomized permission
suite sends thousands of prompts): docduet's real ``openai_compatible`` generator (LangChain's
``ChatOpenAI`` over HTTP) talks to it, so a request body here is exactly what would have left the
building. Binds 127.0.0.1 on a free port; each request is answered at once.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

ANSWER = "The notes cover it [1]."


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.owner.record(body)
        request = json.loads(body or b"{}")
        if request.get("stream"):
            self._stream(str(request.get("model") or "echo"))
        else:
            self._send(200, "application/json", json.dumps(_completion(request)).encode())

    def _stream(self, model: str) -> None:
        chunks: list[dict[str, Any]] = [
            {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ANSWER}}]},
            {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
            {"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}},
        ]
        lines = [
            "data: " + json.dumps({"id": "e", "object": "chat.completion.chunk", "model": model, **c})
            for c in chunks
        ]
        payload = ("\n\n".join([*lines, "data: [DONE]"]) + "\n\n").encode()
        self._send(200, "text/event-stream", payload)

    def _send(self, status: int, kind: str, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _completion(request: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "e",
        "object": "chat.completion",
        "model": request.get("model") or "echo",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": ANSWER}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: EchoLLM


class EchoLLM:
    """The endpoint as a context manager; :attr:`bodies` are the raw request bodies received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.bodies: list[bytes] = []
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        self._thread = threading.Thread(target=self._server.serve_forever, name="echo-llm", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def record(self, body: bytes) -> None:
        with self._lock:
            self.bodies.append(body)

    def take(self) -> list[dict[str, Any]]:
        """The requests received since the last call, parsed, oldest first."""
        with self._lock:
            bodies, self.bodies = self.bodies, []
        return [json.loads(b) for b in bodies]

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)
