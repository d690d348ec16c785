"""Doubles shared by the Slack app tests: a scripted answer service, settings, the loopback Web API."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from fakes import make_chunk
from slack_bolt import App, BoltRequest
from slack_recorder import (
    SIGNING_SECRET,
    SlackApiRecorder,
    recording_api,
    signed_headers,
)
from slack_sdk import WebClient

from chat.results import Comparison, Question, Retrieval
from core.domain import Answer, Citation, Hit, Privacy, Timings, Usage, User
from core.settings import Settings
from slackbot.app import create_app

USERS = Path(__file__).resolve().parents[2] / "corpora" / "users.yaml"
ALICE = User("alice", ("employees", "hr"))


@pytest.fixture
def slack_api() -> Iterator[SlackApiRecorder]:
    """A recording Slack Web API on loopback."""
    with recording_api() as api:
        yield api


def hit(source: str, groups: tuple[str, ...]) -> Hit:
    chunk = make_chunk(
        chunk_id=f"id-{source}",
        source=source,
        root="/corpus",
        title=source.rsplit("/", 1)[-1],
        section="Intro",
        groups=groups,
    )
    return Hit(chunk, 0.9)


class FakeAnswerer:
    """Answers from fixed hits, honouring the reader's groups like the real retriever."""

    def __init__(
        self,
        hits: Sequence[Hit],
        *,
        leak: bool = False,
        fail: Exception | None = None,
        gate: threading.Event | None = None,
    ) -> None:
        self.hits, self.leak, self.fail, self.gate = list(hits), leak, fail, gate
        self.questions: list[Question] = []

    def compare(self, question: Question, names: Sequence[str] | None = None) -> Comparison:
        self.questions.append(question)
        if self.gate is not None:
            assert self.gate.wait(10)
        if self.fail is not None:
            raise self.fail
        readable = set(question.user.readable_groups)
        hits = tuple(h for h in self.hits if self.leak or readable & set(h.chunk.access.groups))
        answers = tuple(self._answer(n, hits) for n in names or ["slm"])
        return Comparison(
            question.text, question.user.name, Retrieval(question.text, hits, 0.01), answers, 0.5
        )

    def _answer(self, name: str, hits: tuple[Hit, ...]) -> Answer:
        cites = tuple(
            Citation(i, h.chunk.source, h.chunk.title, "Intro", None, "snippet", 0.7)
            for i, h in enumerate(hits, 1)
        )
        text = " ".join(f"Fact from {h.chunk.title} [{i}]." for i, h in enumerate(hits, 1)) or "Not found."
        return Answer(
            name,
            text,
            cites,
            Timings(0.01, 0.2, 0.5),
            Usage(100, 10, 0.0),
            Privacy("local", False, tuple(h.chunk.chunk_id for h in hits), 0),
        )


HITS = [hit("/corpus/public/careers.md", ("public",)), hit("/corpus/hr/salary-bands.md", ("hr",))]


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    """The unit tier's settings (tests/unit/conftest.py), set up for the Slack app."""
    return make_settings(
        slack_generators="slm",
        users_file=USERS,
        slack_signing_secret=SIGNING_SECRET,
        slack_bot_token="xoxb-test",
    )


def make_app(settings: Settings, api: SlackApiRecorder, answerer: FakeAnswerer, **kw) -> App:
    api.add_user("U0ALICE", "alice@corvala.example")
    client = WebClient(token="xoxb-test", base_url=api.base_url)
    return create_app(
        settings,
        answerer,
        client=client,
        feedback=kw.pop("feedback", None),
        process_before_response=kw.pop("process_before_response", True),
        **kw,
    )


def send(app: App, body: str, **headers: str):
    return app.dispatch(BoltRequest(body=body, headers={**signed_headers(body), **headers}))


def posted_sources(api: SlackApiRecorder) -> str:
    return json.dumps([c.params for c in api.of("chat.postMessage")])
