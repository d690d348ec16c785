"""Errors in the OpenAI shape, each saying what to do; docduet's errors mapped to HTTP statuses."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from core.errors import BackendUnavailableError, ConfigError, DocduetError, RetrievalError
from core.untrusted import public_error
from docduet.api.shapes import error_json
from ingest.sources import SourceRefusedError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answer: status, message (what happened and what to do), OpenAI type and code."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        code: str = "invalid_request",
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.code = code
        self.param = param
        self.headers = headers or {}

    def body(self) -> dict[str, object]:
        """``{"error": {...}}`` as the OpenAI API writes it."""
        return error_json(self.message, kind=self.kind, code=self.code, param=self.param)

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def generation_failed(title: str, error: str) -> ApiError:
    """A generator's failed answer (its message without internal addresses)."""
    return ApiError(
        502, f"{title} could not answer: {_shown(error)}", kind="server_error", code="generation_failed"
    )


def from_docduet(error: DocduetError) -> ApiError:
    """The API error for a docduet error raised while answering."""
    if isinstance(error, SourceRefusedError):
        return ApiError(404, str(error), code="source_not_available")
    if isinstance(error, ConfigError):
        return ApiError(400, str(error), code="invalid_request")
    if isinstance(error, BackendUnavailableError | RetrievalError):
        return ApiError(
            503,
            f"the document index cannot be used now ({_shown(error)}); try again shortly, and if it "
            "persists tell your docduet administrator",
            kind="server_error",
            code="index_unavailable",
        )
    return ApiError(502, _shown(error), kind="server_error", code="generation_failed")


def _shown(error: Exception | str) -> str:
    """An error as callers see it: no internal addresses (the server log has them)."""
    return public_error(str(error)).rstrip(". ")


def install(app: FastAPI) -> None:
    """Every error the app answers comes out in the OpenAI shape."""

    @app.exception_handler(ApiError)
    async def _api(request: Request, error: ApiError) -> JSONResponse:
        return error.response()

    @app.exception_handler(DocduetError)
    async def _docduet(request: Request, error: DocduetError) -> JSONResponse:
        log.warning("%s %s: %s", request.method, request.url.path, error)
        return from_docduet(error).response()

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'body'}: {e.get('msg')}"
            for e in error.errors()
        )
        return ApiError(400, f"the request is not valid: {problems}; see docs/api.md").response()

    @app.exception_handler(HTTPException)
    async def _http(request: Request, error: HTTPException) -> JSONResponse:
        message = {
            404: f"no such endpoint: {request.url.path}; see GET /v1/models, POST /v1/chat/completions, "
            "POST /v1/search (docs/api.md)",
            405: f"{request.method} is not allowed here",
        }
        return ApiError(
            error.status_code,
            message.get(error.status_code, str(error.detail)),
            code="not_found" if error.status_code == 404 else "invalid_request",
        ).response()

    @app.exception_handler(Exception)
    async def _crash(request: Request, error: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return ApiError(
            500,
            "docduet failed to answer this request; the server log says why",
            kind="server_error",
            code="internal_error",
        ).response()
