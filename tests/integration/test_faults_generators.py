"""Generator faults through the real AnswerService (issue #11 §3, the generator side).

Real Weaviate with a small ingested corpus, the packaged Qwen 0.5B GGUF answering in the local
column, and a loopback OpenAI-compatible server that misbehaves on cue as the hosted column:
429 with Retry-After, 500, a slow first token, a stream cut mid-way, one that ends without a
finish reason, one that never ends. Then the local side: its GGUF missing or truncated, and the
embedding model missing. Each fault must end in a clear message within a bounded time (bounds
are generous: they check that every wait stops, not speed), the other column must still answer,
and the index must keep its chunk count.
"""

from __future__ import annotations

import logging
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from answer_fixtures import CORPUS, answer_settings, stored_chunks
from scripted_llm import Reply, ScriptedServer

from backends.weaviate_server.server import WeaviateServer
from chat.results import Comparison, Question
from core.domain import Answer
from core.errors import ConfigError
from core.identity import UserDirectory
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import answer_service, run_ingest

pytestmark = pytest.mark.integration
log = logging.getLogger(__name__)

QUESTION = "How long is paid parental leave for a primary carer?"
UNUSED_URL = "http://127.0.0.1:9/v1"
"""Placeholder hosted endpoint of the module settings; each test points the llm at its own server."""


@pytest.fixture(scope="module")
def base(
    weaviate_node: WeaviateServer,
    weaviate_binary: Path,
    gguf_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    """Settings of a collection holding the handbook only (small: quick to ingest)."""
    root = tmp_path_factory.mktemp("faults")
    settings = answer_settings(
        weaviate_node,
        weaviate_binary,
        root,
        gguf_path,
        UNUSED_URL,
        slm_max_tokens=12,  # the local column only has to answer, not at length
        slm_max_passages=2,
        llm_max_retries=2,  # the default (answer_settings turns retries off)
    )
    documents = root / "documents"
    shutil.copytree(CORPUS / "handbook", documents / "handbook")
    shutil.copy(CORPUS / "_access.yaml", documents / "_access.yaml")
    summary = run_ingest(settings, [documents], progress=NullProgress())
    assert summary.failed == [] and stored_chunks(settings), summary
    return settings


@pytest.fixture(autouse=True)
def index_unchanged(base: Settings) -> Iterator[None]:
    """Every fault leaves the index as it was: same chunk ids."""
    before = set(stored_chunks(base))
    yield
    assert set(stored_chunks(base)) == before


@pytest.fixture
def ask(base: Settings) -> Callable[..., tuple[Comparison, dict[str, Answer]]]:
    """Ask QUESTION as carol with the llm at ``url`` and settings overridden; answers by id."""
    users = UserDirectory.from_settings(base.identity)

    def run(url: str = UNUSED_URL, **overrides: Any) -> tuple[Comparison, dict[str, Answer]]:
        settings = base.replace(**{"llm_base_url": url, **overrides})
        with answer_service(settings) as service:
            result = service.compare(Question(QUESTION, users.resolve("carol")))
        answers = {a.generator: a for a in result.answers}
        for a in result.answers:
            log.warning("%s: %.2f s, error %r, text %r", a.generator, a.timings.total_s, a.error, a.text)
        return result, answers

    return run


def hosted_failed(answer: Answer, message: str, bound_s: float) -> None:
    """The hosted column reports ``message`` (a regex), shows no partial text, within ``bound_s``."""
    assert answer.error is not None, answer
    assert re.search(message, answer.error), answer.error
    assert answer.text == "" and not answer.citations  # nothing presented as an answer
    assert answer.timings.total_s < bound_s, answer.timings


def answered(answer: Answer) -> None:
    """A column that answered: no error, some text."""
    assert answer.error is None, answer.error
    assert answer.text.strip(), answer


# --- the hosted column misbehaves; the local one answers --------------------------------------


def test_429_with_retry_after_is_waited_out_then_answered(ask) -> None:
    with ScriptedServer(Reply(status=429, headers=(("Retry-After", "2"),)), Reply()) as server:
        _, answers = ask(server.base_url)
    answered(answers["llm"])
    assert "40 EUR" in answers["llm"].text and server.hits == 2
    assert 2.0 <= answers["llm"].timings.total_s < 60
    answered(answers["slm"])


def test_429_asking_for_too_long_a_wait_fails_at_once(ask) -> None:
    with ScriptedServer(Reply(status=429, headers=(("Retry-After", "600"),))) as server:
        _, answers = ask(server.base_url, llm_max_retry_wait_s=10.0)
    hosted_failed(answers["llm"], r"HTTP 429 and asks to retry after 600 s, longer than docduet waits", 30)
    assert server.hits == 1
    answered(answers["slm"])


def test_500s_are_retried_then_reported(ask) -> None:
    with ScriptedServer(Reply(status=500)) as server:
        _, answers = ask(server.base_url)
    hosted_failed(answers["llm"], r"answered HTTP 500 after 2 retries; try again later", 60)
    assert server.hits == 3
    answered(answers["slm"])


def test_a_slow_first_token_stops_at_the_first_token_timeout(ask) -> None:
    with ScriptedServer(Reply(first_delay_s=60)) as server:
        _, answers = ask(server.base_url, llm_first_token_timeout_s=2.0)
    hosted_failed(answers["llm"], r"sent no text within 2 s .*DOCDUET_LLM_FIRST_TOKEN_TIMEOUT_S", 40)
    assert server.hits == 1  # not retried: the time is spent
    answered(answers["slm"])


def test_a_stream_cut_mid_way_is_an_error_not_a_short_answer(ask) -> None:
    with ScriptedServer(Reply(cut=True)) as server:
        _, answers = ask(server.base_url)
    hosted_failed(answers["llm"], r"broke after 23 characters .*partial answer was discarded", 40)
    assert server.hits == 1  # a retry would repeat the text already streamed
    answered(answers["slm"])


def test_a_stream_without_a_finish_reason_is_an_error(ask) -> None:
    with ScriptedServer(Reply(finish=False)) as server:
        _, answers = ask(server.base_url)
    hosted_failed(answers["llm"], r"ended without saying the answer was complete", 40)
    answered(answers["slm"])


def test_an_answer_that_never_ends_stops_at_the_total_deadline(ask) -> None:
    with ScriptedServer(Reply(endless=True, gap_s=0.05)) as server:
        _, answers = ask(server.base_url, llm_total_timeout_s=4.0)
    hosted_failed(answers["llm"], r"had not finished the answer after 4 s .*DOCDUET_LLM_TOTAL_TIMEOUT_S", 40)
    assert answers["llm"].timings.total_s >= 4.0
    answered(answers["slm"])


# --- the local side is broken; the hosted column answers --------------------------------------


def test_a_missing_gguf_is_reported_and_the_hosted_column_answers(ask, tmp_path: Path) -> None:
    missing = tmp_path / "gone.gguf"
    with ScriptedServer(Reply()) as server:
        _, answers = ask(server.base_url, slm_model_path=str(missing))
    error = answers["slm"].error or ""
    assert str(missing) in error and "No such file" in error and "GGUF" in error, error
    answered(answers["llm"])


def test_a_truncated_gguf_is_reported_each_time_and_the_hosted_column_answers(
    ask,
    gguf_path: Path,
    tmp_path: Path,
) -> None:
    truncated = tmp_path / "truncated.gguf"
    with gguf_path.open("rb") as source, truncated.open("wb") as target:
        target.write(source.read(8 << 20))  # header and metadata intact, tensors missing
    with ScriptedServer(Reply()) as server:
        for _ in range(2):  # a failed load must not wedge the model's queue
            _, answers = ask(server.base_url, slm_model_path=str(truncated))
            error = answers["slm"].error or ""
            assert f"llama.cpp could not load {truncated}" in error and "truncated" in error, error
            assert "DOCDUET_SLM_MODEL_PATH" in error and answers["slm"].timings.total_s < 60
            answered(answers["llm"])


@pytest.mark.parametrize("model", ["/nonexistent/embedding-model", "no-such-org/no-such-model"])
def test_a_missing_embedding_model_is_a_clear_error_in_bounded_time(base: Settings, model: str) -> None:
    settings = base.replace(embedding_model=model)
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=r"DOCDUET_EMBEDDING_MODEL") as info, answer_service(settings):
        pass
    elapsed = time.perf_counter() - start
    log.warning("embedding model %s: %.2f s: %s", model, elapsed, info.value)
    assert model in str(info.value) and elapsed < 60
