"""``docduet serve``: one composition root, one FastAPI app, served by uvicorn."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi import FastAPI

from core.errors import DocduetError
from core.ratelimit import RateLimiter
from core.settings import Settings
from docduet.api.app import create_app
from docduet.api.backend import LiveApiBackend
from docduet.api.callers import Authenticator, AuthMode

if TYPE_CHECKING:
    from docduet.compose import Root

log = logging.getLogger(__name__)


def build_app(settings: Settings, root: Root, *, loopback: bool) -> FastAPI:
    """The API over ``root``; ConfigError when serving beyond loopback could not authenticate anyone."""
    authenticator = Authenticator.for_settings(settings, loopback=loopback)
    if authenticator.mode is AuthMode.ANONYMOUS_ALLOWED:
        log.warning(
            "no authentication configured: requests without credentials read public documents only "
            "(loopback only; docs/api.md)"
        )
    limits = settings.ratelimit
    data_dir = settings.paths.data_dir  # counted with the web chat and the Slack bot on this data dir
    questions = RateLimiter.from_settings(limits, data_dir)
    downloads = RateLimiter.for_downloads(
        limits.rate_limit_downloads, limits.rate_limit_window_s, data_dir=data_dir
    )
    return create_app(settings, LiveApiBackend(root), authenticator, questions, downloads)


def serve(settings: Settings, host: str, port: int, *, loopback: bool) -> None:
    """Serve the API until interrupted; docduet's own Weaviate is started first when it is the one used."""
    import uvicorn

    from docduet.compose import Root

    with Root(settings, autostart=False) as root:
        app = build_app(settings, root, loopback=loopback)
        _start_database(settings)
        log.warning("docduet: API on http://%s:%d/v1, MCP on /mcp (Ctrl-C to stop)", host, port)
        root.warm()  # in the background: the first question pays no model load
        # docduet believes no forwarding header: the peer address is the one the rate limit uses.
        uvicorn.run(app, host=host, port=port, proxy_headers=False, forwarded_allow_ips="", log_config=None)


def _start_database(settings: Settings) -> None:
    """Start docduet's own Weaviate when WEAVIATE_URL is unset; a failure is reported per request."""
    if settings.weaviate.weaviate_url:
        return
    from docduet.compose import Root

    try:
        with Root(settings, autostart=True) as root:
            root.connection  # noqa: B018  (opening it starts the database)
    except DocduetError as e:
        log.warning("docduet: the database did not start: %s", e)
