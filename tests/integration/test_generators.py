"""Generators against real backends: the packaged default small model (Qwen2.5-Coder-0.5B-Instruct)
and the Gemma 3 270M base model in-process, and OpenAI-compatible
servers on loopback (llama-cpp-python's own server, one that fails, one that never answers)."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from llm_server import RecordingProxy, SilentServer, StatusServer

from backends.llama_cpp.generator import LlamaCppGenerator
from backends.llama_cpp.packaged import resolve_model
from chat.generators import spec_by_id
from chat.prompt import build_prompt
from core.domain import Access, Chunk, Hit, Sensitivity
from core.errors import GenerationError
from core.protocols import Generator, TextStream
from core.settings import Settings
from docduet.compose import build_generator

pytestmark = pytest.mark.integration
log = logging.getLogger(__name__)

MEALS = (
    "Employees may claim up to 40 EUR per day for meals while travelling on business. "
    "Receipts must be uploaded to the expense portal within 30 days."
)


def hit(text: str, n: int = 0) -> Hit:
    chunk = Chunk(
        chunk_id=f"c{n}",
        source=f"/docs/policy{n}.md",
        root="/docs",
        title="Travel policy",
        text=text,
        index=n,
        doc_type="md",
        section="Meals",
        page=None,
        modified=datetime(2024, 1, 1, tzinfo=UTC),
        content_hash=f"h{n}",
        access=Access(groups=("employees",), sensitivity=Sensitivity.INTERNAL),
    )
    return Hit(chunk=chunk, score=1.0)


def settings_for(monkeypatch: pytest.MonkeyPatch, **env: str) -> Settings:
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DOCDUET_LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return Settings()


def timed(stream: TextStream) -> tuple[list[str], float | None, float]:
    start = time.perf_counter()
    first: float | None = None
    pieces = []
    for piece in stream:
        first = first if first is not None else time.perf_counter() - start
        pieces.append(piece)
    return pieces, first, time.perf_counter() - start


@pytest.fixture(scope="module")
def slm(gguf_path: Path) -> LlamaCppGenerator:
    return LlamaCppGenerator(gguf_path, n_ctx=2048, n_threads=1, max_tokens=48)


@pytest.fixture(params=["slm", "llm"])
def built(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, gguf_path: Path):
    """Each built-in generator, built from settings through the registry."""
    env = {
        "DOCDUET_SLM_MODEL_PATH": str(gguf_path),
        "DOCDUET_SLM_THREADS": "1",
        "DOCDUET_SLM_N_CTX": "2048",
    }
    if request.param == "llm":
        env["DOCDUET_LLM_BASE_URL"] = request.getfixturevalue("llm_recorder").base_url
    settings = settings_for(monkeypatch, **env)
    return build_generator(spec_by_id(settings, request.param), settings)


def test_generator_contract(built: Generator) -> None:
    """What every generator promises: text pieces, then a result that adds them up."""
    assert isinstance(built, Generator) and built.name in ("slm", "llm")
    assert built.off_premises is (built.name == "llm") and built.endpoint
    stream = built.stream(build_prompt("How much can I claim for meals?", [hit(MEALS)]), max_tokens=6)
    pieces = list(stream)
    assert pieces and all(isinstance(p, str) and p for p in pieces)
    result = stream.result
    assert result.text == "".join(pieces)
    assert result.usage.prompt_tokens > 50 and 0 < result.usage.completion_tokens <= 6
    assert result.usage.cost_usd >= 0.0 and result.finish_reason in ("stop", "length")


def test_default_small_model_answers_from_the_passage_through_its_chat_template(
    slm: LlamaCppGenerator,
) -> None:
    prompt = build_prompt("How much can I claim per day for meals?", [hit(MEALS)])
    assert slm.uses_chat_template()  # Qwen's ChatML template, with the worked examples first
    pieces, first_s, total_s = timed(slm.stream(prompt))
    text = "".join(pieces)
    assert "40 EUR" in text, text
    assert "Document" not in text and "<" not in text  # no prompt markup leaks into the answer
    usage = slm.stream(prompt, max_tokens=4).collect().usage
    assert usage.prompt_tokens == slm.count_tokens(slm._chat_text(prompt))
    assert 0 < usage.completion_tokens <= 4 and usage.cost_usd == 0.0
    log.warning("slm: %r first token %.2f s, total %.2f s", text, first_s, total_s)


def test_slm_reports_each_answer_tokens_log_probability_and_a_self_check(slm: LlamaCppGenerator) -> None:
    result = slm.stream(build_prompt("How much can I claim per day for meals?", [hit(MEALS)])).collect()
    assert "40" in result.text
    # one log-probability per chosen token but the last (its successor never came)
    assert abs(len(result.token_logprobs) - result.usage.completion_tokens) <= 1
    assert all(lp <= 0.0 for lp in result.token_logprobs)
    assert sum(result.token_logprobs) / len(result.token_logprobs) > -1.0  # copied from the passage: sure
    assert result.self_check is not None and 0.0 < result.self_check < 1.0
    slm.self_check = False
    try:
        assert slm.stream(build_prompt("Meals?", [hit(MEALS)]), max_tokens=4).collect().self_check is None
    finally:
        slm.self_check = True


def test_slm_draws_seeded_samples_after_its_answer_from_the_cached_prompt(slm: LlamaCppGenerator) -> None:
    prompt = build_prompt("How much can I claim per day for meals?", [hit(MEALS)])
    slm.samples = 2
    try:
        first, again = slm.stream(prompt).collect(), slm.stream(prompt).collect()
    finally:
        slm.samples = 0
    assert len(first.samples) == 2 and all(s.strip() for s in first.samples)
    assert again.samples == first.samples  # each sample has its fixed seed: same answer, same samples
    assert any("40" in s for s in first.samples), first.samples  # sampled, still from the passage
    assert slm.stream(prompt, max_tokens=4).collect().samples == ()


def test_a_base_model_gets_the_few_shot_completion_prompt(tmp_path: Path) -> None:
    gemma = LlamaCppGenerator(
        resolve_model("gemma-3-270m", Settings().paths.cache_dir), n_ctx=2048, n_threads=1, max_tokens=24
    )
    prompt = build_prompt("How much can I claim per day for meals?", [hit(MEALS)])
    assert not gemma.uses_chat_template()  # the base model has none
    text = gemma.stream(prompt).collect().text
    assert text.strip() and "\n" not in text  # the completion prompt stops at the end of the line


def test_slm_keeps_a_long_context_inside_n_ctx(gguf_path: Path) -> None:
    small = LlamaCppGenerator(gguf_path, n_ctx=1024, n_threads=1, max_tokens=8)
    hits = [hit(f"Section {i}. " + MEALS * 6, n=i) for i in range(8)]  # ~2,500 tokens
    prompt = build_prompt("How much can I claim per day for meals?", hits)
    assert small.count_tokens(small._chat_text(prompt)) > 1024
    result = small.stream(prompt).collect()
    assert 0 < result.usage.prompt_tokens <= 1024 - 8
    assert result.text.strip()


def test_slm_serialises_concurrent_streams(slm: LlamaCppGenerator) -> None:
    prompt = build_prompt("How much can I claim per day for meals?", [hit(MEALS)])
    results: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(slm.stream(prompt, max_tokens=6).collect().text)
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors and len(results) == 2
    assert results[0] == results[1]  # greedy decoding, no interleaving


def test_llm_streams_from_a_real_openai_compatible_server(
    monkeypatch: pytest.MonkeyPatch,
    llm_recorder: RecordingProxy,
) -> None:
    settings = settings_for(
        monkeypatch,
        DOCDUET_LLM_BASE_URL=llm_recorder.base_url,
        DOCDUET_LLM_MODEL="gemma-3-270m",
        DOCDUET_LLM_API_KEY="sk-local-test",
    )
    gen = build_generator(spec_by_id(settings, "llm"), settings)
    prompt = build_prompt("How much can I claim per day for meals?", [hit(MEALS)])
    pieces, first_s, total_s = timed(gen.stream(prompt, max_tokens=24))
    assert "".join(pieces).strip()
    (request,) = llm_recorder.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    body = request.json()
    assert body["stream"] is True and body["model"] == "gemma-3-270m"
    assert MEALS in body["messages"][-1]["content"]
    assert "sk-local-test" not in str(request.headers)  # the recorder strips credentials
    log.warning("llm via llama server: first token %.2f s, total %.2f s", first_s, total_s)


def test_llm_caps_the_answer_and_prices_it(
    monkeypatch: pytest.MonkeyPatch,
    llm_recorder: RecordingProxy,
) -> None:
    """llama-cpp-python's server ignores max_completion_tokens and sends no stream usage:
    docduet sends max_tokens to non-OpenAI endpoints and estimates the usage (flagged)."""
    settings = settings_for(
        monkeypatch,
        DOCDUET_LLM_BASE_URL=llm_recorder.base_url,
        DOCDUET_LLM_PRICE_PROMPT_PER_1K="1.0",
        DOCDUET_LLM_PRICE_COMPLETION_PER_1K="2.0",
    )
    gen = build_generator(spec_by_id(settings, "llm"), settings)
    result = gen.stream(build_prompt("Meals?", [hit(MEALS)]), max_tokens=8).collect()
    (request,) = llm_recorder.requests
    assert request.json()["max_tokens"] == 8 and "max_completion_tokens" not in request.json()
    assert request.json()["stream_options"] == {"include_usage": True}
    usage = result.usage
    assert result.usage_estimated  # this server sends no usage chunk
    assert usage.prompt_tokens > 50 and 0 < usage.completion_tokens <= 8
    assert result.finish_reason in ("length", "stop")
    assert usage.cost_usd == pytest.approx((usage.prompt_tokens + 2 * usage.completion_tokens) / 1000)


def test_llm_500s_become_a_generation_error_after_retries(
    monkeypatch: pytest.MonkeyPatch,
    failing_llm_server: StatusServer,
) -> None:
    settings = settings_for(
        monkeypatch,
        DOCDUET_LLM_BASE_URL=failing_llm_server.base_url,
        DOCDUET_LLM_MAX_RETRIES="2",
        DOCDUET_LLM_TIMEOUT_S="5",
    )
    gen = build_generator(spec_by_id(settings, "llm"), settings)
    start = time.perf_counter()
    with pytest.raises(GenerationError, match="HTTP 500 after 2 retries") as info:
        gen.stream(build_prompt("Meals?", [hit(MEALS)])).collect()
    assert time.perf_counter() - start < 15
    assert failing_llm_server.hits == 3  # the first try and max_retries=2 retries
    assert info.value.__cause__ is not None


def test_llm_timeout_becomes_a_generation_error_in_bounded_time(
    monkeypatch: pytest.MonkeyPatch,
    silent_llm_server: SilentServer,
) -> None:
    settings = settings_for(
        monkeypatch,
        DOCDUET_LLM_BASE_URL=silent_llm_server.base_url,
        DOCDUET_LLM_MAX_RETRIES="1",
        DOCDUET_LLM_TIMEOUT_S="1",
    )
    gen = build_generator(spec_by_id(settings, "llm"), settings)
    start = time.perf_counter()
    with pytest.raises(GenerationError, match="did not answer in time"):
        gen.stream(build_prompt("Meals?", [hit(MEALS)])).collect()
    elapsed = time.perf_counter() - start
    assert 2 <= elapsed < 10, elapsed  # two 1 s attempts plus backoff
    assert silent_llm_server.hits == 2


_CONCURRENT_LOADS = """
import sys, threading
from backends.llama_cpp.generator import LlamaCppGenerator
from backends.llama_cpp.packaged import resolve_model
from core.settings import Settings
cache = Settings().paths.cache_dir
gens = [
    LlamaCppGenerator(resolve_model(name, cache), n_ctx=512, n_threads=1, max_tokens=4)
    for name in ("qwen2.5-coder-0.5b-instruct", "gemma-3-270m", "smollm2-135m-instruct")
]
threads = [threading.Thread(target=g._model) for g in gens]
for t in threads:
    t.start()
for t in threads:
    t.join(timeout=300)
print("STDOUT-STILL-HERE", flush=True)
print("STDERR-STILL-HERE", file=sys.stderr, flush=True)
"""


def test_models_loading_at_once_leave_the_terminal_alone() -> None:
    """llama-cpp-python silences a load by redirecting the process's stdout/stderr; two loads at
    once used to leave them on /dev/null (`docduet compare` printed nothing and exited 0)."""
    for _ in range(2):
        run = subprocess.run(
            [sys.executable, "-c", _CONCURRENT_LOADS],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
        assert "STDOUT-STILL-HERE" in run.stdout
        assert "STDERR-STILL-HERE" in run.stderr
