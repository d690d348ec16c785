"""Load: N simulated users at once through the web back end and the Slack adapter, on loopback.

Usage: ``python -m bench.load [--out bench/results/load.json] [--quick] [--collection NAME]``

Without ``--collection`` it ingests corpora/ into a throw-away collection on the configured
Weaviate (the embedded one by default) and deletes it afterwards. Each simulated user is a
thread that asks a bounded number of questions (the sample questions it may read, and first
sentences of chunks it may read), one after the other; every phase also has a time cap after
which no user starts another question. Four paths:

- ``web retrieval``: what the chat page runs first for every question,
  ``LiveBackend.answerer().retrieve()`` (rewrite, query embedding, hybrid search with the user's
  groups, threshold, de-duplication). N = 1, 4, 16, 64.
- ``slack retrieval``: a signed ``message.im`` delivery to the bot's own HTTP server (Bolt, as
  ``docduet slack --mode http`` serves it) until its threaded reply is posted to a loopback
  Slack Web API (tests/slack_recorder.py), answered by an instant loopback model
  (tests/integration/echo_llm.py): retrieval plus the bot's own work. N = 1, 4, 16, 64.
- ``web answers``: what the chat page does with a question (``backend.columns()`` then
  ``ui.streaming.run_stream`` over ``LiveBackend.answerer()``), to the last column's answer.
  N = 1, 4, 8.
- ``slack answers``: the same delivery, answered by the same generators. N = 1, 4, 8.

The answers come from real generators, kept small so the run is bounded: the local
SmolLM2-135M-Instruct (``llama_cpp``, pool_size 1, one thread, so questions really wait in its
line) and a "hosted" ``openai_compatible`` generator on llama-cpp-python's server on loopback
serving the packaged Gemma 3 270M (one thread; started with ``--interrupt_requests false``, so
a queued request waits instead of cutting the one being streamed short).

Reported per path and N: requests, errors (by kind), throughput, p50/p95 latency and p50/p95
queue wait. Queue wait is, for the answer paths, the time a question waited for the local
model's instance (the model's InstancePool only says how many are ahead, so the bench times each
lease around it); for ``slack retrieval`` the time from the delivery until a Bolt worker started
on it (its ⏳ reaction; Bolt runs 5 listeners at once); for ``web retrieval`` there is no queue
(each user's thread calls the shared service directly, as each Streamlit session does).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import logging
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bench.report import write_report
from chat.results import Comparison, Question, Retrieval
from docduet.domain import Answer, User
from docduet.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "corpora"
USERS_FILE = CORPUS / "users.yaml"
OUT = ROOT / "bench" / "results" / "load.json"
LOCAL_MODEL = "smollm2-135m-instruct"
HOSTED_MODEL = "gemma-3-270m"
HOST = "127.0.0.1"
WEB_RETRIEVAL, SLACK_RETRIEVAL = "web retrieval", "slack retrieval"
WEB_ANSWERS, SLACK_ANSWERS = "web answers", "slack answers"
APOLOGY_MARK = "Sorry, I couldn't answer"
_GENERATOR_ERROR = re.compile(r":warning: (.{0,80}?) could not answer: ([^\"\\]{0,80})")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Phase:
    """One path at one N: ``users`` threads, each asking at most ``per_user`` questions."""

    path: str
    users: int
    per_user: int
    cap_s: float
    """No user starts a question after this many seconds."""


@dataclass(frozen=True)
class Plan:
    """Every phase of a run, and how long one request may take before it counts as failed."""

    phases: tuple[Phase, ...]
    request_timeout_s: float


def full_plan() -> Plan:
    retrieval = {1: 96, 4: 32, 16: 8, 64: 3}
    answers = {1: 3, 4: 2, 8: 1}
    return make_plan(retrieval, answers, retrieval_cap_s=60.0, answers_cap_s=240.0)


def quick_plan() -> Plan:
    return make_plan({1: 8, 4: 3, 16: 2, 64: 1}, {1: 1, 4: 1}, retrieval_cap_s=20.0, answers_cap_s=60.0)


def make_plan(
    retrieval: dict[int, int], answers: dict[int, int], *, retrieval_cap_s: float, answers_cap_s: float
) -> Plan:
    """Retrieval phases for each N in ``retrieval``, then answer phases likewise; web and Slack
    alternate at each N, so a machine getting busier or quieter during the run favours neither."""
    phases = [
        Phase(path, n, k, retrieval_cap_s)
        for n, k in retrieval.items()
        for path in (WEB_RETRIEVAL, SLACK_RETRIEVAL)
    ]
    phases += [
        Phase(path, n, k, answers_cap_s) for n, k in answers.items() for path in (WEB_ANSWERS, SLACK_ANSWERS)
    ]
    return Plan(tuple(phases), request_timeout_s=max(answers_cap_s, 120.0) + 180.0)


# --- the questions ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    """A user of corpora/users.yaml, with the questions it may be asked about."""

    user: User
    email: str
    answerable: tuple[str, ...]
    """Sample questions whose answering document this user may read."""
    retrievable: tuple[str, ...]
    """The answerable questions plus first sentences of chunks this user may read."""


def demo_users(settings: Settings) -> list[DemoUser]:
    """Every demo user with the sample questions (whose source is indexed) and chunk sentences it
    may read."""
    from docduet.db.client import open_client
    from docduet.identity import UserDirectory

    entries = yaml.safe_load(USERS_FILE.read_text(encoding="utf-8"))["users"]
    samples = yaml.safe_load((CORPUS / ".questions.yaml").read_text(encoding="utf-8"))["questions"]
    directory = UserDirectory.from_file(USERS_FILE)
    chunks: list[tuple[str, str, set[str]]] = []
    with open_client(settings, autostart=False) as client:
        for obj in client.collections.use(settings.collection).iterator(
            return_properties=["text", "source", "access_groups"]
        ):
            p = obj.properties
            groups = p["access_groups"]
            assert isinstance(groups, list)
            chunks.append((str(p["text"]), str(p["source"]), {str(g) for g in groups}))
    indexed = {source for _, source, _ in chunks}
    out = []
    for name in sorted(entries):
        user = directory.resolve(name)
        answerable = tuple(
            q["question"]
            for q in samples
            if q["source"]
            and name in q["readable_by"]
            and any(s.endswith("/" + q["source"]) for s in indexed)
        )
        readable = set(user.readable_groups)
        sentences = [first_sentence(text) for text, _, groups in chunks if groups & readable]
        retrievable = tuple(dict.fromkeys([*answerable, *(s for s in sentences if len(s.split()) >= 6)]))
        out.append(DemoUser(user, entries[name]["email"], answerable, retrievable))
    return out


def first_sentence(text: str) -> str:
    """A chunk's first sentence without Markdown heading marks, at most 200 characters."""
    line = " ".join(re.sub(r"^[#>*\-\s]+", "", text.strip()).split())
    return re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0][:200]


def questions_for(demo: DemoUser, phase: Phase, user_index: int) -> list[str]:
    """The questions of simulated user ``user_index`` in ``phase``, in an order of their own.

    Each phase has its own order, so a phase does not start with the prompt another one just ended
    with (llama.cpp would reuse its evaluation).
    """
    answers = phase.path in (WEB_ANSWERS, SLACK_ANSWERS)
    pool = list(demo.answerable if answers and demo.answerable else demo.retrievable)
    random.Random(f"{phase.path}:{phase.users}:{user_index}").shuffle(pool)
    count = phase.per_user
    return [pool[i % len(pool)] for i in range(count)]


# --- the generators --------------------------------------------------------------------------


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
    from chat.models import resolve_model

    model = resolve_model(HOSTED_MODEL, Settings().cache_dir)
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
    """Wraps a local model's InstancePool: the same line, plus how long each lease waited.

    The pool itself only says how many questions are ahead (``ahead()``); the bench times the
    wait around ``lease()`` and notes how many were ahead when the question arrived.
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
    def lease(self) -> Iterator[Any]:
        ahead = self.inner.ahead()
        started = time.perf_counter()
        with self.inner.lease() as item:
            with self._lock:
                self._waits.append((time.perf_counter() - started, ahead))
            yield item

    def take(self) -> list[tuple[float, int]]:
        """``(seconds waited, questions ahead on arrival)`` of each lease since the last call."""
        with self._lock:
            waits, self._waits = self._waits, []
        return waits


# --- the Slack side ----------------------------------------------------------------------------


def _use_test_doubles() -> None:
    """Make the loopback stand-ins of tests/ (Slack Web API, echo model) importable."""
    for folder in (ROOT / "tests", ROOT / "tests" / "integration"):
        if str(folder) not in sys.path:
            sys.path.append(str(folder))


@dataclass
class Delivery:
    """What the loopback Slack Web API saw for one question (keyed by its ts)."""

    sent: float
    worker_started: float | None = None
    finished: float | None = None
    posts: list[dict[str, Any]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)


class SlackWatcher:
    """Follows the recorder's calls in one thread and tells each waiting user about its own ts."""

    def __init__(self, recorder: Any) -> None:
        self.recorder = recorder
        self._deliveries: dict[str, Delivery] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._cursor = 0
        self._thread = threading.Thread(target=self._run, name="slack-watcher", daemon=True)

    def __enter__(self) -> SlackWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def expect(self, ts: str) -> Delivery:
        delivery = Delivery(sent=time.perf_counter())
        with self._lock:
            self._deliveries[ts] = delivery
        return delivery

    def forget(self, ts: str) -> None:
        with self._lock:
            self._deliveries.pop(ts, None)

    def _run(self) -> None:
        recorder = self.recorder
        while not self._stop.is_set():
            with recorder.lock:
                if len(recorder.calls) <= self._cursor:
                    recorder.lock.wait(0.2)
                new = recorder.calls[self._cursor :]
                self._cursor += len(new)
            now = time.perf_counter()
            for call in new:
                self._see(call.method, call.params, now)

    def _see(self, method: str, params: dict[str, Any], now: float) -> None:
        key = str(params.get("thread_ts") if method == "chat.postMessage" else params.get("timestamp"))
        with self._lock:
            delivery = self._deliveries.get(key)
        if delivery is None:
            return
        if method == "reactions.add" and delivery.worker_started is None:
            delivery.worker_started = now
        elif method == "chat.postMessage":
            delivery.posts.append(params)
            if delivery.finished is not None:  # an apology, posted after the reaction went
                delivery.finished = now
                delivery.done.set()
        elif method == "reactions.remove":
            delivery.finished = now
            if delivery.posts:  # the reply is posted before the reaction is removed
                delivery.done.set()


class Observed:
    """The bot's answer service, keeping every comparison (as tests/integration/test_slack_bot.py)."""

    def __init__(self, service: Any) -> None:
        self.service = service
        self._lock = threading.Lock()
        self._comparisons: list[Comparison] = []

    def compare(self, question: Question, names: Sequence[str] | None = None) -> Comparison:
        comparison = self.service.compare(question, names)
        with self._lock:
            self._comparisons.append(comparison)
        return comparison

    def take(self) -> list[Comparison]:
        with self._lock:
            taken, self._comparisons = self._comparisons, []
        return taken


# --- one request ---------------------------------------------------------------------------------


@dataclass
class Sample:
    """One question's outcome."""

    latency_s: float
    error: str | None = None
    passages: int | None = None
    answers: tuple[Answer, ...] = ()
    worker_wait_s: float | None = None
    ack_s: float | None = None
    ahead: int | None = None


class _QuietView:
    """The chat page's LiveView without Streamlit: remembers the queue line a column showed."""

    def __init__(self) -> None:
        self.ahead = 0

    def retrieved(self, retrieval: Retrieval) -> None:
        pass

    def status(self, name: str, text: str) -> None:
        match = re.match(r"Queued: (\d+)", text)
        if match:
            self.ahead = max(self.ahead, int(match.group(1)))

    def partial(self, name: str, text: str) -> None:
        pass

    def finished(self, answer: Answer) -> None:
        pass


def error_kind(error: BaseException | str) -> str:
    """A short, countable kind: the exception type and the start of its message, digits masked."""
    text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
    return re.sub(r"\d+(\.\d+)?", "N", " ".join(text.split()))[:100]


def answer_errors(answers: Sequence[Answer], expected: Sequence[str]) -> str | None:
    missing = [n for n in expected if n not in {a.generator for a in answers}]
    if missing:
        return f"no answer from {', '.join(missing)}"
    failed = [a for a in answers if a.error]
    return error_kind(f"{failed[0].generator}: {failed[0].error}") if failed else None


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
        _use_test_doubles()
        from echo_llm import EchoLLM
        from pydantic import SecretStr
        from slack_recorder import SIGNING_SECRET, recording_api
        from slack_sdk import WebClient

        from docduet.compose import build_answer_service, build_generators
        from docduet.db.client import connect
        from docduet.feedback import FeedbackStore
        from slackbot.app import create_app
        from slackbot.http import SlackHttpServer
        from ui.backend import LiveBackend

        self.workdir.mkdir(parents=True, exist_ok=True)
        self.echo = self._stack.enter_context(EchoLLM())
        generators = write_generators_file(
            self.workdir / "generators.yaml", hosted_url=self.hosted_url, echo_url=self.echo.base_url
        )
        self.settings = self.base.model_copy(
            update={
                "generators_file": generators,
                "users_file": USERS_FILE,
                "rate_limit_questions": 0,  # the load is the point; the limiter has its own tests
                "slack_bot_token": SecretStr("xoxb-load"),  # model_copy does not validate
                "slack_signing_secret": SecretStr(SIGNING_SECRET),
            }
        )
        self.demo = demo_users(self.settings)
        self.backend = LiveBackend(self.settings)
        self._stack.callback(self.backend.reset)
        self.columns = tuple(i.name for i in self.backend.columns())
        local: Any = build_generators(self.settings, ["slm"])[0]["slm"]  # the one every service shares
        self.pool = TimedPool(local._pool)
        local._pool = self.pool

        self.slack_api = self._stack.enter_context(recording_api())
        for i in range(max(128, len(self.demo))):
            demo = self.demo[i % len(self.demo)]
            self.slack_api.add_user(self.slack_user(i), demo.email)
        self.watcher = self._stack.enter_context(SlackWatcher(self.slack_api))
        client = connect(self.settings, autostart=False)
        self._stack.callback(client.close)
        feedback = FeedbackStore(self.workdir / "slack-feedback.sqlite3")
        self.bots: dict[str, tuple[str, Observed, tuple[str, ...]]] = {}
        for path, names in ((SLACK_RETRIEVAL, ("echo",)), (SLACK_ANSWERS, ("slm", "llm"))):
            observed = Observed(build_answer_service(self.settings, client, names))
            app = create_app(
                self.settings.model_copy(update={"slack_generators": ",".join(names)}),
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
        view = _QuietView()
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
        from slack_recorder import direct_message, event_body, signed_headers

        url = self.bots[path][0]
        ts = f"{1760000000 + next(self._ts)}.000100"
        event = direct_message(
            text, user=self.slack_user(user_index), channel=f"D0LOAD{user_index:03d}", ts=ts
        )
        body = event_body(event)
        delivery = self.watcher.expect(ts)
        try:
            status = _post(url, body, signed_headers(body))
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


def _post(url: str, body: str, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return int(e.code)


# --- numbers -------------------------------------------------------------------------------------


def percentile(values: Sequence[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def spread_ms(values: Sequence[float]) -> dict[str, Any] | None:
    """p50/p95/max/mean of ``values`` (seconds), in milliseconds; None when there are none."""
    if not values:
        return None
    return {
        "count": len(values),
        "p50_ms": round(1000 * percentile(values, 50), 1),
        "p95_ms": round(1000 * percentile(values, 95), 1),
        "max_ms": round(1000 * max(values), 1),
        "mean_ms": round(1000 * statistics.fmean(values), 1),
    }


def summarise(
    phase: Phase,
    samples: list[Sample],
    unfinished: int,
    wall_s: float,
    pool_waits: list[tuple[float, int]],
    comparisons: list[Comparison],
) -> dict[str, Any]:
    """One row of the report: counts, errors by kind, throughput, latency, queue wait."""
    kinds = Counter(s.error for s in samples if s.error)
    if unfinished:
        kinds["unfinished when the phase ended"] += unfinished
    answered = [a for s in samples for a in s.answers] or [a for c in comparisons for a in c.answers]
    passages = [s.passages for s in samples if s.passages is not None] or [
        len(c.retrieval.hits) for c in comparisons
    ]
    queue: dict[str, Any] | None
    if phase.path in (WEB_ANSWERS, SLACK_ANSWERS):
        queue = spread_ms([w for w, _ in pool_waits])
        if queue is not None:
            queue["what"] = "wait for the local model's instance (pool_size 1)"
            queue["max_ahead_on_arrival"] = max(a for _, a in pool_waits)
    elif phase.path == SLACK_RETRIEVAL:
        queue = spread_ms([s.worker_wait_s for s in samples if s.worker_wait_s is not None])
        if queue is not None:
            queue["what"] = "delivery to a Bolt worker starting on it"
    else:
        queue = None
    row: dict[str, Any] = {
        "path": phase.path,
        "users": phase.users,
        "questions_per_user": phase.per_user,
        "cap_s": phase.cap_s,
        "planned": phase.users * phase.per_user,
        "requests": len(samples) + unfinished,
        "completed": len(samples),
        "errors": sum(kinds.values()),
        "error_kinds": dict(kinds),
        "wall_s": round(wall_s, 2),
        "throughput_rps": round(len(samples) / wall_s, 3) if wall_s > 0 else None,
        "latency": spread_ms([s.latency_s for s in samples]),
        "queue_wait": queue,
        "with_passages": sum(1 for p in passages if p > 0),
        "mean_passages": round(statistics.fmean(passages), 2) if passages else None,
    }
    if phase.path.startswith("slack"):
        row["slack_ack"] = spread_ms([s.ack_s for s in samples if s.ack_s is not None])
        row["slack_worker_wait"] = spread_ms(
            [s.worker_wait_s for s in samples if s.worker_wait_s is not None]
        )
        row["comparisons"] = len(comparisons)
    if phase.path == WEB_ANSWERS:
        row["max_ahead_shown"] = max((s.ahead or 0 for s in samples), default=0)
    if answered:
        row["answers"] = per_generator(answered)
    return row


def per_generator(answers: Sequence[Answer]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in dict.fromkeys(a.generator for a in answers):
        mine = [a for a in answers if a.generator == name]
        out[name] = {
            "answers": len(mine),
            "errors": sum(1 for a in mine if a.error),
            "cited": sum(1 for a in mine if a.citations),
            "abstained": sum(1 for a in mine if a.abstained),
            "first_token": spread_ms([a.timings.first_token_s for a in mine if a.timings.first_token_s]),
            "total": spread_ms([a.timings.total_s for a in mine]),
        }
    return out


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


# --- output --------------------------------------------------------------------------------------


def table(rows: Sequence[dict[str, Any]]) -> Any:
    from rich.table import Table

    out = Table(title="docduet under load (loopback)")
    for name in ("path", "N", "requests", "errors", "req/s", "p50", "p95", "queue p50", "queue p95"):
        out.add_column(name, justify="left" if name == "path" else "right")
    for row in rows:
        latency, queue = row["latency"] or {}, row["queue_wait"] or {}
        out.add_row(
            row["path"], str(row["users"]), str(row["requests"]), str(row["errors"]),
            f"{row['throughput_rps'] or 0:.2f}", _ms(latency.get("p50_ms")), _ms(latency.get("p95_ms")),
            _ms(queue.get("p50_ms")), _ms(queue.get("p95_ms")),
        )  # fmt: skip
    return out


def _ms(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.0f} ms" if value < 1000 else f"{value / 1000:.1f} s"


def main() -> None:
    from bench.retrieval_latency import corpus_index
    from docduet.cli import quiet_third_parties

    quiet_third_parties()
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--quick", action="store_true", help="a few questions per phase (a smoke run)")
    parser.add_argument("--collection", help="an existing alias to query instead of ingesting corpora/")
    args = parser.parse_args()
    plan = quick_plan() if args.quick else full_plan()
    started = time.perf_counter()
    load_before = list(os.getloadavg())
    settings = Settings()
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="docduet-load-")))
        hosted = stack.enter_context(hosted_server(workdir / "llama-server.log"))
        local = stack.enter_context(corpus_index(settings, args.collection))
        harness = stack.enter_context(LoadHarness(local, hosted_url=hosted, workdir=workdir))
        rows = run_plan(harness, plan)
    elapsed = time.perf_counter() - started
    write_report(
        args.out,
        quick=args.quick,
        total_s=round(elapsed, 1),
        local_model=f"{LOCAL_MODEL} (llama_cpp, pool_size 1, 1 thread, max_tokens 32, 3 passages)",
        hosted_model=f"{HOSTED_MODEL} on llama_cpp.server, loopback, 1 thread, max_tokens 24, 3 passages",
        settings={
            "top_k": settings.top_k,
            "alpha": settings.alpha,
            "embedding_threads": settings.embedding_threads,
        },
        load_average_before=load_before,
        load_average_after=list(os.getloadavg()),
        phases=rows,
    )
    from rich.console import Console

    Console(width=120).print(table(rows))
    print(f"total {elapsed / 60:.1f} min")


if __name__ == "__main__":
    main()
