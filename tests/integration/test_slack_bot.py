"""The Slack bot over the real stack: weaviate-server, the packaged local model, Bolt in HTTP mode.

Slack itself is replaced by signed requests to the bot's own HTTP server on loopback, and by a
loopback Web API that records what the bot posts (tests/slack_recorder.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from index_parts import index_of
from slack_recorder import (
    SIGNING_SECRET,
    SlackApiRecorder,
    action_body,
    direct_message,
    event_body,
    mention,
    recording_api,
    signed_headers,
)
from slack_sdk import WebClient

from backends.weaviate.client import connect
from backends.weaviate_server.server import WeaviateServer
from chat.results import Comparison, Question
from chat.service import AnswerService
from core.domain import User
from core.feedback import FeedbackStore
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import build_answer_service, run_ingest
from slackbot.app import create_app
from slackbot.http import SlackHttpServer

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
ARTIFACT = REPO / "test-artifacts" / "slack-postMessage.json"
ALICE = User("alice", ("employees", "hr"))
PIP_QUESTION = "How long does a performance improvement plan last?"
SERIES_B_QUESTION = "How much did Corvala raise in its Series B?"
RESTRICTED = "performance-review-and-termination-procedure"
ANSWER_TIMEOUT_S = 180.0


@pytest.fixture
def slack_api() -> Iterator[SlackApiRecorder]:
    """A recording Slack Web API on loopback."""
    with recording_api() as api:
        yield api


class Recorded:
    """The real answer service, keeping each comparison so tests can see what was retrieved."""

    def __init__(self, service: AnswerService) -> None:
        self.service = service
        self.comparisons: list[Comparison] = []
        self.questions: list[Question] = []

    def compare(self, question: Question, names: Sequence[str] | None = None) -> Comparison:
        self.questions.append(question)
        comparison = self.service.compare(question, names)
        self.comparisons.append(comparison)
        return comparison


@pytest.fixture(scope="module")
def stack(
    weaviate_node: WeaviateServer, weaviate_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, AnswerService]]:
    """Public, handbook and HR documents ingested once; the answer service over them."""
    root = tmp_path_factory.mktemp("slack")
    corpus = root / "corpus"
    for folder in ("public", "handbook", "hr"):
        shutil.copytree(REPO / "corpora" / folder, corpus / folder)
    shutil.copy(REPO / "corpora" / "_access.yaml", corpus / "_access.yaml")
    node = weaviate_node.config
    settings = Settings(
        weaviate_url=weaviate_node.url,
        weaviate_grpc_url=f"{node.client_host}:{node.ports.grpc}",
        weaviate_api_key=weaviate_node.api_key(),
        weaviate_binary=weaviate_binary,
        data_dir=root / "data",
        cache_dir=root / "cache",
        collection=f"Test_{uuid.uuid4().hex[:12]}",
        users_file=REPO / "corpora" / "users.yaml",
        slm_threads=1,
        slm_max_tokens=48,
        llm_base_url=None,
        llm_api_key=None,
        slack_bot_token="xoxb-test",
        slack_signing_secret=SIGNING_SECRET,
        slm_large_enabled=False,
    )
    summary = run_ingest(settings, [corpus], progress=NullProgress())
    assert summary.failed == [] and summary.added
    client = connect(settings)
    try:
        yield settings, build_answer_service(settings, index_of(client, settings), ("slm", "llm"))
    finally:
        client.close()


@pytest.fixture
def bot(
    stack: tuple[Settings, AnswerService],
    slack_api: SlackApiRecorder,
    tmp_path: Path,
) -> Iterator[tuple[SlackHttpServer, Recorded, FeedbackStore]]:
    """The bot serving HTTP on loopback as in production (acknowledge first, answer after)."""
    settings, service = stack
    slack_api.add_user("U0ALICE", "alice@corvala.example")
    slack_api.add_user("U0CAROL", "carol@corvala.example")
    recorded = Recorded(service)
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    app = create_app(
        settings.replace(slack_generators="slm,llm"),  # llm: listed, not configured
        recorded,
        client=WebClient(token="xoxb-test", base_url=slack_api.base_url),
        feedback=store,
        process_before_response=False,
    )
    server = SlackHttpServer(app, host="127.0.0.1", port=0)
    server.start()
    try:
        yield server, recorded, store
    finally:
        server.stop()


def post(url: str, body: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


def deliver(url: str, body: str, **extra: str) -> float:
    """POST a signed delivery; the seconds until Slack would have had its acknowledgement."""
    started = time.perf_counter()
    assert post(url, body, {**signed_headers(body), **extra}) == 200
    return time.perf_counter() - started


def sources_of(comparison: Comparison) -> set[str]:
    return {Path(h.chunk.source).stem for h in comparison.retrieval.hits}


def test_dm_reply_in_thread_with_citations_and_feedback(bot, slack_api):
    server, recorded, store = bot
    event = direct_message(SERIES_B_QUESTION, user="U0ALICE", ts="1750000000.000100")
    assert deliver(server.url, event_body(event)) < 3.0
    [call] = slack_api.wait_for("chat.postMessage", 1, timeout_s=ANSWER_TIMEOUT_S)
    slack_api.wait_for("reactions.remove", 1)  # the ⏳ the question wore while it was answered
    assert [c.method for c in slack_api.calls if c.method.startswith(("reactions.", "chat.post"))] == [
        "reactions.add", "chat.postMessage", "reactions.remove",
    ]  # fmt: skip
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(json.dumps(call.params, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    assert [q.user for q in recorded.questions] == [ALICE]  # a DM searches with the asker's groups
    [comparison] = recorded.comparisons
    slm, llm = comparison.answers
    assert call.params["channel"] == "D0ALICE" and call.params["thread_ts"] == "1750000000.000100"
    blocks = call.params["blocks"]
    texts = json.dumps(blocks, ensure_ascii=False)
    assert slm.error is None and slm.citations, f"no cited answer: {slm.text!r}"
    assert "18 million" in slm.text
    for citation in slm.citations:
        assert f"[{citation.number}] *{citation.title}*" in texts
    assert "*Sources*" in texts and "stayed on-premises" in texts
    assert llm.error and "could not answer" in texts  # the hosted model is not configured here

    buttons = next(b for b in blocks if b["type"] == "actions")["elements"]
    helpful = next(b for b in buttons if b["action_id"] == "docduet_feedback_helpful")
    body = action_body(
        helpful["value"],
        helpful["action_id"],
        user="U0ALICE",
        channel="D0ALICE",
        message_ts="1750000000.000200",
        thread_ts="1750000000.000100",
    )
    deliver(server.url, body, **{"Content-Type": "application/x-www-form-urlencoded"})
    slack_api.wait_for("chat.postEphemeral", 1)
    [record] = store.all()
    assert (record.channel, record.user, record.verdict, record.question) == (
        "slack",
        "alice",
        "helpful",
        SERIES_B_QUESTION,
    )
    assert record.answers[0]["generator"] == "slm" and record.answers[0]["text"] == slm.text


def test_channel_reply_never_uses_restricted_documents(bot, slack_api, stack):
    server, recorded, _ = bot
    _, service = stack
    # The same question by the same person in a DM would retrieve the HR procedure ...
    assert RESTRICTED in sources_of_hits(service, PIP_QUESTION, ALICE)
    # ... but in a channel everyone reads the thread: public documents only.
    deliver(server.url, event_body(mention(PIP_QUESTION, user="U0ALICE", ts="1750000001.000100")))
    [call] = slack_api.wait_for("chat.postMessage", 1, timeout_s=ANSWER_TIMEOUT_S)
    [comparison] = recorded.comparisons
    assert all(h.chunk.access.groups == ("public",) for h in comparison.retrieval.hits)
    payload = json.dumps(call.params)
    for restricted in (RESTRICTED, "termination", "salary-bands", "Salary bands", "/hr/"):
        assert restricted not in payload  # (the question itself does say "performance")
    assert call.params["thread_ts"] == "1750000001.000100"
    assert "public documents only" in payload


def sources_of_hits(service: AnswerService, text: str, user: User) -> set[str]:
    return {Path(h.chunk.source).stem for h in service.retrieve(Question(text, user)).hits}


def test_a_reply_in_the_thread_follows_up_on_the_answer_there(bot, slack_api):
    server, recorded, _ = bot
    first = "How long is paid parental leave for a primary carer?"
    deliver(server.url, event_body(direct_message(first, user="U0ALICE", ts="1750000100.000100")))
    slack_api.wait_for("chat.postMessage", 1, timeout_s=ANSWER_TIMEOUT_S)
    follow_up = direct_message(
        "And for a secondary carer?", user="U0ALICE", ts="1750000100.000300", thread_ts="1750000100.000100"
    )
    deliver(server.url, event_body(follow_up))
    calls = slack_api.wait_for("chat.postMessage", 2, timeout_s=ANSWER_TIMEOUT_S)

    assert [c.params["thread_ts"] for c in calls] == ["1750000100.000100"] * 2
    _, second = recorded.questions
    assert [t.content for t in second.history if t.role == "user"] == [first]
    comparison = recorded.comparisons[1]
    assert comparison.retrieval.query == f"{first} And for a secondary carer?"
    top = comparison.retrieval.hits[0].chunk
    assert top.source.endswith("handbook/employee-handbook.md") and "secondary carer" in top.text.lower()


def test_retried_deliveries_are_answered_once(bot, slack_api):
    server, recorded, _ = bot
    body = event_body(
        mention(
            "How much does Corvala contribute to a UK employee's pension?",
            user="U0CAROL",
            ts="1750000002.000100",
        ),
        event_id="Ev0PENSION",
    )
    acks = [deliver(server.url, body)]
    for n in (1, 2):
        acks.append(
            deliver(server.url, body, **{"X-Slack-Retry-Num": str(n), "X-Slack-Retry-Reason": "http_timeout"})
        )
    assert max(acks) < 3.0
    slack_api.wait_for("chat.postMessage", 1, timeout_s=ANSWER_TIMEOUT_S)
    time.sleep(1.0)  # a duplicate would have been answered by now: the model is warm and idle
    assert len(slack_api.of("chat.postMessage")) == 1 and len(recorded.comparisons) == 1
    [call] = slack_api.of("chat.postMessage")
    assert call.params["thread_ts"] == "1750000002.000100" and call.params["channel"] == "C0GENERAL"


def test_bad_and_stale_signatures_get_401(bot, slack_api):
    server, recorded, _ = bot
    body = event_body(mention("What is the VPN address?", user="U0CAROL"))
    assert post(server.url, body, signed_headers(body, secret="guessed")) == 401
    assert post(server.url, body, signed_headers(body, timestamp=int(time.time()) - 3600)) == 401
    assert post(server.url, body, {"Content-Type": "application/json"}) == 401
    assert recorded.comparisons == [] and slack_api.of("chat.postMessage") == []


def test_docduet_slack_command_serves_http(stack, slack_api, tmp_path):
    """The real entry point: `docduet slack --mode http` in its own process, stopped by SIGTERM."""
    settings, _ = stack
    slack_api.add_user("U0CAROL", "carol@corvala.example")
    port = free_port()
    env = {
        **os.environ,
        "WEAVIATE_URL": str(settings.weaviate.weaviate_url),
        "WEAVIATE_GRPC_URL": str(settings.weaviate.weaviate_grpc_url),
        "WEAVIATE_API_KEY": settings.weaviate.weaviate_api_key.get_secret_value()
        if settings.weaviate.weaviate_api_key
        else "",
        "DOCDUET_COLLECTION": settings.weaviate.collection,
        "DOCDUET_DATA_DIR": str(tmp_path / "data"),
        "DOCDUET_USERS_FILE": str(settings.identity.users_file),
        "DOCDUET_SLM_THREADS": "1",
        "DOCDUET_SLACK_API_URL": slack_api.base_url,
        "SLACK_BOT_TOKEN": "xoxb-cli",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
    }
    command = [sys.executable, "-m", "docduet.cli", "slack", "--mode", "http", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/slack/events"
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", process, timeout_s=120)
        assert slack_api.of("auth.test")[0].token == "xoxb-cli"
        body = event_body(mention("", user="U0CAROL", ts="1750000003.000100"))
        assert post(url, body, signed_headers(body, secret="guessed")) == 401
        assert post(url, body, signed_headers(body)) == 200
        [call] = slack_api.wait_for("chat.postMessage", 1, timeout_s=30)
        assert call.params["thread_ts"] == "1750000003.000100" and "Ask me about" in call.params["text"]
        process.send_signal(signal.SIGTERM)
        # uvicorn shuts down gracefully, then re-raises the signal: the exit status says SIGTERM
        assert process.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    output = process.stdout.read() if process.stdout else ""
    assert "Traceback" not in output, output


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[str], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"docduet slack exited with {process.returncode}:\n{output}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"docduet slack did not serve {url} within {timeout_s} s")
