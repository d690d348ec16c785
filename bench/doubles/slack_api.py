"""A loopback stand-in for Slack's Web API that records every call (the load bench and the tests).

Point a ``WebClient(base_url=recorder.base_url)`` at it. It answers the methods the bot uses
plausibly: ``auth.test``, ``users.info`` (from ``users``), ``conversations.info`` (IDs starting
with D are DMs), ``chat.postMessage``, ``chat.postEphemeral``, ``chat.update``, ``reactions.add`` and
``reactions.remove``; ``fail`` makes a
method answer ``{"ok": false, "error": ...}``. Calls and waits are bounded.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TEAM_ID = "T0CORVALA"
BOT_USER_ID = "UBOT0001"


@dataclass(frozen=True)
class ApiCall:
    """One recorded Web API call."""

    method: str
    params: dict[str, Any]
    token: str | None


@dataclass
class SlackApiRecorder:
    """The server's state: who exists, which methods fail, what was called."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail: dict[str, str] = field(default_factory=dict)
    calls: list[ApiCall] = field(default_factory=list)
    lock: threading.Condition = field(default_factory=threading.Condition)
    base_url: str = ""
    _ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def add_user(self, user_id: str, email: str | None, *, team_id: str = TEAM_ID, **extra: Any) -> None:
        profile = {"email": email} if email else {}
        self.users[user_id] = {"id": user_id, "team_id": team_id, "profile": profile, **extra}

    def of(self, method: str) -> list[ApiCall]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout_s: float = 10.0) -> list[ApiCall]:
        """At least ``count`` calls of ``method``; AssertionError after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        with self.lock:
            while len([c for c in self.calls if c.method == method]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{count} x {method} not called within {timeout_s} s")
                self.lock.wait(left)
        return self.of(method)

    def answer(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        with self.lock:
            self.calls.append(ApiCall(method, params, token))
            self.lock.notify_all()
        if method in self.fail:
            return {"ok": False, "error": self.fail[method]}
        return self._reply(method, params)

    def _reply(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://corvala.slack.example/",
                "team": "Corvala",
                "user": "docduet",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": "BBOT0001",
            }
        if method == "users.info":
            user = self.users.get(str(params.get("user")))
            return {"ok": True, "user": user} if user else {"ok": False, "error": "user_not_found"}
        if method == "conversations.info":
            channel = str(params.get("channel"))
            return {
                "ok": True,
                "channel": {
                    "id": channel,
                    "is_im": channel.startswith("D"),
                    "is_channel": channel.startswith("C"),
                },
            }
        if method in ("chat.postMessage", "chat.update"):
            ts = f"{time.time():.0f}.{next(self._ts):06d}"
            message = {k: params.get(k) for k in ("text", "blocks", "thread_ts")}
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}
        if method in ("reactions.add", "reactions.remove"):
            return {"ok": True}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{time.time():.0f}.{next(self._ts):06d}"}
        return {"ok": False, "error": "unknown_method"}


class _Handler(BaseHTTPRequestHandler):
    recorder: SlackApiRecorder

    def do_GET(self) -> None:
        self._handle(dict(parse_qsl(urlsplit(self.path).query)))

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
        kind = self.headers.get("Content-Type") or ""
        params: dict[str, Any] = dict(parse_qsl(urlsplit(self.path).query))
        if raw and "json" in kind:
            params.update(json.loads(raw))
        elif raw:
            params.update(parse_qsl(raw))
        self._handle(params)

    def _handle(self, params: dict[str, Any]) -> None:
        method = urlsplit(self.path).path.rsplit("/", 1)[-1]
        auth = self.headers.get("Authorization") or ""
        body = json.dumps(self.recorder.answer(method, params, auth.removeprefix("Bearer ") or None))
        data = body.encode("utf-8")
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def recording_api() -> Iterator[SlackApiRecorder]:
    """A recording Web API on a free loopback port (``base_url`` for a ``WebClient``)."""
    recorder = SlackApiRecorder()
    handler = type("Handler", (_Handler,), {"recorder": recorder})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    recorder.base_url = f"http://127.0.0.1:{server.server_address[1]}/api/"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield recorder
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


# --- signed requests, as Slack sends them ------------------------------------------------------

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # a test value, not a real secret


def signed_headers(
    body: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    """Headers Slack would send with ``body`` (signature over ``v0:timestamp:body``)."""
    from slack_sdk.signature import SignatureVerifier

    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"Content-Type": content_type, "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


_EVENT_IDS = itertools.count(1)


def event_body(event: dict[str, Any], *, event_id: str | None = None) -> str:
    """An Events API ``event_callback`` envelope around ``event``."""
    return json.dumps(
        {
            "token": "legacy-unused",
            "team_id": TEAM_ID,
            "api_app_id": "A0DOCDUET",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(_EVENT_IDS):08d}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
        }
    )


def mention(
    text: str, *, user: str, channel: str = "C0GENERAL", ts: str | None = None, thread_ts: str | None = None
) -> dict[str, Any]:
    """An ``app_mention`` event: ``<@bot> text`` in ``channel`` (a reply in ``thread_ts`` if given)."""
    ts = ts or f"{time.time():.6f}"
    event = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{BOT_USER_ID}> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": TEAM_ID,
    }
    return event | ({"thread_ts": thread_ts} if thread_ts else {})


def direct_message(
    text: str, *, user: str, channel: str = "D0ALICE", ts: str | None = None, thread_ts: str | None = None
) -> dict[str, Any]:
    """A ``message.im`` event from ``user`` in the bot's DM ``channel`` (in ``thread_ts`` if given)."""
    ts = ts or f"{time.time():.6f}"
    event = {
        "type": "message",
        "channel_type": "im",
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": TEAM_ID,
    }
    return event | ({"thread_ts": thread_ts} if thread_ts else {})


def action_body(
    value: str, action_id: str, *, user: str, channel: str, message_ts: str, thread_ts: str
) -> str:
    """The form-encoded ``block_actions`` request a button click sends."""
    from urllib.parse import urlencode

    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "corvala"},
        "user": {"id": user, "team_id": TEAM_ID},
        "api_app_id": "A0DOCDUET",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel},
        "channel": {"id": channel},
        "message": {"type": "message", "ts": message_ts, "thread_ts": thread_ts},
        "trigger_id": "1.2.3",
        "response_url": "https://hooks.slack.example/actions/T/1/x",
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "feedback:slm",
                "value": value,
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})
