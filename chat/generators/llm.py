"""The ``openai_compatible`` kind: any OpenAI-compatible chat endpoint, through LangChain's ``ChatOpenAI``.

Hosted APIs (OpenAI, Azure) and a company's own servers (vLLM, llama.cpp server, Ollama) alike;
``on_premises`` in the generators file says which it is, and ``max_sensitivity`` what it may read.

Retries with exponential backoff on connection errors, timeouts, 408/409/429 and 5xx come from
the openai client underneath (``max_retries``); what still fails afterwards becomes a
GenerationError (a ConfigError for a refused key or an unknown model).

The answer length is capped with ``max_completion_tokens`` on OpenAI itself and with the
classic ``max_tokens`` elsewhere (llama.cpp, vLLM, Ollama... ignore the newer name). Servers
that send no usage in streams (llama-cpp-python's) get an estimate, flagged on the result.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Generator as PyGenerator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from chat.generators.base import GenerationResult, TextStream
from chat.generators.spec import GeneratorSpec
from chat.prompt import ChatMessage, Prompt
from docduet.domain import Sensitivity, Usage
from docduet.errors import ConfigError, GenerationError
from docduet.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
LOCAL_PLACEHOLDER_KEY = "not-needed"
"""Sent to a custom endpoint when no key is configured (the openai client insists on one)."""


class OpenAICompatibleOptions(BaseModel):
    """The ``openai_compatible`` kind's own fields in the generators file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str | None = None
    model: str = "gpt-4o-mini"
    api_key: SecretStr | None = None
    api_key_env: str | None = None
    timeout_s: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    price_prompt_per_1k: float = Field(default=0.0, ge=0)
    price_completion_per_1k: float = Field(default=0.0, ge=0)


class OpenAICompatibleGenerator:
    """Streams answers from a chat model; usage from the stream, cost from per-1k prices."""

    def __init__(
        self,
        model: BaseChatModel,
        *,
        endpoint: str,
        max_tokens: int,
        price_prompt_per_1k: float,
        price_completion_per_1k: float,
        legacy_max_tokens: bool = False,
        name: str = "llm",
        label: str = "",
        off_premises: bool = True,
        max_sensitivity: Sensitivity = Sensitivity.INTERNAL,
    ) -> None:
        self.name = name
        self.label = label or name
        self.off_premises = off_premises
        self.max_sensitivity = max_sensitivity
        self.model = model
        self.endpoint = endpoint
        self.max_tokens = max_tokens
        self.legacy_max_tokens = legacy_max_tokens
        self.price_prompt_per_1k = price_prompt_per_1k
        self.price_completion_per_1k = price_completion_per_1k

    def stream(self, prompt: Prompt, *, max_tokens: int | None = None) -> TextStream:
        """Stream the answer; the request is sent when the first piece is asked for."""
        return TextStream(self._generate(prompt, max_tokens or self.max_tokens))

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        """US dollars for the given token counts at the configured prices."""
        return (
            prompt_tokens * self.price_prompt_per_1k + completion_tokens * self.price_completion_per_1k
        ) / 1000

    def _generate(self, prompt: Prompt, max_tokens: int) -> PyGenerator[str, None, GenerationResult]:
        messages = to_langchain(prompt.messages())
        limit: dict[str, Any] = (
            {"extra_body": {"max_tokens": max_tokens}}
            if self.legacy_max_tokens
            else {"max_tokens": max_tokens}  # sent as max_completion_tokens by ChatOpenAI
        )
        pieces: list[str] = []
        usage: dict[str, Any] | None = None
        finish: str | None = None
        try:
            for chunk in self.model.stream(messages, **limit):
                usage = getattr(chunk, "usage_metadata", None) or usage
                finish = chunk.response_metadata.get("finish_reason") or finish
                piece = str(chunk.text)
                if piece:
                    pieces.append(piece)
                    yield piece
        except Exception as e:  # classified, then re-raised chained
            raise _classify(e, self.endpoint) from e
        if usage:
            counts = int(usage.get("input_tokens") or 0), int(usage.get("output_tokens") or 0)
        else:
            log.info("%s sent no token usage; estimating it", self.endpoint)
            counts = estimate_tokens(messages), len(pieces)
        return GenerationResult(
            text="".join(pieces),
            usage=Usage(*counts, cost_usd=self.cost(*counts)),
            finish_reason=finish,
            usage_estimated=not usage,
        )


def to_langchain(messages: tuple[ChatMessage, ...]) -> list[BaseMessage]:
    """Our chat messages as LangChain message objects."""
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[m.role](content=m.content) for m in messages]


def estimate_tokens(messages: list[BaseMessage]) -> int:
    """Rough prompt size when the server reports none: ~4 characters a token, 4 per message."""
    return sum(len(str(m.content)) // 4 + 4 for m in messages)


def _classify(error: Exception, endpoint: str) -> Exception:
    """A docduet error saying what went wrong with the endpoint and what to do next."""
    import openai

    if isinstance(error, openai.AuthenticationError | openai.PermissionDeniedError):
        return ConfigError(
            f"{endpoint} refused the API key (HTTP {error.status_code}); set OPENAI_API_KEY "
            "(or DOCDUET_LLM_API_KEY) to a valid key"
        )
    if isinstance(error, openai.NotFoundError):
        return ConfigError(
            f"{endpoint} does not know the model or path (HTTP 404); check DOCDUET_LLM_MODEL "
            "and DOCDUET_LLM_BASE_URL (it usually ends in /v1)"
        )
    if isinstance(error, openai.APITimeoutError):
        return GenerationError(
            f"{endpoint} did not answer in time, retries included; try again later or raise "
            "DOCDUET_LLM_TIMEOUT_S"
        )
    if isinstance(error, openai.APIConnectionError):
        return GenerationError(f"cannot reach {endpoint}; check DOCDUET_LLM_BASE_URL and the network")
    if isinstance(error, openai.APIStatusError):
        return GenerationError(f"{endpoint} answered HTTP {error.status_code} after retries; try again later")
    return GenerationError(f"the hosted model failed: {error}")


def _check_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"DOCDUET_LLM_BASE_URL {url!r} is not an http(s) URL; use e.g. http://host:8000/v1")
    return url.rstrip("/")


def build_openai_compatible(spec: GeneratorSpec, settings: Settings) -> OpenAICompatibleGenerator:
    """An ``openai_compatible`` generator from its spec; ConfigError when it has no endpoint or key."""
    try:
        options = OpenAICompatibleOptions(**spec.options)
    except ValidationError as e:
        raise ConfigError(f"generator {spec.id!r} (openai_compatible) is misconfigured: {e}") from e
    key = _api_key(options)
    if options.base_url is None and not key:
        raise ConfigError(
            f"generator {spec.id!r} is not configured: set OPENAI_API_KEY for OpenAI, or "
            "DOCDUET_LLM_BASE_URL (and DOCDUET_LLM_API_KEY if it needs one) for another "
            "OpenAI-compatible endpoint (or its base_url/api_key_env in the generators file)"
        )
    endpoint = _check_url(options.base_url) if options.base_url else OPENAI_BASE_URL
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as e:
        raise ConfigError("langchain-openai is not installed; run scripts/setup.sh") from e
    model = ChatOpenAI(
        base_url=endpoint,
        model=options.model,
        api_key=SecretStr(key or LOCAL_PLACEHOLDER_KEY),
        timeout=options.timeout_s,
        max_retries=options.max_retries,
        streaming=True,
        stream_usage=True,
    )
    return OpenAICompatibleGenerator(
        model,
        endpoint=endpoint,
        legacy_max_tokens=urlparse(endpoint).hostname != urlparse(OPENAI_BASE_URL).hostname,
        max_tokens=spec.max_tokens,
        price_prompt_per_1k=options.price_prompt_per_1k,
        price_completion_per_1k=options.price_completion_per_1k,
        name=spec.id,
        label=f"{spec.title} · {options.model}",
        off_premises=not spec.on_premises,
        max_sensitivity=spec.max_sensitivity,
    )


def _api_key(options: OpenAICompatibleOptions) -> str | None:
    if options.api_key is not None and options.api_key.get_secret_value():
        return options.api_key.get_secret_value()
    if options.api_key_env:
        return os.environ.get(options.api_key_env) or None
    return None
