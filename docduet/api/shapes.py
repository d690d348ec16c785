"""The OpenAI wire shapes: requests in, completions, chunks, models and errors out.

docduet's own fields ride along where the official ``openai`` client ignores them and a
docduet-aware client reads them: ``citations``, ``confidence``, ``cost_usd``, ``privacy`` and
``flags`` beside ``choices`` and ``usage``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import PurePath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from chat.history import HISTORY_TURNS, without_markers
from core.domain import Answer, Citation, Hit
from core.prompt import Turn

LinkFor = Callable[[str], str]
"""A citation's source path -> a link the caller may open."""


class TextPart(BaseModel):
    """One part of a message's content; only text parts are read."""

    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[TextPart] | None = None

    @property
    def text(self) -> str:
        if isinstance(self.content, list):
            return "\n".join(p.text for p in self.content if p.type == "text" and p.text)
        return self.content or ""


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatRequest(BaseModel):
    """``POST /v1/chat/completions``; sampling fields (temperature, ...) are accepted and ignored:
    each generator's settings decide them."""

    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None


class SearchRequest(BaseModel):
    """``POST /v1/search``: retrieval only."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, max_length=4000)
    top_k: int | None = Field(default=None, ge=1, le=50)


def question_and_history(messages: Sequence[ChatMessage]) -> tuple[str, tuple[Turn, ...]]:
    """The last user message as the question; earlier user and assistant turns as history.

    System and tool messages are left out (docduet's own instructions apply); an assistant turn
    loses its ``[n]`` markers, which pointed at passages of another retrieval.
    """
    last = messages[-1]
    if last.role != "user" or not last.text.strip():
        raise ValueError("the last message must be the user's question, with text")
    turns: list[Turn] = []
    for message in messages[:-1]:
        if message.role == "user" and message.text.strip():
            turns.append(Turn("user", message.text.strip()))
        elif message.role == "assistant" and message.text.strip():
            turns.append(Turn("assistant", without_markers(message.text)))
    return last.text.strip(), tuple(turns[-2 * HISTORY_TURNS :])


def citation_json(citation: Citation, link: LinkFor) -> dict[str, Any]:
    return {
        "number": citation.number,
        "title": citation.title,
        "section": citation.section,
        "page": citation.page,
        "file": PurePath(citation.source).name,
        "link": link(citation.source),
        "snippet": citation.snippet,
        "support": round(citation.support, 4),
        "attributed": citation.attributed,
    }


def extras(answer: Answer, link: LinkFor) -> dict[str, Any]:
    """docduet's fields of an answer: citations, confidence, cost, privacy, flags."""
    confidence = answer.confidence
    return {
        "citations": [citation_json(c, link) for c in answer.citations],
        "confidence": None
        if confidence is None
        else {
            "level": confidence.level.value,
            "probability": confidence.probability,
            "reasons": list(confidence.reasons),
        },
        "cost_usd": answer.usage.cost_usd,
        "privacy": {
            "off_premises": answer.privacy.off_premises,
            "sent_chunk_ids": list(answer.privacy.sent_chunk_ids),
            "withheld_count": answer.privacy.withheld_count,
        },
        "flags": [{"kind": f.kind.value, "text": f.text} for f in answer.flags],
        "abstained": answer.abstained,
        "generator": answer.title,
    }


def usage_json(answer: Answer) -> dict[str, int]:
    prompt, completion = answer.usage.prompt_tokens, answer.usage.completion_tokens
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion_json(answer: Answer, *, model: str, cid: str, created: int, link: LinkFor) -> dict[str, Any]:
    """A whole ``chat.completion`` with docduet's extras."""
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text},
                "finish_reason": "stop",
            }
        ],
        "usage": usage_json(answer),
        **extras(answer, link),
    }


def chunk_json(
    *, model: str, cid: str, created: int, delta: dict[str, Any], finish: str | None = None, **more: Any
) -> dict[str, Any]:
    """One ``chat.completion.chunk``; ``more`` adds top-level fields (the last chunk's extras)."""
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {
        "id": cid,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [choice],
        **more,
    }


def passage_json(hit: Hit, link: LinkFor) -> dict[str, Any]:
    """One retrieved passage for ``/v1/search``."""
    chunk = hit.chunk
    return {
        "chunk_id": chunk.chunk_id,
        "title": chunk.title,
        "section": chunk.section,
        "page": chunk.page,
        "file": PurePath(chunk.source).name,
        "link": link(chunk.source),
        "text": chunk.text,
        "sensitivity": chunk.access.sensitivity.value,
        "score": round(hit.score, 4),
        "similarity": None if hit.similarity is None else round(hit.similarity, 4),
    }


def error_json(message: str, *, kind: str, code: str, param: str | None = None) -> dict[str, Any]:
    """The OpenAI error shape: ``{"error": {"message", "type", "param", "code"}}``."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}
