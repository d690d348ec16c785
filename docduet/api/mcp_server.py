"""docduet's MCP server: the tools ``search_documents`` and ``ask`` at ``/mcp`` (streamable HTTP).

It is part of ``docduet serve``'s app and shares its authentication: every HTTP request to
``/mcp`` passes :class:`AuthGate` first, which asks the same :class:`Authenticator` as the REST
routes and answers 401 (the OpenAI error shape, ``WWW-Authenticate: Bearer``) exactly when they
would. The tools then read the caller the gate verified from the request, never a header of
their own. Stateless: each request stands alone, so no session can carry one user's identity into
another's request.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio.to_thread
from fastapi import FastAPI
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import ToolAnnotations
from pydantic import Field
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from docduet.api.callers import Authenticator, AuthMode, Caller, Unauthorized
from docduet.api.errors import ApiError
from docduet.api.mcp_tools import MAX_TOP_K, Call, McpTools

log = logging.getLogger(__name__)

PATH = "/mcp"
CALLER = "docduet.caller"
"""The key under the request's ``state`` where :class:`AuthGate` leaves the verified :class:`Caller`."""

INSTRUCTIONS = (
    "docduet answers questions from the organisation's documents that the signed-in user may read. "
    "search_documents returns passages with their title, section, page and link; ask returns an "
    "answer whose [n] markers refer to its citations."
)


class AuthGate:
    """ASGI middleware for ``/mcp``: the caller authenticated as the REST routes do, or a 401."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        authorization = Headers(scope=scope).get("authorization")
        try:  # a token's check may fetch the provider's keys: not on the event loop
            who = await anyio.to_thread.run_sync(self.authenticator.caller, authorization)
        except Unauthorized as e:
            log.info("refused %s %s: %s", scope.get("method"), scope.get("path"), e)
            refusal = ApiError(401, str(e), code="invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
            await refusal.response()(scope, receive, send)
            return
        scope.setdefault("state", {})[CALLER] = who
        await self.app(scope, receive, send)


def build_server(tools: McpTools) -> MCPServer[Any]:
    """The MCP server with docduet's two tools, each acting for the caller its request carries."""
    server: MCPServer[Any] = MCPServer("docduet", instructions=INSTRUCTIONS)

    def search_documents(
        query: Annotated[str, Field(description="What to look for, in the user's words")],
        ctx: Context,
        top_k: Annotated[
            int | None, Field(description=f"How many passages at most (1-{MAX_TOP_K}); default: all found")
        ] = None,
    ) -> dict[str, Any]:
        """Search the documents the user may read: the best passages, each with its title, section,
        page, file, link and text."""
        return tools.search_documents(call_of(ctx), query, top_k)

    def ask(
        question: Annotated[str, Field(description="The question, in the user's words")],
        ctx: Context,
        generator: Annotated[
            str | None,
            Field(description="A generator id (as GET /v1/models lists them); default: the first"),
        ] = None,
    ) -> dict[str, Any]:
        """Answer a question from the documents the user may read: the answer text with [n] markers,
        its citations (title, section, page, link, snippet), confidence and privacy record."""
        return tools.ask(call_of(ctx), question, generator)

    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    server.add_tool(search_documents, title="Search documents", annotations=read_only)
    server.add_tool(ask, title="Ask with citations", annotations=read_only)
    return server


def call_of(ctx: Context) -> Call:
    """The caller :class:`AuthGate` verified for this tool call's HTTP request."""
    request = ctx.request_context.request
    if not isinstance(request, Request):
        raise ToolError("docduet's tools are served over HTTP only (POST /mcp)")
    who = request.scope.get("state", {}).get(CALLER)
    if not isinstance(who, Caller):
        raise ToolError("this request was not authenticated; send Authorization: Bearer <API key>")
    address = request.client.host if request.client else "-"
    return Call(who, str(request.base_url), address)


class McpEndpoint:
    """The MCP server as part of the API app: its route behind :class:`AuthGate`, and its lifespan."""

    def __init__(self, tools: McpTools, authenticator: Authenticator) -> None:
        self.server = build_server(tools)
        self.authenticator = authenticator
        # Without credentials (loopback only), a web page could reach the server through DNS
        # rebinding: then only loopback Host headers are served. With credentials it has none.
        local = authenticator.mode is AuthMode.ANONYMOUS_ALLOWED
        self.security = None if local else TransportSecuritySettings(enable_dns_rebinding_protection=False)
        self._new_sessions()

    def _new_sessions(self) -> None:
        """A fresh session manager (one runs once); the returned Starlette app itself is not used."""
        self.server.streamable_http_app(
            streamable_http_path=PATH,
            stateless_http=True,
            json_response=True,
            transport_security=self.security,
        )

    @asynccontextmanager
    async def lifespan(self, app: FastAPI) -> AsyncIterator[None]:
        """Runs the MCP session manager while the app serves (a new one each time it starts)."""
        self._new_sessions()
        async with self.server.session_manager.run():
            yield

    async def _transport(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.server.session_manager.handle_request(scope, receive, send)

    def mount(self, app: FastAPI) -> None:
        """``/mcp`` on ``app`` (every method: POST for messages, GET and DELETE answered by the SDK)."""
        gate = AuthGate(self._transport, self.authenticator)
        app.router.routes.append(Route(PATH, endpoint=gate, include_in_schema=False))  # a raw ASGI app
