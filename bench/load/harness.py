"""The load harness: the real web back end and Slack bot over one index, and the phases run on them."""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import re
import threading
import time
from pathlib import Path
from typing import Any

from bench.load.plan import (
    SLACK_ANSWERS,
    SLACK_RETRIEVAL,
    USERS_FILE,
    WEB_ANSWERS,
    WEB_RETRIEVAL,
    Phase,
    Plan,
    demo_users,
    questions_for,
)
from bench.load.sample import QuietView, Sample, answer_errors, error_kind
from bench.load.servers import HOST, TimedPool, write_generators_file
from bench.load.slack import Delivery, Observed, SlackWatcher, post
from bench.load.stats import summarise
from chat.results import Question
from core.domain import User
from core.settings import Settings

APOLOGY_MARK = "Sorry, I couldn't answer"
_GENERATOR_ERROR = re.compile(r":warning: (.{0,80}?) could not answer: ([^\"\\]{0,80})")

log = logging.getLogger(__name__)


class LoadHarness:
    """The real web back end and Slack bot over one index, and the simulated users that load them.

    ``settings`` aim at an ingested collection; ``hosted_url`` is the loopback OpenAI-compatible
    server's /v1 URL; ``workdir`` gets the generators file, the bot's feedback store and logs.
    """

    def __init__(self, settings: Settings, *, hosted_url: str, workdir: Path) -> None:
        self.base = settings
        self.hosted_url = hosted_url
        self.workdir = workdir
        self._stack = contextlib.ExitStack()
        self._ts = itertools.count(1)

    def __enter__(self) -> LoadHarness:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _start(self) -> None:
        from pydantic import SecretStr
        from slack_sdk import WebClient

        from bench.doubles.echo_llm import EchoLLM
        from bench.doubles.slack_api import SIGNING_SECRET, recording_api
        from core.feedback import FeedbackStore
        from docduet.compose import Root
        from slackbot.app import create_app
        from slackbot.http import SlackHttpServer
        from ui.backend import LiveBackend

        self.workdir.mkdir(parents=True, exist_ok=True)
        self.echo = self._stack.enter_context(EchoLLM())
        generators = write_generators_file(
            self.workdir / "generators.yaml", hosted_url=self.hosted_url, echo_url=self.echo.base_url
        )
        self.settings = self.base.replace(
            **{
                "generators_file": generators,
                "users_file": USERS_FILE,
                "rate_limit_questions": 0,  # the load is the point; the limiter has its own tests
                "slack_bot_token": SecretStr("xoxb-load"),  # model_copy does not validate
                "slack_signing_secret": SecretStr(SIGNING_SECRET),
            }
        )
        self.demo = demo_users(self.settings)
        web = Root(self.settings, autostart=False)  # the web chat's process
        self._stack.callback(web.close)
        self.backend = LiveBackend(self.settings, web)
        self.columns = tuple(i.name for i in self.backend.columns())
        local: Any = web.generators(["slm"])[0]["slm"]  # the one every service shares
        self.pool = TimedPool(local._pool)
        local._pool = self.pool

        self.slack_api = self._stack.enter_context(recording_api())
        for i in range(max(128, len(self.demo))):
            demo = self.demo[i % len(self.demo)]
            self.slack_api.add_user(self.slack_user(i), demo.email)
        self.watcher = self._stack.enter_context(SlackWatcher(self.slack_api))
        slack = Root(self.settings, autostart=False)  # the Slack bot's process: a connection of its own
        self._stack.callback(slack.close)
        feedback = FeedbackStore(self.workdir / "slack-feedback.sqlite3")
        self.bots: dict[str, tuple[str, Observed, tuple[str, ...]]] = {}
        for path, names in ((SLACK_RETRIEVAL, ("echo",)), (SLACK_ANSWERS, ("slm", "llm"))):
            observed = Observed(slack.answer_service(names))
            app = create_app(
                self.settings.replace(slack_generators=",".join(names)),
                observed,
                client=WebClient(token="xoxb-load", base_url=self.slack_api.base_url),
                feedback=feedback,
                process_before_response=False,  # as in production: acknowledge, then answer
            )
            server = SlackHttpServer(app, host=HOST, port=0)
            server.start()
            self._stack.callback(server.stop)
            self.bots[path] = (server.url, observed, names)

    @staticmethod
    def slack_user(i: int) -> str:
        return f"U0LOAD{i:03d}"

    # -- the four kinds of request --

    def ask(self, path: str, user_index: int, text: str) -> Sample:
        demo = self.demo[user_index % len(self.demo)]
        if path == WEB_RETRIEVAL:
            return self._web_retrieve(demo.user, text)
        if path == WEB_ANSWERS:
            return self._web_answer(demo.user, text)
        return self._slack(path, user_index, text)

    def _web_retrieve(self, user: User, text: str) -> Sample:
        started = time.perf_counter()
        try:
            retrieval = self.backend.answerer().retrieve(Question(text, user))  # type: ignore[attr-defined]
        except Exception as e:
            return Sample(time.perf_counter() - started, error=error_kind(e))
        return Sample(time.perf_counter() - started, passages=len(retrieval.hits))

    def _web_answer(self, user: User, text: str) -> Sample:
        from ui.streaming import LiveTurn, run_stream

        started = time.perf_counter()
        view = QuietView()
        try:
            live = LiveTurn(tuple(i.name for i in self.backend.columns()))
            run_stream(self.backend.answerer(), Question(text, user), live, view)
        except Exception as e:
            return Sample(time.perf_counter() - started, error=error_kind(e))
        answers = live.ordered_answers()
        return Sample(
            time.perf_counter() - started,
            error=answer_errors(answers, live.names),
            passages=len(live.retrieval.hits) if live.retrieval else 0,
            answers=answers,
            ahead=view.ahead,
        )

    def _slack(self, path: str, user_index: int, text: str) -> Sample:
        from bench.doubles.slack_api import direct_message, event_body, signed_headers

        url = self.bots[path][0]
        ts = f"{1760000000 + next(self._ts)}.000100"
        event = direct_message(
            text, user=self.slack_user(user_index), channel=f"D0LOAD{user_index:03d}", ts=ts
        )
        body = event_body(event)
        delivery = self.watcher.expect(ts)
        try:
            status = post(url, body, signed_headers(body))
            ack = time.perf_counter() - delivery.sent
            if status != 200:
                return Sample(ack, error=f"HTTP {status} from the bot", ack_s=ack)
            delivery.done.wait(self.timeout_s)
            end = delivery.finished if delivery.done.is_set() and delivery.finished else time.perf_counter()
            wait = delivery.worker_started - delivery.sent if delivery.worker_started else None
            return Sample(
                end - delivery.sent, error=self._slack_error(delivery), worker_wait_s=wait, ack_s=ack
            )
        except OSError as e:
            return Sample(time.perf_counter() - delivery.sent, error=error_kind(e))
        finally:
            self.watcher.forget(ts)

    def _slack_error(self, delivery: Delivery) -> str | None:
        if not delivery.done.is_set():
            return f"no reply within {self.timeout_s:.0f} s"
        text = json.dumps(delivery.posts, ensure_ascii=False)
        if APOLOGY_MARK in text:
            return "the bot apologised (it could not answer)"
        match = _GENERATOR_ERROR.search(text)
        return error_kind(f"{match.group(1)}: {match.group(2)}") if match else None

    # -- phases --

    timeout_s = 300.0

    def run_phase(self, phase: Phase) -> dict[str, Any]:
        """``phase.users`` threads at once, each asking its questions until done or the cap."""
        answers = phase.path in (WEB_ANSWERS, SLACK_ANSWERS)
        samples: list[Sample] = []
        started_count = [0]
        lock = threading.Lock()
        go = threading.Event()
        self.pool.take()
        if phase.path in self.bots:
            self.bots[phase.path][1].take()
        self.echo.take()

        def user(i: int) -> None:
            questions = questions_for(self.demo[i % len(self.demo)], phase, i)
            go.wait()
            for text in questions:
                if time.perf_counter() > stop_at:
                    return
                with lock:
                    started_count[0] += 1
                sample = self.ask(phase.path, i, text)
                with lock:
                    samples.append(sample)

        threads = [
            threading.Thread(target=user, args=(i,), name=f"load-user-{i}", daemon=True)
            for i in range(phase.users)
        ]
        for t in threads:
            t.start()
        begin = time.perf_counter()
        stop_at = begin + phase.cap_s
        go.set()
        join_by = stop_at + self.timeout_s + 30
        for t in threads:
            t.join(timeout=max(0.0, join_by - time.perf_counter()))
        wall = time.perf_counter() - begin
        with lock:
            done = list(samples)
            unfinished = started_count[0] - len(done)
        comparisons = self.bots[phase.path][1].take() if phase.path in self.bots else []
        return summarise(phase, done, unfinished, wall, self.pool.take() if answers else [], comparisons)


def run_plan(harness: LoadHarness, plan: Plan, *, warm_up: bool = True) -> list[dict[str, Any]]:
    """Every phase in order; the models are loaded and the caches warmed first (not counted)."""
    harness.timeout_s = plan.request_timeout_s
    if warm_up:
        demo = harness.demo[0]
        for path in (WEB_RETRIEVAL, SLACK_RETRIEVAL, WEB_ANSWERS):
            sample = harness.ask(path, 0, demo.answerable[0])
            log.warning(
                "warm-up %s: %.1f s%s", path, sample.latency_s, f" ({sample.error})" if sample.error else ""
            )
    rows = []
    for phase in plan.phases:
        row = harness.run_phase(phase)
        log.warning(
            "%s N=%d: %d requests, %d errors, %.2f req/s",
            phase.path, phase.users, row["requests"], row["errors"], row["throughput_rps"] or 0.0,
        )  # fmt: skip
        rows.append(row)
    return rows
