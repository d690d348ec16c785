"""Generators without models or servers: registry, configuration errors, stream plumbing."""

from __future__ import annotations

from collections.abc import Generator as PyGenerator
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, cast

import httpx2 as httpx  # the HTTP library openai 3 is built on
import openai
import pytest

import chat.generators.registry
from backends.llama_cpp.generator import LlamaCppGenerator
from backends.llama_cpp.packaged import check_gguf
from backends.openai_compatible.generator import OpenAICompatibleGenerator, _classify
from chat.generators import ENTRY_POINT_GROUP, GeneratorSpec, enabled_specs, spec_by_id
from chat.generators.registry import register_entry_points
from chat.prompt import build_prompt
from core.domain import Usage
from core.errors import ConfigError, GenerationError
from core.protocols import GenerationResult, Generator, TextStream
from core.registry import Registry
from core.settings import Settings
from docduet.compose import BUILTIN_KINDS, build_generator, generator_kinds

LLM_ENV = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "DOCDUET_LLM_API_KEY", "DOCDUET_LLM_BASE_URL")


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Settings built from a clean environment; set variables before calling it."""
    for name in LLM_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCDUET_CACHE_DIR", str(tmp_path / "cache"))

    def make(**env: str) -> Settings:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return Settings()

    return make


def build(name: str, settings: Settings) -> Generator:
    """The configured generator ``name`` (the packaged generators file)."""
    return build_generator(spec_by_id(settings, name), settings)


def test_builtin_kinds_are_registered_and_unknown_ones_list_them(settings) -> None:
    assert {"llama_cpp", "openai_compatible"} <= set(generator_kinds().names())
    spec = GeneratorSpec(id="x", kind="gpt", on_premises=False, max_sensitivity="public")
    with pytest.raises(ConfigError, match=r"unknown generator kind 'gpt'; known: .*llama_cpp"):
        build_generator(spec, settings())
    with pytest.raises(ConfigError, match=r"unknown generator 'gpt'; configured: slm, slm-large, llm"):
        spec_by_id(settings(), "gpt")


def test_chat_names_no_back_end_the_root_registers_the_built_ins() -> None:
    source = Path(chat.generators.registry.__file__).read_text(encoding="utf-8")
    assert "backends" not in source
    kinds = generator_kinds()
    assert all(kinds.get(name) is factory for name, factory in BUILTIN_KINDS.items())


def test_plugin_kinds_load_from_entry_points_and_never_replace_a_registered_one(caplog) -> None:
    kinds: Registry[Generator] = Registry("generator kind")
    kinds.register("llama_cpp")(BUILTIN_KINDS["llama_cpp"])
    entry_points = [
        metadata.EntryPoint("scripted", "fakes:ScriptedGenerator", ENTRY_POINT_GROUP),
        metadata.EntryPoint("llama_cpp", "fakes:ScriptedGenerator", ENTRY_POINT_GROUP),
        metadata.EntryPoint("broken", "no_such_plugin_module:build", ENTRY_POINT_GROUP),
    ]
    register_entry_points(kinds, entry_points)
    assert kinds.names() == ["llama_cpp", "scripted"]
    assert kinds.get("llama_cpp") is BUILTIN_KINDS["llama_cpp"]
    assert "'broken' (no_such_plugin_module:build) could not be loaded" in caplog.text
    with pytest.raises(ConfigError, match=r"unknown generator kind 'broken'; known: llama_cpp, scripted"):
        kinds.get("broken")


def test_default_generators_two_local_ones_the_hosted_one_once_configured_and_the_cascade(settings) -> None:
    assert [s.id for s in enabled_specs(settings())] == ["slm", "slm-large", "cascade"]
    configured = enabled_specs(settings(DOCDUET_LLM_BASE_URL="http://127.0.0.1:9/v1"))
    assert [s.id for s in configured] == ["slm", "slm-large", "llm", "cascade"]
    hosted = configured[2]
    assert not hosted.on_premises and hosted.max_sensitivity.value == "internal"
    assert all(s.on_premises and s.max_sensitivity.value == "confidential" for s in configured[:2])


def test_llm_without_key_or_url_says_what_to_set(settings) -> None:
    with pytest.raises(ConfigError, match=r"OPENAI_API_KEY.*DOCDUET_LLM_BASE_URL"):
        build("llm", settings())


def test_llm_rejects_a_url_that_is_not_http(settings) -> None:
    with pytest.raises(ConfigError, match="not an http"):
        build("llm", settings(DOCDUET_LLM_BASE_URL="localhost:8000"))


def test_llm_builds_from_settings_and_is_off_premises(settings) -> None:
    gen = build(
        "llm",
        settings(
            DOCDUET_LLM_BASE_URL="http://127.0.0.1:9/v1/",
            DOCDUET_LLM_MODEL="m",
            DOCDUET_LLM_MAX_RETRIES="3",
        ),
    )
    assert isinstance(gen, Generator) and isinstance(gen, OpenAICompatibleGenerator)
    assert gen.name == "llm" and gen.endpoint == "http://127.0.0.1:9/v1" and gen.off_premises
    chat: Any = gen.model
    assert chat.max_retries == 0 and chat.model_name == "m" and chat.stream_usage is True
    assert gen.retry.max_retries == 3  # retried by docduet, before any text only
    assert gen.legacy_max_tokens  # other servers understand max_tokens, not its new name


def test_llm_with_only_a_key_uses_openai(settings) -> None:
    official = build("llm", settings(OPENAI_API_KEY="sk-test"))
    assert official.endpoint == "https://api.openai.com/v1"
    assert isinstance(official, OpenAICompatibleGenerator) and not official.legacy_max_tokens


def test_slm_missing_file_names_the_setting(settings, tmp_path: Path) -> None:
    missing = tmp_path / "nope.gguf"
    with pytest.raises(ConfigError, match=r"nope.gguf.*No such file") as info:
        build("slm", settings(DOCDUET_SLM_MODEL_PATH=str(missing)))
    assert isinstance(info.value.__cause__, OSError)


def test_slm_corrupt_file_is_a_config_error(settings, tmp_path: Path) -> None:
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"<html>not a model</html>")
    with pytest.raises(ConfigError, match="not a GGUF file"):
        build("slm", settings(DOCDUET_SLM_MODEL_PATH=str(bogus)))


def test_slm_unknown_prompt_format(tmp_path: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF....")
    assert check_gguf(gguf) == gguf
    with pytest.raises(ConfigError, match="auto, chat, completion"):
        LlamaCppGenerator(gguf, n_ctx=512, n_threads=1, max_tokens=8, prompt_format="jinja")


def test_slm_is_lazy_and_on_premises(settings, tmp_path: Path) -> None:
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 64)  # valid magic, never loaded by building
    gen = build("slm", settings(DOCDUET_SLM_MODEL_PATH=str(gguf)))
    assert isinstance(gen, Generator) and gen.name == "slm" and not gen.off_premises
    assert gen.endpoint == str(gguf)


def _pieces(*parts: str) -> PyGenerator[str, None, GenerationResult]:
    yield from parts
    return GenerationResult("".join(parts), Usage(3, len(parts), 0.0), "stop")


def test_text_stream_result_only_after_the_end() -> None:
    stream = TextStream(_pieces("a", "b"))
    assert next(stream) == "a"
    with pytest.raises(GenerationError, match="not finished"):
        _ = stream.result
    result = stream.collect()
    assert result.text == "ab" and result.usage == Usage(3, 2, 0.0)


class FakeChat:
    """Stands in for ChatOpenAI: records the call, streams fixed chunks with usage."""

    def __init__(self, *, usage: bool = True) -> None:
        self.calls: list[tuple[Any, dict[str, Any]]] = []
        self.usage = usage

    def stream(self, messages: Any, **kwargs: Any) -> Iterator[Any]:
        from langchain_core.messages import AIMessageChunk

        self.calls.append((messages, kwargs))
        yield AIMessageChunk(content="Up to ")
        yield AIMessageChunk(content="40 EUR [1].", response_metadata={"finish_reason": "stop"})
        if not self.usage:
            return
        yield AIMessageChunk(
            content="",
            usage_metadata={"input_tokens": 1000, "output_tokens": 500, "total_tokens": 1500},
        )


def test_llm_stream_collects_usage_and_cost() -> None:
    fake = FakeChat()
    gen = OpenAICompatibleGenerator(
        cast(Any, fake),
        endpoint="http://x/v1",
        max_tokens=50,
        price_prompt_per_1k=0.002,
        price_completion_per_1k=0.01,
    )
    stream = gen.stream(build_prompt("Meals?", []), max_tokens=7)
    assert list(stream) == ["Up to ", "40 EUR [1]."]
    result = stream.result
    assert result.text == "Up to 40 EUR [1]." and result.finish_reason == "stop"
    assert (result.usage.prompt_tokens, result.usage.completion_tokens) == (1000, 500)
    assert result.usage.cost_usd == pytest.approx(0.002 + 0.005)
    messages, kwargs = fake.calls[0]
    assert kwargs == {"max_tokens": 7}
    assert [m.type for m in messages] == ["system", "human"]


def _status_error(cls: type[openai.APIStatusError], code: int) -> openai.APIStatusError:
    request = httpx.Request("POST", "http://x/v1/chat/completions")
    return cls("boom", response=httpx.Response(code, request=request), body=None)


@pytest.mark.parametrize(
    ("error", "kind", "text"),
    [
        (_status_error(openai.InternalServerError, 503), GenerationError, "HTTP 503 without retries"),
        (_status_error(openai.RateLimitError, 429), GenerationError, "HTTP 429"),
        (_status_error(openai.AuthenticationError, 401), ConfigError, "OPENAI_API_KEY"),
        (_status_error(openai.NotFoundError, 404), ConfigError, "DOCDUET_LLM_MODEL"),
        (
            openai.APITimeoutError(httpx.Request("POST", "http://x")),
            GenerationError,
            "DOCDUET_LLM_TIMEOUT_S",
        ),
        (
            openai.APIConnectionError(request=httpx.Request("POST", "http://x")),
            GenerationError,
            "cannot reach",
        ),
    ],
)
def test_endpoint_errors_say_what_to_do(error: Exception, kind: type, text: str) -> None:
    classified = _classify(error, "http://x/v1")
    assert type(classified) is kind and text in str(classified)


def test_llm_caps_tokens_the_way_the_endpoint_understands() -> None:
    fake = FakeChat()
    gen = OpenAICompatibleGenerator(
        cast(Any, fake),
        endpoint="http://x/v1",
        max_tokens=50,
        price_prompt_per_1k=0.0,
        price_completion_per_1k=0.0,
        legacy_max_tokens=True,
    )
    gen.stream(build_prompt("Meals?", [])).collect()
    assert fake.calls[0][1] == {"extra_body": {"max_tokens": 50}}


def test_llm_estimates_usage_when_the_stream_has_none() -> None:
    gen = OpenAICompatibleGenerator(
        cast(Any, FakeChat(usage=False)),
        endpoint="http://x/v1",
        max_tokens=50,
        price_prompt_per_1k=1.0,
        price_completion_per_1k=1.0,
    )
    prompt = build_prompt("Meals?", [])
    result = gen.stream(prompt).collect()
    chars = sum(len(m.content) for m in prompt.messages())
    assert result.usage_estimated and result.usage.completion_tokens == 2
    assert chars // 4 <= result.usage.prompt_tokens <= chars // 4 + 20
    assert result.usage.cost_usd == pytest.approx((result.usage.prompt_tokens + 2) / 1000)
