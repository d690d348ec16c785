"""What the MCP tools do for one authenticated caller: search and ask, as the REST routes do.

The same answer service (the caller's groups filter the search inside the index, each generator's
sensitivity ceiling decides what it receives), the same rate limit as the web chat and the REST
API, and the same JSON fields as ``/v1/search`` and the chat completion's extras. A failure is a
:class:`ToolError` whose message says what to do: the MCP client shows it to its model or user.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from chat.results import Event, Question
from core.domain import Answer, Hit
from core.errors import DocduetError
from core.ratelimit import RateLimiter
from core.settings import Settings
from docduet.api import errors
from docduet.api.backend import ApiBackend
from docduet.api.callers import Caller
from docduet.api.errors import ApiError
from docduet.api.links import link_for
from docduet.api.shapes import extras, passage_json, usage_json

log = logging.getLogger(__name__)

MAX_TOP_K = 50


@dataclass(frozen=True)
class Call:
    """Who calls a tool, and from where: the caller the HTTP request authenticated, the API's base
    URL (for citation links) and the peer address (the rate-limit key of an anonymous caller)."""

    who: Caller
    base_url: str
    address: str

    @property
    def limit_key(self) -> str:
        return self.who.limit_key if self.who.user.name else f"address:{self.address}"


@dataclass(frozen=True)
class McpTools:
    """``search_documents`` and ``ask`` over ``backend``, each call counted by ``limiter``."""

    settings: Settings
    backend: ApiBackend
    limiter: RateLimiter

    def search_documents(self, call: Call, query: str, top_k: int | None = None) -> dict[str, Any]:
        """The passages ``call``'s user may read that best match ``query`` (at most ``top_k``)."""
        text = _required(query, "query")
        if top_k is not None and not 1 <= top_k <= MAX_TOP_K:
            raise ToolError(f"top_k must be between 1 and {MAX_TOP_K}; leave it out for the default")
        self._count(call)
        with _as_tool_error():
            retrieval = self.backend.service().retrieve(Question(text, user=call.who.user))
        hits = retrieval.hits[:top_k] if top_k else retrieval.hits
        link = link_for(self.settings, hits, call.base_url)
        return {"query": retrieval.query, "passages": [passage_json(h, link) for h in hits]}

    def ask(self, call: Call, question: str, generator: str | None = None) -> dict[str, Any]:
        """``generator``'s cited answer to ``question`` from the passages ``call``'s user may read."""
        text = _required(question, "question")
        with _as_tool_error():
            service = self.backend.service()
            usable = [n for n in service.generator_names if service.describe(n).unavailable is None]
            name = self._generator(service.generator_names, usable, generator)
            self._count(call)
            events = service.stream(Question(text, user=call.who.user), [name])
            try:
                answer, hits = _answer(events)
            finally:
                close = getattr(events, "close", None)
                if close is not None:
                    close()  # also when the answer failed: stop generating
        link = link_for(self.settings, hits, call.base_url)
        log.debug("mcp ask by %s: %s, %d passages retrieved", call.who.via, name, len(hits))
        return {"answer": answer.text, **extras(answer, link), "usage": usage_json(answer)}

    def _generator(self, names: list[str], usable: list[str], wanted: str | None) -> str:
        """``wanted`` when configured, else the first generator that can answer now."""
        if wanted:
            if wanted not in names:
                known = ", ".join(names) or "(none configured)"
                raise ToolError(f"unknown generator {wanted!r}; use one of: {known}")
            return wanted
        if not usable:
            raise ToolError("no generator can answer on this docduet server now; tell its administrator")
        return usable[0]

    def _count(self, call: Call) -> None:
        refusal = self.limiter.check(call.limit_key)
        if refusal is not None:
            log.info("rate limit: refused MCP call by %s for %.0f s", call.limit_key, refusal.retry_after_s)
            wait = max(1, round(refusal.retry_after_s + 0.5))
            raise ToolError(f"{refusal.message} (rate limit: retry after {wait} s)")


def _required(value: str, name: str) -> str:
    text = value.strip()
    if not text:
        raise ToolError(f"{name} is empty; send the words to look for")
    if len(text) > 4000:
        raise ToolError(f"{name} is longer than 4000 characters; shorten it")
    return text


def _answer(events: Iterator[Event]) -> tuple[Answer, tuple[Hit, ...]]:
    """The final answer, and the retrieval's hits (their ingest roots make the citation links)."""
    hits: tuple[Hit, ...] = ()
    for event in events:
        if event.kind == "retrieval" and event.retrieval is not None:
            hits = event.retrieval.hits
        elif event.kind == "answer" and event.answer is not None:
            answer = event.answer
            if answer.error and not answer.text:
                raise errors.generation_failed(answer.title, answer.error)
            return answer, hits
    raise ApiError(502, "the answer service ended without an answer; ask again")


@contextmanager
def _as_tool_error() -> Iterator[None]:
    """docduet's and the API's errors as a ToolError with the REST API's message (what to do)."""
    try:
        yield
    except ApiError as e:
        raise ToolError(e.message) from e
    except DocduetError as e:
        log.warning("mcp tool failed: %s", e)
        raise ToolError(errors.from_docduet(e).message) from e
