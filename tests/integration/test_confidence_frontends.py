"""The same answer shows the same confidence in every front end (issue 23): the terminal and ``--json``
of ``docduet compare``, the Slack bot, and the web chat in Chromium (with a cascade column's steps).

Each front end is the real one; what answers is :class:`fixed_answers.FixedService` (two answers
with a fixed, calibrated-looking confidence), so the check is deterministic and needs no model:
0.7349 must read ``0.73`` everywhere, and the low answer must stay visible under its warning.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fixed_answers import CASCADE_LINE, MEDIUM, REASONS, SHOWN, FixedService, fixed_answer
from llm_server import free_port
from slack_recorder import SIGNING_SECRET, direct_message, event_body, recording_api, signed_headers
from slack_sdk import WebClient
from test_slack_bot import post
from test_ui_browser import CHROMIUM, CHROMIUM_FLAGS, STARTUP_TIMEOUT_S, _wait_healthy, columns
from tests_helpers import stop_process

from core.settings import Settings
from docduet.cli import main
from docduet.commands.ui import streamlit_argv
from docduet.compose import Root
from slackbot.app import create_app
from slackbot.http import SlackHttpServer

pytestmark = pytest.mark.integration

QUESTION = "How many days of paid leave do I get?"
TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
ARTIFACT = REPO / "test-artifacts" / "ui-confidence.png"
ANSWER_TIMEOUT_S = 60.0
READY = "[data-testid=stChatInput] textarea"
CRASHED = "[data-testid=stException]"


@pytest.fixture
def fixed_cli(monkeypatch: pytest.MonkeyPatch) -> FixedService:
    """``docduet compare`` whose composition root hands out :class:`FixedService` as its answer service."""
    service = FixedService()
    monkeypatch.setattr(Root, "answer_service", lambda self, names=None: service)
    return service


def test_compare_json_and_text_show_the_same_confidence(fixed_cli: FixedService, capsys: Any) -> None:
    assert main(["compare", "--generators", "slm,llm", "--json", QUESTION]) == 0
    answers = {a["generator"]: a for a in json.loads(capsys.readouterr().out)["answers"]}
    slm = answers["slm"]["confidence"]
    assert (slm["level"], slm["probability"]) == ("medium", MEDIUM.probability)
    assert f"{slm['probability']:.2f}" in SHOWN["slm"]  # the figure the badges show
    assert slm["reasons"] == list(MEDIUM.reasons) and answers["llm"]["confidence"]["level"] == "low"

    assert main(["compare", "--generators", "slm,llm", QUESTION]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for name in ("slm", "llm"):
        assert SHOWN[name] in text and f"why: {REASONS[name]}" in text
    assert fixed_answer("llm").text in text  # a low-confidence answer is still shown
    assert len(fixed_cli.questions) == 2


def test_slack_shows_the_same_confidence(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path / "data", slack_generators="slm,llm",
        slack_bot_token="xoxb-test", slack_signing_secret=SIGNING_SECRET,
    )  # fmt: skip
    service = FixedService()
    with recording_api() as api:
        api.add_user("U0ALICE", "alice@corvala.example")
        app = create_app(settings, service, client=WebClient(token="xoxb-test", base_url=api.base_url))
        server = SlackHttpServer(app, host="127.0.0.1", port=0)
        server.start()
        try:
            body = event_body(direct_message(QUESTION, user="U0ALICE", ts="1750000900.000100"))
            assert post(server.url, body, signed_headers(body)) == 200
            [call] = api.wait_for("chat.postMessage", 1, timeout_s=ANSWER_TIMEOUT_S)
        finally:
            server.stop()
    lines = [e["text"] for b in call.params["blocks"] if b["type"] == "context" for e in b["elements"]]
    assert ":large_blue_circle: *Medium confidence · 0.73* · why: " + REASONS["slm"] in lines
    assert ":warning: *Low confidence · 0.31 — check the sources* · why: no citation verified" in lines
    assert fixed_answer("llm").text in json.dumps(call.params["blocks"])  # still shown
    assert [q.text for q in service.questions] == [QUESTION]


@contextmanager
def fixed_web_chat(folder: Path) -> Iterator[str]:
    """The real chat pages under Streamlit, with :class:`FixedBackend` injected as the tests of
    tests/unit/ui_app_parts.py inject theirs (``BACKEND_KEY`` in the session state); its URL.

    The entry script lives in ``folder`` beside a copy of ui/page_chat.py, since Streamlit finds
    pages next to the entry script.
    """
    shutil.copy(REPO / "ui" / "page_chat.py", folder / "page_chat.py")
    entry = folder / "app.py"
    entry.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(TESTS / 'integration')!r})\n"
        "import streamlit as st\n"
        "from fixed_answers import FixedBackend\n"
        "from ui.backend import BACKEND_KEY\n"
        "from ui.shell import main\n"
        "if BACKEND_KEY not in st.session_state:\n"
        f"    st.session_state[BACKEND_KEY] = FixedBackend({str(folder / 'data')!r})\n"
        "main()\n"
    )
    port = free_port()
    argv = [a if not a.endswith("app.py") else str(entry) for a in streamlit_argv("127.0.0.1", port)]
    log_path = folder / "streamlit.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, cwd=REPO)
        try:
            _wait_healthy(process, f"http://127.0.0.1:{port}/_stcore/health", log_path)
            yield f"http://127.0.0.1:{port}/"
        finally:
            stop_process(process)


def test_the_web_chat_shows_the_same_confidence(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    with fixed_web_chat(tmp_path) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1200})
            page.set_default_timeout(ANSWER_TIMEOUT_S * 1000)
            page.goto(url)
            box = page.get_by_test_id("stChatInput").locator("textarea")
            page.locator(f"{READY}, {CRASHED}").first.wait_for(timeout=STARTUP_TIMEOUT_S * 1000)
            assert page.locator(CRASHED).count() == 0, page.inner_text("body")
            box.fill(QUESTION)
            box.press("Enter")
            page.get_by_test_id("stForm").first.wait_for()  # the feedback form: every answer is in
            shown = {n: " ".join(columns(page, n).last.inner_text().split()) for n in SHOWN}
            tooltip = hover_text(page, columns(page, "slm").last)
            ARTIFACT.parent.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACT)
        finally:
            browser.close()
    for name in SHOWN:
        assert SHOWN[name] in shown[name], shown[name]
    assert fixed_answer("llm").text in shown["llm"]  # the low-confidence answer is still visible
    assert CASCADE_LINE in shown["cascade"]  # who answered, who was tried and why, time and cost
    assert f"Why: {REASONS['slm']}" in tooltip and MEDIUM.calibration in tooltip, tooltip


def hover_text(page: Any, column: Any) -> str:
    """The text of the tooltip shown while the pointer rests on the column's confidence help icon."""
    column.get_by_test_id("stTooltipHoverTarget").first.hover()
    tooltip = page.get_by_test_id("stTooltipContent").first
    tooltip.wait_for()
    deadline = time.monotonic() + 10
    while not tooltip.inner_text().strip() and time.monotonic() < deadline:
        time.sleep(0.05)
    return " ".join(tooltip.inner_text().split())

