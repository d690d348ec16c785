"""The openai_compatible generator's bounded waits and retries, against scripted chat models.

Each fake stands in for ChatOpenAI (no server): it raises openai's own errors or stalls, so the
deadline, retry and stream-cut logic of backends/openai_compatible/generator.py is checked alone. The same
faults through a real loopback server and the AnswerService: tests/integration/test_faults_generators.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, cast

import httpx2 as httpx  # the HTTP library openai 3 is built on
import openai
import pytest
from langchain_core.messages import AIMessageChunk

from backends.openai_compatible.deadline import END, RetryPolicy, StreamReader, retry_after
from backends.openai_compatible.generator import OpenAICompatibleGenerator
from chat.prompt import build_prompt
from core.errors import GenerationError

REQUEST = httpx.Request("POST", "http://x/v1/chat/completions")


def status(code: int, **headers: str) -> openai.APIStatusError:
    cls = {429: openai.RateLimitError, 500: openai.InternalServerError}.get(code, openai.APIStatusError)
    return cls("boom", response=httpx.Response(code, request=REQUEST, headers=headers), body=None)


def ok(*texts: str, finish: str | None = "stop") -> list[Any]:
    chunks: list[Any] = [AIMessageChunk(content=t) for t in texts]
    chunks.append(AIMessageChunk(content="", response_metadata={"finish_reason": finish} if finish else {}))
    return chunks


class Scripted:
    """A chat model whose n-th call plays the n-th script: chunks, errors and ("sleep", s) steps."""

    def __init__(self, *scripts: list[Any]) -> None:
        self.scripts = list(scripts)
        self.calls = 0
        self.closed = threading.Event()

    def stream(self, messages: Any, **kwargs: Any) -> Iterator[Any]:
        script = self.scripts[min(self.calls, len(self.scripts) - 1)]
        self.calls += 1
        try:
            for step in script:
                if isinstance(step, Exception):
                    raise step
                if isinstance(step, tuple):
                    time.sleep(step[1])
                    continue
                yield step
        finally:
            self.closed.set()


def generator(model: Scripted, **kwargs: Any) -> OpenAICompatibleGenerator:
    retry = RetryPolicy(max_retries=kwargs.pop("retries", 2), max_retry_wait_s=kwargs.pop("max_wait", 5.0))
    return OpenAICompatibleGenerator(
        cast(Any, model),
        endpoint="http://x/v1",
        max_tokens=10,
        price_prompt_per_1k=0.0,
        price_completion_per_1k=0.0,
        retry=retry,
        **kwargs,
    )


def answer(gen: OpenAICompatibleGenerator) -> str:
    return gen.stream(build_prompt("Meals?", [])).collect().text


def test_a_429_waits_the_retry_after_then_answers() -> None:
    model = Scripted([status(429, **{"retry-after": "0.3"})], ok("Up to ", "40 EUR."))
    start = time.perf_counter()
    assert answer(generator(model)) == "Up to 40 EUR."
    assert model.calls == 2 and time.perf_counter() - start >= 0.3


def test_a_retry_after_longer_than_the_limit_fails_at_once() -> None:
    model = Scripted([status(429, **{"retry-after": "120"})], ok("never"))
    start = time.perf_counter()
    with pytest.raises(GenerationError, match=r"retry after 120 s, longer than docduet waits \(5 s") as info:
        answer(generator(model))
    assert model.calls == 1 and time.perf_counter() - start < 2
    assert isinstance(info.value.__cause__, openai.RateLimitError)


def test_a_wait_past_the_deadline_fails_at_once() -> None:
    model = Scripted([status(429, **{"retry-after": "3"})], ok("never"))
    with pytest.raises(GenerationError, match="would pass the answer's deadline"):
        answer(generator(model, total_timeout_s=1.0))
    assert model.calls == 1


def test_500s_are_retried_then_reported_with_the_count() -> None:
    model = Scripted([status(500)])
    with pytest.raises(GenerationError, match="HTTP 500 after 2 retries"):
        answer(generator(model))
    assert model.calls == 3


def test_a_400_is_not_retried() -> None:
    model = Scripted([status(400)])
    with pytest.raises(GenerationError, match="HTTP 400 without retries"):
        answer(generator(model))
    assert model.calls == 1


def test_a_slow_first_token_stops_at_the_first_token_timeout() -> None:
    model = Scripted([AIMessageChunk(content=""), ("sleep", 3.0), *ok("late")])
    start = time.perf_counter()
    with pytest.raises(GenerationError, match=r"sent no text within 0.5 s .*FIRST_TOKEN_TIMEOUT_S"):
        answer(generator(model, first_token_timeout_s=0.5))
    assert time.perf_counter() - start < 2.5 and model.calls == 1  # not retried


def test_an_answer_that_never_ends_stops_at_the_total_deadline() -> None:
    def endless() -> Iterator[Any]:
        for _ in range(400):  # bounded: 400 x 10 ms
            yield AIMessageChunk(content="la ")
            yield ("sleep", 0.01)

    model = Scripted(list(endless()))
    stream = generator(model, total_timeout_s=0.6).stream(build_prompt("Meals?", []))
    pieces: list[str] = []
    start = time.perf_counter()
    with pytest.raises(GenerationError, match=r"had not finished the answer after 0.6 s .*discarded"):
        for piece in stream:
            pieces.append(piece)
    assert pieces and time.perf_counter() - start < 2.0
    assert model.closed.wait(timeout=2.0)  # the reading thread let go of the stream


def test_a_stream_cut_after_some_text_is_an_error_and_not_retried() -> None:
    cut = openai.APIConnectionError(request=REQUEST)
    model = Scripted([AIMessageChunk(content="Up to "), cut], ok("again"))
    with pytest.raises(GenerationError, match=r"broke after 6 characters .*discarded"):
        answer(generator(model))
    assert model.calls == 1  # a retry would show "Up to " twice


def test_a_stream_that_ends_without_a_finish_reason_is_not_an_answer() -> None:
    model = Scripted(ok("Up to ", finish=None))
    with pytest.raises(GenerationError, match="without saying the answer was complete"):
        answer(generator(model))


def test_a_connection_error_before_any_text_is_retried() -> None:
    model = Scripted([openai.APIConnectionError(request=REQUEST)], ok("fine"))
    assert answer(generator(model)) == "fine" and model.calls == 2


def test_retry_after_reads_seconds_milliseconds_and_dates() -> None:
    assert retry_after({"retry-after": "2"}) == 2.0
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after({"retry-after": "Thu, 01 Jan 1970 00:01:40 GMT"}, now=40.0) == 60.0
    assert retry_after({"retry-after": "soon"}) is None and retry_after(None) is None


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(max_retries=5, max_retry_wait_s=1.0)
    assert 0.375 <= policy.backoff(0) <= 0.5 and 6.0 <= policy.backoff(10) <= 8.0


def test_stream_reader_times_out_and_passes_errors_on() -> None:
    def slow() -> Iterator[int]:
        yield 1
        time.sleep(0.5)
        raise ValueError("late failure")

    reader = StreamReader(slow)
    assert reader.next(2.0) == 1
    with pytest.raises(TimeoutError):
        reader.next(0.05)
    with pytest.raises(ValueError, match="late failure"):
        reader.next(2.0)
    assert StreamReader(lambda: iter(())).next(2.0) is END


def test_closing_the_stream_lets_go_of_the_connection() -> None:
    """What the service does when nobody waits any more (closed tab): the reader stops reading."""
    model = Scripted([AIMessageChunk(content="la ") if n % 2 == 0 else ("sleep", 0.01) for n in range(800)])
    stream = generator(model).stream(build_prompt("Meals?", []))
    assert next(stream) == "la "
    stream.close()
    assert model.closed.wait(timeout=2.0)
