"""``llm``: any OpenAI-compatible chat endpoint, through LangChain's ``ChatOpenAI``.

Retries with exponential backoff on connection errors, timeouts, 408/409/429 and 5xx come from
the openai client underneath (``max_retries``); what still fails afterwards becomes a
GenerationError (a ConfigError for a refused key or an unknown model).

The answer length is capped with ``max_completion_tokens`` on OpenAI itself and with the
classic ``max_tokens`` elsewhere (llama.cpp, vLLM, Ollama... ignore the newer name). Servers
that send no usage in streams (llama-cpp-python's) get an estimate, flagged on the result.
"""

from __future__ import annotations

import logging
from collections.abc import Generator as PyGenerator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from pydantic import SecretStr

from chat.generators.base import GenerationResult, TextStream
from chat.generators.registry import GENERATORS
from chat.prompt import ChatMessage, Prompt
from docduet.domain import Usage
from docduet.errors import ConfigError, GenerationError
from docduet.settings import Settings

if TYPE_CHECKING:
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import BaseMessage

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
LOCAL_PLACEHOLDER_KEY = "not-needed"
"""Sent to a custom endpoint when no key is configured (the openai client insists on one)."""


class OpenAICompatibleGenerator:
    """Streams answers from a chat model; usage from the stream, cost from per-1k prices."""

    name = "llm"
    off_premises = True
    """Always True: whatever the URL, docduet treats the hosted model as outside the company."""

    def __init__(
        self,
        model: BaseChatModel,
        *,
        endpoint: str,
        max_tokens: int,
        price_prompt_per_1k: float,
        price_completion_per_1k: float,
        legacy_max_tokens: bool = False,
    ) -> None:
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


@GENERATORS.register("llm")
def build_llm(settings: Settings) -> OpenAICompatibleGenerator:
    """The hosted generator from ``llm_*`` settings; raises ConfigError when unconfigured."""
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    if settings.llm_base_url is None and not key:
        raise ConfigError(
            "the hosted LLM is not configured: set OPENAI_API_KEY for OpenAI, or "
            "DOCDUET_LLM_BASE_URL (and DOCDUET_LLM_API_KEY if it needs one) for another "
            "OpenAI-compatible endpoint"
        )
    endpoint = _check_url(settings.llm_base_url) if settings.llm_base_url else OPENAI_BASE_URL
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as e:
        raise ConfigError("langchain-openai is not installed; run scripts/setup.sh") from e
    model = ChatOpenAI(
        base_url=endpoint,
        model=settings.llm_model,
        api_key=SecretStr(key or LOCAL_PLACEHOLDER_KEY),
        timeout=settings.llm_timeout_s,
        max_retries=settings.llm_max_retries,
        streaming=True,
        stream_usage=True,
    )
    return OpenAICompatibleGenerator(
        model,
        endpoint=endpoint,
        legacy_max_tokens=urlparse(endpoint).hostname != urlparse(OPENAI_BASE_URL).hostname,
        max_tokens=settings.llm_max_tokens,
        price_prompt_per_1k=settings.llm_price_prompt_per_1k,
        price_completion_per_1k=settings.llm_price_completion_per_1k,
    )
