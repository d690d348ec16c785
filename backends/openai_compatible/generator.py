"""The ``openai_compatible`` kind: any OpenAI-compatible chat endpoint, through LangChain's ``ChatOpenAI``.

Hosted APIs (OpenAI, Azure) and a company's own servers (vLLM, llama.cpp server, Ollama) alike;
``on_premises`` in the generators file says which it is, and ``max_sensitivity`` what it may read.

Every wait is bounded (backends/openai_compatible/deadline.py): ``timeout_s`` per connect or read,
``first_token_timeout_s`` for the first piece of text, ``total_timeout_s`` for the whole answer,
retries and their waits included. Connection errors, timeouts, 408/409/429 and 5xx are retried
(``max_retries``) before any text arrived, never after (no answer is shown twice); the wait is
the server's Retry-After when it sends one (up to ``max_retry_wait_s``; a longer one fails at
once), else exponential backoff. A stream that breaks or ends without a finish reason is an
error, not a shorter answer. What still fails becomes a GenerationError (a ConfigError for a
refused key or an unknown model).

The answer length is capped with ``max_completion_tokens`` on OpenAI itself and with the
classic ``max_tokens`` elsewhere (llama.cpp, vLLM, Ollama... ignore the newer name). Servers
that send no usage in streams (llama-cpp-python's) get an estimate, flagged on the result.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from collections.abc import Callable
from collections.abc import Generator as PyGenerator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from backends.openai_compatible.deadline import END, RetryPolicy, StreamReader, retry_after
from chat.generators.spec import GeneratorSpec
from core.domain import Sensitivity, Usage
from core.errors import ConfigError, DocduetError, GenerationError
from core.prompt import ChatMessage, Prompt
from core.protocols import GenerationResult, TextStream
from core.settings import Settings

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
    """Longest wait for a connection or for any read from it."""
    first_token_timeout_s: float = Field(default=60.0, gt=0)
    """Longest wait for the first piece of text of an attempt (a slow model, a stalled queue)."""
    total_timeout_s: float = Field(default=300.0, gt=0)
    """Deadline for one whole answer, retries and their waits included."""
    max_retries: int = Field(default=2, ge=0, le=10)
    max_retry_wait_s: float = Field(default=30.0, ge=0)
    """Longest Retry-After honoured; a server asking for more fails the answer at once."""
    price_prompt_per_1k: float = Field(default=0.0, ge=0)
    price_completion_per_1k: float = Field(default=0.0, ge=0)


DEFAULTS = OpenAICompatibleOptions()
"""The kind's one set of defaults (the generator's keyword defaults are these)."""


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
        first_token_timeout_s: float = DEFAULTS.first_token_timeout_s,
        total_timeout_s: float = DEFAULTS.total_timeout_s,
        retry: RetryPolicy | None = None,
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
        self.first_token_timeout_s = first_token_timeout_s
        self.total_timeout_s = total_timeout_s
        self.retry = retry or RetryPolicy(max_retries=0, max_retry_wait_s=0.0)

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
        deadline = time.monotonic() + self.total_timeout_s
        state = _StreamState()
        for retry in itertools.count():
            try:
                yield from self._attempt(messages, limit, deadline, state)
                break
            except DocduetError:
                raise
            except Exception as e:  # retried, or classified and re-raised chained
                wait = self._retry_wait(e, retry, deadline, state)
                log.warning("%s: %s; retry %d in %.1f s", self.endpoint, _brief(e), retry + 1, wait)
                time.sleep(wait)
        if state.finish is None:
            raise GenerationError(
                f"the answer stream from {self.endpoint} ended without saying the answer was "
                f"complete (no finish reason) after {state.chars} characters; the partial answer "
                "was discarded: ask again"
            )
        return state.result(messages, self.cost, self.endpoint)

    def _attempt(
        self, messages: list[BaseMessage], limit: dict[str, Any], deadline: float, state: _StreamState
    ) -> PyGenerator[str, None, None]:
        """One request: yield its text until the stream ends; a missed deadline raises GenerationError."""
        reader = StreamReader(lambda: self.model.stream(messages, **limit), name=f"docduet-{self.name}")
        first_by = time.monotonic() + self.first_token_timeout_s
        try:
            while True:
                waiting_first = not state.pieces
                until = min(deadline, first_by) if waiting_first else deadline
                try:
                    chunk = reader.next(until - time.monotonic())
                except TimeoutError as e:
                    raise self._timed_out(waiting_first and first_by < deadline, state) from e
                if chunk is END:
                    return
                piece = state.take(chunk)
                if piece:
                    yield piece
        finally:
            reader.stop()  # the reading thread closes the connection

    def _timed_out(self, first_token: bool, state: _StreamState) -> GenerationError:
        if first_token:
            return GenerationError(
                f"{self.endpoint} sent no text within {self.first_token_timeout_s:g} s "
                f"(first_token_timeout_s of generator {self.name!r}, DOCDUET_LLM_FIRST_TOKEN_TIMEOUT_S "
                "for the default one); it may be overloaded: try again later or raise it"
            )
        return GenerationError(
            f"{self.endpoint} had not finished the answer after {self.total_timeout_s:g} s "
            f"(total_timeout_s of generator {self.name!r}, DOCDUET_LLM_TOTAL_TIMEOUT_S for the "
            f"default one); the partial answer ({state.chars} characters) was discarded: try "
            "again or raise the deadline"
        )

    def _retry_wait(self, error: Exception, retry: int, deadline: float, state: _StreamState) -> float:
        """Seconds to wait before retrying ``error``; raises what to report when it is not retried."""
        import openai

        if state.pieces:  # never retried: the text shown so far would be repeated
            raise _broken(error, self.endpoint, state.chars) from error
        if retry >= self.retry.max_retries or not _retryable(error):
            raise _classify(error, self.endpoint, retries=retry) from error
        headers = error.response.headers if isinstance(error, openai.APIStatusError) else None
        asked = retry_after(headers)
        if asked is not None and asked > self.retry.max_retry_wait_s:
            raise GenerationError(
                f"{self.endpoint} answered {_brief(error)} and asks to retry after {asked:.0f} s, "
                f"longer than docduet waits ({self.retry.max_retry_wait_s:g} s: max_retry_wait_s, "
                "DOCDUET_LLM_MAX_RETRY_WAIT_S for the default generator); try again later"
            ) from error
        wait = asked if asked is not None else self.retry.backoff(retry)
        if time.monotonic() + wait >= deadline:
            raise GenerationError(
                f"{self.endpoint} answered {_brief(error)}, and waiting {wait:.1f} s to retry "
                f"would pass the answer's deadline ({self.total_timeout_s:g} s: total_timeout_s, "
                "DOCDUET_LLM_TOTAL_TIMEOUT_S for the default generator); try again later"
            ) from error
        return wait


@dataclass
class _StreamState:
    """What the stream has delivered so far (kept across retries, which only happen before text)."""

    pieces: list[str] = field(default_factory=list)
    usage: dict[str, Any] | None = None
    finish: str | None = None

    @property
    def chars(self) -> int:
        return sum(len(p) for p in self.pieces)

    def take(self, chunk: Any) -> str:
        """Note one LangChain chunk's usage and finish reason; its text ('' when none)."""
        self.usage = getattr(chunk, "usage_metadata", None) or self.usage
        self.finish = chunk.response_metadata.get("finish_reason") or self.finish
        piece = str(chunk.text)
        if piece:
            self.pieces.append(piece)
        return piece

    def result(
        self, messages: list[BaseMessage], cost: Callable[[int, int], float], endpoint: str
    ) -> GenerationResult:
        if self.usage:
            counts = int(self.usage.get("input_tokens") or 0), int(self.usage.get("output_tokens") or 0)
        else:
            log.info("%s sent no token usage; estimating it", endpoint)
            counts = estimate_tokens(messages), len(self.pieces)
        return GenerationResult(
            text="".join(self.pieces),
            usage=Usage(*counts, cost_usd=cost(*counts)),
            finish_reason=self.finish,
            usage_estimated=not self.usage,
        )


def to_langchain(messages: tuple[ChatMessage, ...]) -> list[BaseMessage]:
    """Our chat messages as LangChain message objects."""
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    return [kinds[m.role](content=m.content) for m in messages]


def estimate_tokens(messages: list[BaseMessage]) -> int:
    """Rough prompt size when the server reports none: ~4 characters a token, 4 per message."""
    return sum(len(str(m.content)) // 4 + 4 for m in messages)


def _retryable(error: Exception) -> bool:
    """Worth another attempt: no connection, a timeout, 408, 409, 429 or a 5xx."""
    import openai

    if isinstance(error, openai.APIConnectionError):  # APITimeoutError included
        return True
    if isinstance(error, openai.APIStatusError):
        return error.status_code in (408, 409, 429) or error.status_code >= 500
    return False


def _brief(error: Exception) -> str:
    """A few words on an endpoint error, for logs and messages."""
    import openai

    if isinstance(error, openai.APIStatusError):
        return f"HTTP {error.status_code}"
    if isinstance(error, openai.APITimeoutError):
        return "a timeout"
    if isinstance(error, openai.APIConnectionError):
        return "a connection error"
    return type(error).__name__


def _broken(error: Exception, endpoint: str, chars: int) -> Exception:
    """The error for a stream that failed after some text: that text is not an answer."""
    import openai

    if not isinstance(error, openai.APIError):
        return _classify(error, endpoint)
    return GenerationError(
        f"the answer stream from {endpoint} broke after {chars} characters ({_brief(error)}); "
        "the partial answer was discarded: ask again"
    )


def _classify(error: Exception, endpoint: str, *, retries: int = 0) -> Exception:
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
    tries = f"after {retries} {'retry' if retries == 1 else 'retries'}" if retries else "without retries"
    if isinstance(error, openai.APITimeoutError):
        return GenerationError(
            f"{endpoint} did not answer in time ({tries}); try again later or raise DOCDUET_LLM_TIMEOUT_S"
        )
    if isinstance(error, openai.APIConnectionError):
        return GenerationError(
            f"cannot reach {endpoint} ({tries}); check DOCDUET_LLM_BASE_URL and the network"
        )
    if isinstance(error, openai.RateLimitError):
        return GenerationError(f"{endpoint} is rate-limiting requests (HTTP 429, {tries}); try again later")
    if isinstance(error, openai.APIStatusError):
        return GenerationError(f"{endpoint} answered HTTP {error.status_code} {tries}; try again later")
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
        max_retries=0,  # retried here, before any text only, within the deadline
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
        first_token_timeout_s=options.first_token_timeout_s,
        total_timeout_s=options.total_timeout_s,
        retry=RetryPolicy(max_retries=options.max_retries, max_retry_wait_s=options.max_retry_wait_s),
    )


def _api_key(options: OpenAICompatibleOptions) -> str | None:
    if options.api_key is not None and options.api_key.get_secret_value():
        return options.api_key.get_secret_value()
    if options.api_key_env:
        return os.environ.get(options.api_key_env) or None
    return None
