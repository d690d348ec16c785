"""The generators of a load run: their file, the loopback "hosted" server, and the timed local pool."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from core.settings import Settings

LOCAL_MODEL = "smollm2-135m-instruct"
HOSTED_MODEL = "gemma-3-270m"
HOST = "127.0.0.1"


def write_generators_file(path: Path, *, hosted_url: str, echo_url: str) -> Path:
    """The local SmolLM2 (pool of one) and the loopback "hosted" model; the echo model, disabled
    (so the web chat shows two columns), answers the Slack retrieval path only."""
    generators = [
        {
            "id": "slm",
            "label": "Small local model",
            "kind": "llama_cpp",
            "model": LOCAL_MODEL,
            "on_premises": True,
            "max_sensitivity": "confidential",
            "threads": 1,
            "n_ctx": 2048,
            "max_passages": 3,
            "max_tokens": 32,
            "examples": 1,
            "pool_size": 1,
            "queue_timeout_s": 300,
        },
        {
            "id": "llm",
            "label": "Hosted model (loopback)",
            "kind": "openai_compatible",
            "base_url": hosted_url,
            "model": HOSTED_MODEL,
            "api_key": "loopback",
            "on_premises": False,
            "max_sensitivity": "internal",
            "max_passages": 3,
            "max_tokens": 24,
            "max_retries": 0,
            "timeout_s": 600,
            "first_token_timeout_s": 600,
            "total_timeout_s": 900,
        },
        {
            "id": "echo",
            "label": "Instant loopback model",
            "kind": "openai_compatible",
            "enabled": False,
            "base_url": echo_url,
            "model": "echo",
            "api_key": "loopback",
            "on_premises": True,
            "max_sensitivity": "confidential",
            "max_retries": 0,
            "max_tokens": 16,
        },
    ]
    path.write_text(yaml.safe_dump({"generators": generators}, sort_keys=False), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def hosted_server(log_path: Path, *, startup_timeout_s: float = 180.0) -> Iterator[str]:
    """llama-cpp-python's OpenAI-compatible server on the packaged Gemma 3 270M; yields its /v1 URL.

    Started like tests/integration/llm_server.py does (one thread, loopback), except that a
    request arriving while another streams waits for it instead of cutting it short.
    """
    from backends.llama_cpp.packaged import resolve_model

    model = resolve_model(HOSTED_MODEL, Settings().paths.cache_dir)
    port = free_port()
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--chat_format", "gemma",
        "--n_threads", "1", "--n_threads_batch", "1", "--n_ctx", "2048", "--host", HOST,
        "--port", str(port), "--interrupt_requests", "false",
    ]  # fmt: skip
    with log_path.open("wb") as out:
        process = subprocess.Popen(
            command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "OMP_NUM_THREADS": "1"}
        )
        try:
            deadline = time.monotonic() + startup_timeout_s
            while not _answers(f"http://{HOST}:{port}/v1/models"):
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"llama_cpp.server did not start on port {port}:\n{tail}")
                time.sleep(0.5)
            yield f"http://{HOST}:{port}/v1"
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return bool(reply.status == 200)
    except OSError:
        return False


class TimedPool:
    """Wraps a local model's InstancePool: the same line, noting each turn's wait.

    The pool measures how long a question waited for its turn (``turn()``, which also goes into
    the answer's ``timings.queue_s``); the bench collects those waits with how many questions
    were ahead on arrival, for the web and the Slack paths alike.
    """

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self._lock = threading.Lock()
        self._waits: list[tuple[float, int]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def ahead(self) -> int:
        return int(self.inner.ahead())

    @contextlib.contextmanager
    def turn(self) -> Iterator[tuple[Any, float]]:
        ahead = self.inner.ahead()
        with self.inner.turn() as (item, waited):
            with self._lock:
                self._waits.append((waited, ahead))
            yield item, waited

    def take(self) -> list[tuple[float, int]]:
        """``(seconds waited, questions ahead on arrival)`` of each lease since the last call."""
        with self._lock:
            waits, self._waits = self._waits, []
        return waits
