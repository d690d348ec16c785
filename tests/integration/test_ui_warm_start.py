"""``docduet ui`` loads the local models as it starts, before any browser opens the page (issue 24:
the first question after start is as fast as the tenth), with the real packaged Qwen 0.5B."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from answer_fixtures import answer_settings
from test_ui_browser import running_ui

from backends.weaviate_server.server import WeaviateServer

pytestmark = pytest.mark.integration

READY_TIMEOUT_S = 600.0
"""Longest wait for the model to load and evaluate its prompt head on a busy 2-core machine."""


def test_the_local_model_is_ready_before_the_first_page_view(
    weaviate_node: WeaviateServer, weaviate_binary: Path, gguf_path: Path, tmp_path: Path
) -> None:
    settings = answer_settings(weaviate_node, weaviate_binary, tmp_path, gguf_path, "http://127.0.0.1:9/v1")
    log = tmp_path / "streamlit.log"
    with running_ui(settings, tmp_path):  # healthy: serving, and no page has been opened
        deadline = time.monotonic() + READY_TIMEOUT_S
        while "slm ready in" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.5)
        text = log.read_text()
    assert "docduet: loading the local models (embedder, slm" in text, text
    assert "docduet: embedder ready in" in text and "docduet: slm ready in" in text, text
    assert "could not be loaded" not in text and "crashed" not in text, text
