"""``docduet serve``: the OpenAI-compatible API (chat completions, models, search) and the MCP
server; docs/api.md."""

from __future__ import annotations

import argparse
from typing import Any

from core.settings import Settings
from ui.auth import is_loopback


def register(sub: Any) -> None:
    p = sub.add_parser(
        "serve",
        help="serve the OpenAI-compatible API (chat completions, models, search) and MCP server",
        description="Serve docduet's answers over HTTP in the OpenAI API's shape, for Open WebUI, "
        "LibreChat, IDE assistants and any OpenAI client: POST /v1/chat/completions (streamed or "
        "not; model = a generator id; citations, confidence, cost and privacy as extra fields), "
        "GET /v1/models, POST /v1/search (passages only), GET /v1/sources (a cited file), "
        "GET /healthz; and an MCP server at /mcp (streamable HTTP; tools search_documents and ask) "
        "for MCP clients. Callers authenticate with an API key (`docduet keys create --user NAME`) or "
        "an OpenID Connect access token (DOCDUET_OIDC_SERVER_METADATA_URL and "
        "DOCDUET_OIDC_API_AUDIENCE) and get the same documents, ceilings and rate limit as in the "
        "web chat. Without either it listens on loopback only, answering requests without "
        "credentials from public documents. See docs/api.md.",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1); any other needs authentication configured",
    )
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.set_defaults(run=_run)


def _run(args: argparse.Namespace) -> int:
    from docduet.api.run import serve

    settings = Settings()
    serve(settings, args.host, args.port, loopback=is_loopback(args.host))
    return 0
