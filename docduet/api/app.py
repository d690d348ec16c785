"""``docduet serve``'s routes: OpenAI-compatible chat, models and search, cited files, and MCP.

Every answer goes through the same :class:`chat.service.AnswerService` as the web chat and Slack,
so the caller's groups filter the search inside the index and each generator's sensitivity
ceiling decides what it receives. Routes are plain functions: FastAPI runs them in its thread
pool, and a streamed answer is iterated there too.
"""

import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Header, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from chat.results import Event, Question
from core.domain import Answer
from core.ratelimit import RateLimiter
from core.settings import Settings
from docduet.api import errors
from docduet.api.backend import ApiBackend
from docduet.api.callers import Authenticator, Caller, Unauthorized
from docduet.api.errors import ApiError
from docduet.api.links import link_for
from docduet.api.mcp_server import McpEndpoint
from docduet.api.mcp_tools import McpTools
from docduet.api.shapes import (
    ChatRequest,
    SearchRequest,
    chunk_json,
    completion_json,
    extras,
    passage_json,
    question_and_history,
    usage_json,
)

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    backend: ApiBackend,
    authenticator: Authenticator,
    limiter: RateLimiter,
    downloads: RateLimiter | None = None,
) -> FastAPI:
    """The API over ``backend``; ``authenticator`` decides who calls, ``limiter`` how many questions
    (chats and searches) and ``downloads`` how many cited files (default: no limit)."""
    files = downloads if downloads is not None else RateLimiter(0, 1.0)
    mcp = McpEndpoint(McpTools(settings, backend, limiter), authenticator)
    app = FastAPI(title="docduet", docs_url=None, redoc_url=None, openapi_url=None, lifespan=mcp.lifespan)
    errors.install(app)
    mcp.mount(app)  # the MCP server at /mcp: the same callers, answers and rate limit

    def caller(request: Request, authorization: Annotated[str | None, Header()] = None) -> Caller:
        try:
            return authenticator.caller(authorization)
        except Unauthorized as e:
            log.info("refused %s %s: %s", request.method, request.url.path, e)
            raise ApiError(401, str(e), code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"}) from e

    def counted(request: Request, who: Annotated[Caller, Depends(caller)]) -> Caller:
        """The caller, with one question counted against the limit (the web chat's settings)."""
        return _count(limiter, request, who)

    def downloading(request: Request, who: Annotated[Caller, Depends(caller)]) -> Caller:
        """The caller, with one cited file counted against the download limit."""
        return _count(files, request, who)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        """Liveness for probes: the process answers (the index is checked by the requests)."""
        return {"status": "ok"}

    @app.get("/v1/models")
    def models(who: Annotated[Caller, Depends(caller)]) -> dict[str, Any]:
        service = backend.service()
        infos = [service.describe(n) for n in service.generator_names]
        return {"object": "list", "data": [_model_json(i) for i in infos if i.unavailable is None]}

    @app.post("/v1/search")
    def search(
        body: SearchRequest, request: Request, who: Annotated[Caller, Depends(counted)]
    ) -> dict[str, Any]:
        retrieval = backend.service().retrieve(Question(body.query, user=who.user))
        hits = retrieval.hits[: body.top_k] if body.top_k else retrieval.hits
        link = link_for(settings, hits, str(request.base_url))
        return {"object": "list", "query": retrieval.query, "data": [passage_json(h, link) for h in hits]}

    @app.post("/v1/chat/completions", response_model=None)
    def chat(body: ChatRequest, request: Request, who: Annotated[Caller, Depends(counted)]) -> Response:
        try:
            text, history = question_and_history(body.messages)
        except ValueError as e:
            raise ApiError(400, f"{e}; send the question as the last message", param="messages") from e
        service = backend.service()
        if body.model not in service.generator_names:
            known = ", ".join(service.generator_names) or "(none configured)"
            raise ApiError(
                404,
                f"unknown model {body.model!r}; GET /v1/models lists them: {known}",
                code="model_not_found",
                param="model",
            )
        events = service.stream(Question(text, user=who.user, history=history), [body.model])
        turn = _Turn(body, events, str(request.base_url), settings, body.model in backend.buffered())
        turn.start()  # retrieve now: an unreachable index is an HTTP error, not a broken stream
        if body.stream:
            return StreamingResponse(
                turn.sse(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
            )
        return JSONResponse(turn.whole())

    @app.get("/v1/sources", response_model=None)
    def source(source: str, who: Annotated[Caller, Depends(downloading)]) -> Response:
        data = backend.source_bytes(source, who.user)
        name = quote(source.rsplit("/", 1)[-1])
        return Response(
            data,
            media_type="application/octet-stream",
            headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
        )

    return app


def _count(limiter: RateLimiter, request: Request, who: Caller) -> Caller:
    """``who``, counted by ``limiter``; a 429 with Retry-After when over the limit."""
    key = who.limit_key if who.user.name else f"address:{request.client.host if request.client else '-'}"
    refusal = limiter.check(key)
    if refusal is not None:
        log.info("rate limit: refused %s for %.0f s", key, refusal.retry_after_s)
        raise ApiError(
            429,
            refusal.message,
            kind="rate_limit_error",
            code="rate_limit_exceeded",
            headers={"Retry-After": str(max(1, round(refusal.retry_after_s + 0.5)))},
        )
    return who


def _model_json(info: Any) -> dict[str, Any]:
    return {
        "id": info.name,
        "object": "model",
        "created": 0,
        "owned_by": "docduet",
        "label": info.label,
        "runs": "hosted" if info.off_premises else "on premises",
        "max_sensitivity": info.max_sensitivity.value if info.max_sensitivity else None,
    }


class _Turn:
    """One chat completion: the answer service's events as one JSON answer or as SSE chunks."""

    def __init__(
        self, body: ChatRequest, events: Iterator[Event], base_url: str, settings: Settings, buffered: bool
    ) -> None:
        self.body = body
        self.events = events
        self.base_url = base_url
        self.settings = settings
        self.buffered = buffered
        self.cid = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.hits: tuple[Any, ...] = ()

    def start(self) -> None:
        """Run the retrieval (the stream's first event), so its errors come before any response."""
        first = next(self.events)
        if first.retrieval is not None:
            self.hits = first.retrieval.hits

    def whole(self) -> dict[str, Any]:
        try:
            answer = self._answer(e for e in self.events if e.kind != "token")
        finally:
            self._close()
        return completion_json(
            answer, model=self.body.model, cid=self.cid, created=self.created, link=self._link()
        )

    def sse(self) -> Iterator[str]:
        """``data:`` lines: the role, the words as they come, then the final chunk with the extras."""
        try:
            yield self._data(delta={"role": "assistant", "content": ""})
            streamed: list[str] = []
            for event in self.events:
                if event.kind == "retrieval" and event.retrieval is not None:
                    self.hits = event.retrieval.hits
                elif event.kind == "status":
                    yield f": {event.text}\n\n"  # a comment: keeps proxies from timing out
                elif event.kind == "token" and not self.buffered:
                    streamed.append(event.text)
                    yield self._data(delta={"content": event.text})
                elif event.kind == "answer" and event.answer is not None:
                    yield from self._finish(event.answer, "".join(streamed))
                    break
            yield "data: [DONE]\n\n"
        finally:
            self._close()  # also when the caller went away: stop generating for it

    def _finish(self, answer: Answer, streamed: str) -> Iterator[str]:
        if answer.error and not answer.text:
            error = errors.generation_failed(answer.title, answer.error)
            yield f"data: {json.dumps(error.body())}\n\n"
            return
        if not streamed:
            yield self._data(delta={"content": answer.text})
        more = extras(answer, self._link())
        if streamed and streamed != answer.text:
            more["text"] = answer.text  # the verified text: dropped markers, attributed sentences
        yield self._data(delta={}, finish="stop", **more)
        options = self.body.stream_options
        if options is not None and options.include_usage:
            usage = {
                "id": self.cid,
                "object": "chat.completion.chunk",
                "created": self.created,
                "model": self.body.model,
                "choices": [],
                "usage": usage_json(answer),
            }
            yield f"data: {json.dumps(usage)}\n\n"

    def _answer(self, events: Iterator[Event]) -> Answer:
        for event in events:
            if event.kind == "retrieval" and event.retrieval is not None:
                self.hits = event.retrieval.hits
            elif event.kind == "answer" and event.answer is not None:
                answer = event.answer
                if answer.error and not answer.text:
                    raise errors.generation_failed(answer.title, answer.error)
                return answer
        raise ApiError(
            502,
            "the answer service ended without an answer; ask again",
            kind="server_error",
            code="generation_failed",
        )

    def _close(self) -> None:
        close = getattr(self.events, "close", None)
        if close is not None:
            close()

    def _link(self) -> Any:
        return link_for(self.settings, self.hits, self.base_url)

    def _data(self, *, delta: dict[str, Any], finish: str | None = None, **more: Any) -> str:
        chunk = chunk_json(
            model=self.body.model, cid=self.cid, created=self.created, delta=delta, finish=finish, **more
        )
        return f"data: {json.dumps(chunk)}\n\n"
