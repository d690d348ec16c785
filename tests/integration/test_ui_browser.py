"""The web chat end to end: ``docduet ui`` in a subprocess, driven by Chromium through Playwright.

Real backend: the session's weaviate-server with corpora/ ingested once for this module, the
packaged local model in the UI process, and the hosted column pointed at a llama-cpp-python
OpenAI-compatible server on loopback. A proxy in front of that server records what was sent and
pins temperature 0, so the hosted column answers the same way every run.

Artifacts: test-artifacts/ui-two-columns.png (the two-column answer) and
test-artifacts/ui-first-token.json (seconds from pressing Enter to the first visible words).
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from answer_fixtures import answer_settings, settings_env
from index_parts import retriever_of
from llm_server import RecordingProxy, _ProxyHandler, free_port
from tests_helpers import chunk_ids, stop_process

from backends.weaviate.client import open_client
from backends.weaviate_server.server import WeaviateServer
from core.domain import User
from core.errors import BackendUnavailableError
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import run_ingest
from ingest.last_run import record_last_run
from ui.backend import LiveBackend, describe_outage
from ui.progress_bar import BarProgress

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Both models cite the VPN guide for this one (checked with temperature 0 and 48 tokens).
QUESTION = "What is the VPN server address and port?"
CITED_SOURCE = "vpn-setup.html"
SALARY = "What is the salary band midpoint for a Senior Software Engineer (L4) in Leeds?"
SALARY_FILE = "salary-bands-2025.xlsx"
SALARY_FIGURE = "78,000"
WAITING = "Waiting for the first words"
STARTUP_TIMEOUT_S = 180.0
ANSWER_TIMEOUT_S = 300.0
DOWNLOAD_ATTEMPTS = 3
DOCUMENTS = 19
"""Files of corpora/ that are ingested (its README.md is in corpora/.docduetignore)."""
ALICE = User("alice", ("employees", "hr"))
CAROL = User("carol", ("employees",))


class _GreedyHandler(_ProxyHandler):
    """Forwards chat requests with temperature 0 and a fixed seed."""

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if body and self.command == "POST":
            body = json.dumps(json.loads(body) | {"temperature": 0.0, "seed": 7}).encode()
        del self.headers["Content-Length"]
        self.headers["Content-Length"] = str(len(body))
        self.rfile = io.BytesIO(body)
        super()._forward()


class GreedyProxy(RecordingProxy):
    handler = _GreedyHandler


@pytest.fixture(scope="module")
def greedy_llm(llama_server_port: int) -> Iterator[GreedyProxy]:
    with GreedyProxy(llama_server_port) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def ui_settings(
    weaviate_node: WeaviateServer,
    weaviate_binary: Path,
    gguf_path: Path,
    greedy_llm: GreedyProxy,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    """corpora/ ingested once into this module's collection; its run recorded like the CLI does."""
    root = tmp_path_factory.mktemp("ui")
    corpus = Path(shutil.copytree(REPO / "corpora", root / "corpus"))
    settings = answer_settings(
        weaviate_node, weaviate_binary, root, gguf_path, greedy_llm.base_url,
        users_file=corpus / "users.yaml", slm_max_tokens=48, llm_max_tokens=48,
    )  # fmt: skip
    summary = run_ingest(settings, [corpus], progress=NullProgress())
    assert summary.failed == [] and len(summary.added) == DOCUMENTS
    record_last_run(summary, settings.paths.data_dir)
    return settings


# --- the backend the pages use, against the real Weaviate ---------------------------------------


def test_index_statistics_match_what_is_stored(ui_settings: Settings) -> None:
    stats = LiveBackend(ui_settings).index_stats()
    stored = chunk_ids(ui_settings)
    assert {d.source: d.chunks for d in stats.documents} == {s: len(ids) for s, ids in stored.items()}
    assert stats.chunks == sum(len(ids) for ids in stored.values())
    by_type = stats.by("doc_type")
    assert {"md", "pdf", "docx", "xlsx", "pptx", "html", "eml", "txt"} <= set(by_type)
    assert by_type["xlsx"][0] == 4  # salary bands, budget, holiday calendar, expense limits
    salary = next(d for d in stats.documents if d.source.endswith(SALARY_FILE))
    assert (salary.groups, salary.sensitivity) == (("hr",), "confidential")


def test_reindex_reports_progress_and_records_the_run(ui_settings: Settings) -> None:
    moves: list[float] = []

    class Bar:
        def progress(self, value: float, text: str | None = None) -> None:
            moves.append(value)

    backend = LiveBackend(ui_settings)
    summary = backend.reindex(BarProgress(Bar()))
    assert len(summary.unchanged) == DOCUMENTS and summary.failed == []
    assert moves[0] == 0.0 and moves[-1] == 1.0 and len(moves) == DOCUMENTS + 2
    last = backend.last_run()
    assert last is not None and len(last.summary["unchanged"]) == DOCUMENTS


def test_unreachable_weaviate_says_what_to_do(ui_settings: Settings) -> None:
    http, grpc = free_port(), free_port()
    dead = ui_settings.replace(
        weaviate_url=f"http://127.0.0.1:{http}", weaviate_grpc_url=f"127.0.0.1:{grpc}"
    )
    with pytest.raises(BackendUnavailableError) as caught:
        LiveBackend(dead).answerer()
    assert "WEAVIATE_URL" in describe_outage(caught.value, dead)


# --- the browser ---------------------------------------------------------------------------------


@contextmanager
def running_ui(settings: Settings, log_dir: Path, port: int | None = None, **env: str) -> Iterator[str]:
    """``docduet ui`` on a loopback port (default: a free one) with ``settings`` (plus ``env``); its URL."""
    port = port or free_port()
    log_path = log_dir / "streamlit.log"
    docduet = str(Path(sys.executable).with_name("docduet"))
    full_env = {**os.environ, **settings_env(settings), "OMP_NUM_THREADS": "1", **env}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [docduet, "ui", "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=full_env,
        )
        try:
            _wait_healthy(process, f"http://127.0.0.1:{port}/_stcore/health", log_path)
            yield f"http://127.0.0.1:{port}/"
        finally:
            stop_process(process)


@pytest.fixture(scope="module")
def ui_url(ui_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The web chat with the demo sign-in selector (on loopback, where it is allowed)."""
    with running_ui(ui_settings, tmp_path_factory.mktemp("ui-log"), DOCDUET_UI_DEMO_SIGNIN="1") as url:
        yield url


def _wait_healthy(process: subprocess.Popen[bytes], url: str, log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"docduet ui exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"docduet ui did not become healthy within {STARTUP_TIMEOUT_S:.0f} s")


def test_chat_in_the_browser(ui_url: str, ui_settings: Settings, greedy_llm: GreedyProxy) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1440, "height": 1400}, accept_downloads=True)
            page.set_default_timeout(60_000)
            page.goto(ui_url)
            page.get_by_test_id("stChatInput").locator("textarea").wait_for(timeout=STARTUP_TIMEOUT_S * 1000)
            sign_in(page, "carol")
            first_token = ask(page, QUESTION)
            check_two_cited_answers(page)
            check_download(page, ui_settings)
            screenshot(page, ARTIFACTS / "ui-two-columns.png")
            give_feedback(page, ui_settings)
            greedy_llm.clear()
            ask(page, SALARY)
            check_no_confidential_source(page, greedy_llm)
        finally:
            browser.close()
    (ARTIFACTS / "ui-first-token.json").write_text(json.dumps({"question": QUESTION, **first_token}))
    print(f"\nseconds from Enter to the first visible words: {first_token}")


def sign_in(page: Any, name: str) -> None:
    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name=re.compile(rf"^{name} ·")).click()
    page.get_by_text(f"Signed in as {name}").first.wait_for()


def columns(page: Any, name: str) -> Any:
    return page.locator(f"[class*='st-key-answer-{name}-']")


def ask(page: Any, question: str) -> dict[str, float]:
    """Ask, then wait for both answers; seconds from Enter until each column showed words."""
    turns = columns(page, "slm").count()
    forms = page.get_by_test_id("stForm").count()
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.fill(question)
    started = time.perf_counter()
    box.press("Enter")
    first: dict[str, float] = {}
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while page.get_by_test_id("stForm").count() <= forms:
        assert time.monotonic() < deadline, f"no finished answers to {question!r} in time"
        for name in ("slm", "llm"):
            column = columns(page, name)
            if name not in first and column.count() > turns:
                text = column.last.inner_text()
                if WAITING not in text and len(text.splitlines()) > 2:
                    first[name] = round(time.perf_counter() - started, 2)
        time.sleep(0.05)
    return first


def check_two_cited_answers(page: Any) -> None:
    for name in ("slm", "llm"):
        column = columns(page, name).last
        assert column.get_by_test_id("stAlert").count() == 0, column.inner_text()
        citations = column.get_by_test_id("stExpander")
        assert citations.count() >= 1, f"{name} has no citation:\n{column.inner_text()}"
        assert "first token" in column.inner_text()
    assert "sent off-premises: no" in columns(page, "slm").last.inner_text()
    assert "sent off-premises: yes" in columns(page, "llm").last.inner_text()


def check_download(page: Any, settings: Settings) -> None:
    """Open the local answer's first citation, fetch its source file ("Download source"), save it."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    citation = columns(page, "slm").last.get_by_test_id("stExpander").first
    citation.locator("summary").click()
    for attempt in range(1, DOWNLOAD_ATTEMPTS + 1):
        # A click that lands while the page reruns is lost (the button is redrawn): click again.
        try:
            citation.get_by_role("button", name=re.compile("Download source")).click()
            with page.expect_download(timeout=30_000) as download:
                citation.get_by_role("button", name=re.compile("Save ")).click(timeout=30_000)
            break
        except PlaywrightTimeout:
            if attempt == DOWNLOAD_ATTEMPTS:
                raise
    name = download.value.suggested_filename
    sources = [p for p in (Path(settings.identity.users_file).parent).rglob(name)]  # type: ignore[arg-type]
    assert len(sources) == 1 and Path(download.value.path()).read_bytes() == sources[0].read_bytes()


def screenshot(page: Any, path: Path) -> None:
    """The latest question at the top of the window, both answers below it."""
    page.get_by_test_id("stChatMessage").nth(-2).evaluate("e => e.scrollIntoView({block: 'start'})")
    time.sleep(0.5)
    page.screenshot(path=path)


def give_feedback(page: Any, settings: Settings) -> None:
    form = page.get_by_test_id("stForm").last
    form.get_by_role("radio", name=re.compile("All good")).click()
    form.get_by_placeholder(re.compile("What was wrong")).fill("VPN answer checked in the browser")
    form.get_by_role("button", name=re.compile("Send")).click()
    page.get_by_text("Feedback saved: All good").first.wait_for()
    with sqlite3.connect(settings.paths.data_dir / "feedback.sqlite3") as db:
        rows = db.execute(
            "SELECT channel, user, question, verdict, comment, answers FROM feedback"
        ).fetchall()
    assert len(rows) == 1
    channel, user, question, verdict, comment, answers = rows[0]
    assert (channel, user, question, verdict) == ("web", "carol", QUESTION, "all_good")
    assert comment == "VPN answer checked in the browser"
    assert [a["generator"] for a in json.loads(answers)] == ["slm", "llm", "cascade"]


def check_no_confidential_source(page: Any, proxy: GreedyProxy) -> None:
    """Carol may not read the salary bands: no citation, no figure, nothing sent about them."""
    turn = page.get_by_test_id("stChatMessage").last
    text = turn.inner_text()
    labels = turn.get_by_test_id("stExpander").all_inner_texts()
    assert not any("Salary" in label for label in labels), labels
    assert SALARY_FIGURE not in text
    assert SALARY_FIGURE not in proxy.sent_text()


def test_a_trusted_proxy_header_decides_who_is_signed_in(ui_settings: Settings, tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    proxied = running_ui(
        ui_settings, tmp_path, DOCDUET_UI_USER_HEADER="X-Forwarded-User",
        DOCDUET_UI_TRUSTED_PROXIES="127.0.0.1",
    )  # fmt: skip
    with proxied as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            sidebars = {
                user: sidebar_as(browser, url, {"X-Forwarded-User": user} if user else {})
                for user in ("dana@corvala.example", "carol", "")
            }
        finally:
            browser.close()
    assert "Signed in as dana · employees, admins" in sidebars["dana@corvala.example"]
    assert "Admin" in sidebars["dana@corvala.example"].split()
    assert "Signed in as carol · employees" in sidebars["carol"]
    assert "Admin" not in sidebars["carol"].split()
    assert "expected one X-Forwarded-User header, got 0" in sidebars[""]
    assert all("demo users" not in text for text in sidebars.values())  # no selector


def sidebar_as(browser: Any, url: str, headers: dict[str, str]) -> str:
    """The sidebar's text for a browser session that sends ``headers``."""
    context = browser.new_context(extra_http_headers=headers)
    try:
        page = context.new_page()
        page.goto(url)
        page.get_by_text("Signed in as").first.wait_for(timeout=STARTUP_TIMEOUT_S * 1000)
        return str(page.get_by_test_id("stSidebar").inner_text())
    finally:
        context.close()


def test_the_salary_bands_answer_that_question_for_hr(ui_settings: Settings) -> None:
    """The positive control for the browser check: alice's search finds the salary bands."""
    with open_client(ui_settings, autostart=False) as client:
        retriever = retriever_of(client, ui_settings)
        alice = [h.chunk.source for h in retriever.retrieve(SALARY, user=ALICE)]
        carol = [h.chunk.source for h in retriever.retrieve(SALARY, user=CAROL)]
    assert any(s.endswith(SALARY_FILE) for s in alice), alice
    assert not any(s.endswith(SALARY_FILE) for s in carol), carol


def test_an_admin_reindexes_a_new_file_from_the_admin_page(ui_settings: Settings, tmp_path: Path) -> None:
    """In the browser, as an admin: "Reindex now" parses the new file in its worker and says so."""
    from playwright.sync_api import sync_playwright

    note = Path(ui_settings.identity.users_file).parent / "public" / "bike-shed.md"  # type: ignore[arg-type]
    note.write_text("# Bike shed\n\nThe bike shed behind the Leeds office opens at 07:00.\n")
    admin = running_ui(
        ui_settings, tmp_path,
        DOCDUET_UI_USER_HEADER="X-Forwarded-User", DOCDUET_UI_TRUSTED_PROXIES="127.0.0.1",
    )  # fmt: skip
    try:
        with admin as url, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            try:
                context = browser.new_context(extra_http_headers={"X-Forwarded-User": "dana@corvala.example"})
                page = context.new_page()
                page.goto(url)
                page.get_by_text("Signed in as").first.wait_for(timeout=STARTUP_TIMEOUT_S * 1000)
                page.get_by_test_id("stSidebarNavLink").filter(has_text="Admin").click()
                page.get_by_role("button", name=re.compile("Reindex now")).click()
                done = page.get_by_text(re.compile(r"\d+ added · \d+ updated")).first
                done.wait_for(timeout=STARTUP_TIMEOUT_S * 1000)
                summary = done.inner_text()
            finally:
                browser.close()
    finally:
        note.unlink()
    assert "1 added" in summary and "0 failed" in summary, summary
