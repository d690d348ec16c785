"""A loopback OpenAI-compatible server that misbehaves on cue, for the fault tests.

:class:`ScriptedServer` plays one scripted :class:`Reply` per request: an HTTP error with headers
(429 + Retry-After), a stream with a slow first token, a stream cut mid-way, one that ends without a
finish reason, one that never ends (until stopped or ``max_hold_s``). Binds 127.0.0.1 on a free
port; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from llm_server import StatusServer


@dataclass(frozen=True)
class Reply:
    """One scripted answer of a :class:`ScriptedServer` (a streamed chat completion by default)."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    pieces: tuple[str, ...] = ("Up to 40 EUR", " a day [1].")
    first_delay_s: float = 0.0
    """Pause after the headers and an empty role chunk, before the first text."""
    gap_s: float = 0.0
    finish: bool = True
    """Send ``finish_reason`` and ``data: [DONE]`` at the end."""
    cut: bool = False
    """Drop the connection after the pieces, inside the chunked body (no final chunk)."""
    endless: bool = False
    """Repeat the pieces until the server stops or ``max_hold_s`` passes."""


class _ScriptedHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def handle(self) -> None:
        with contextlib.suppress(OSError):  # the client dropped a kept-alive connection
            super().handle()

    def do_POST(self) -> None:
        owner: ScriptedServer = self.server.owner  # type: ignore[attr-defined]
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = owner.next_reply()
        try:
            if reply.status != 200:
                self._error(reply)
            else:
                self._stream(reply, owner)
        except OSError:  # the client gave up (a deadline): nothing left to send
            self.close_connection = True

    def _error(self, reply: Reply) -> None:
        body = json.dumps({"error": {"message": "injected failure", "type": "server_error"}}).encode()
        self.send_response(reply.status)
        for key, value in reply.headers:
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, reply: Reply, owner: ScriptedServer) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._event({"role": "assistant", "content": ""}, None)
        if reply.first_delay_s:
            owner.stop_event.wait(timeout=reply.first_delay_s)  # bounded; ends early at shutdown
        hold_until = time.monotonic() + owner.max_hold_s
        for n, piece in enumerate(itertools.cycle(reply.pieces) if reply.endless else reply.pieces):
            if owner.stop_event.is_set() or time.monotonic() > hold_until or n > 100_000:
                break
            self._event({"content": piece}, None)
            if reply.gap_s:
                owner.stop_event.wait(timeout=reply.gap_s)
        if reply.cut:
            self.connection.shutdown(socket.SHUT_RDWR)  # mid-body: the chunked reply never ends
            self.close_connection = True
            return
        if reply.finish:
            self._event({}, "stop")
            self._chunk(b"data: [DONE]\n\n")
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _event(self, delta: dict[str, Any], finish: str | None) -> None:
        chunk = {
            "id": "chatcmpl-scripted",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "scripted",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        }
        self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class ScriptedServer(StatusServer):
    """Plays ``replies`` in order, one per request; the last one repeats. ``hits`` counts requests."""

    handler = _ScriptedHandler

    def __init__(self, *replies: Reply, max_hold_s: float = 60.0) -> None:
        self.replies = list(replies) or [Reply()]
        self.max_hold_s = max_hold_s
        super().__init__(status=0)

    def next_reply(self) -> Reply:
        """The reply for the next request (and count it)."""
        with self._lock:
            self.hits += 1
            return self.replies[min(self.hits, len(self.replies)) - 1]
