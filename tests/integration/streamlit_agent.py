"""Streamlit's agent API as a remote caller uses it: ``POST /_stcore/agent/interact``.

With ``server.enableAgentApi`` on, Streamlit runs the app for any HTTP caller, handing the
caller's headers to ``st.context`` with no client address (the sign-in attack of issue 21).
:func:`serving_app` runs ``ui/app.py`` with the API on (as an operator's config.toml could, had
``docduet ui`` not forced it off); :func:`interact` runs the app once for a caller.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests_helpers import stop_process

from docduet.commands.ui import streamlit_argv

AGENT_WAIT_S = 240
"""``server.agentWaitTimeout``: the first run loads the backend, which is slow on a busy machine."""
STARTUP_TIMEOUT_S = 180.0


@contextmanager
def serving_app(port: int, env: Mapping[str, str], log_path: Path) -> Iterator[None]:
    """``streamlit run ui/app.py`` on loopback as ``docduet ui`` builds it, but with the agent API on."""
    argv = [f for f in streamlit_argv("127.0.0.1", port) if not f.startswith("--server.enableAgentApi=")]
    argv += ["--server.enableAgentApi=true", f"--server.agentWaitTimeout={AGENT_WAIT_S}"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=dict(env))
        try:
            _wait_healthy(process, port, log_path)
            yield
        finally:
            stop_process(process)


def interact(port: int, headers: Mapping[str, str]) -> tuple[int, Any]:
    """One new agent session (an empty request runs the app once): HTTP status and JSON reply."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/_stcore/agent/interact",
        data=b"{}",
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=AGENT_WAIT_S + 60) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def texts(document: Any) -> list[str]:
    """Every string in a JSON document (the snapshot's Markdown bodies, captions, labels)."""
    if isinstance(document, str):
        return [document]
    if isinstance(document, Mapping):
        return [t for value in document.values() for t in texts(value)]
    if isinstance(document, list):
        return [t for value in document for t in texts(value)]
    return []


def _wait_healthy(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"streamlit did not become healthy within {STARTUP_TIMEOUT_S:.0f} s")
