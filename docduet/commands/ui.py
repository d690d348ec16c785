"""``docduet ui``: the employee web chat (Streamlit), side-by-side answers in the browser."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from docduet.errors import DocduetError
from docduet.settings import Settings

log = logging.getLogger(__name__)

THEME = {
    "theme.base": "light",
    "theme.primaryColor": "#4F46E5",
    "theme.backgroundColor": "#FFFFFF",
    "theme.secondaryBackgroundColor": "#F4F5FA",
    "theme.textColor": "#1F2333",
    "theme.baseRadius": "medium",
}
"""A calm light theme; indigo accents (override with streamlit's own config.toml)."""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "ui",
        help="start the web chat in the browser (Streamlit)",
        description="Serve the employee web chat: every question answered by the local SLM and "
        "the hosted LLM side by side, with citations, timings, tokens and cost, feedback, and an "
        "admin page for members of DOCDUET_ADMIN_GROUP. Starts docduet's own Weaviate first "
        "when WEAVIATE_URL is unset. Behind a reverse proxy, set DOCDUET_UI_USER_HEADER "
        "(docs/web-chat.md).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    p.set_defaults(run=_run)


def streamlit_argv(host: str, port: int, *, python: str = sys.executable) -> list[str]:
    """``python -m streamlit run ui/app.py`` headless, without telemetry or file watching."""
    import ui

    app = Path(ui.__file__).resolve().parent / "app.py"
    flags = {
        "server.address": host,
        "server.port": str(port),
        "server.headless": "true",
        "server.fileWatcherType": "none",
        "server.runOnSave": "false",
        "browser.gatherUsageStats": "false",
        "client.toolbarMode": "minimal",
        "global.developmentMode": "false",
        **THEME,
    }
    return [python, "-m", "streamlit", "run", str(app), *(f"--{k}={v}" for k, v in flags.items())]


def _run(args: argparse.Namespace) -> int:
    settings = Settings()
    _start_database(settings)
    argv = streamlit_argv(args.host, args.port)
    print(f"docduet: web chat on http://{args.host}:{args.port} (Ctrl-C to stop)", file=sys.stderr)
    sys.stderr.flush()
    os.execv(argv[0], argv)  # Streamlit takes over this process (and its signals)
    return 0  # not reached


def _start_database(settings: Settings) -> None:
    """Start docduet's own Weaviate when it is the one in use; a failure is shown in the page."""
    if settings.weaviate_url:
        return
    from docduet.db.client import open_client

    try:
        with open_client(settings, autostart=True):
            pass
    except DocduetError as e:
        print(f"docduet: warning: {e}", file=sys.stderr)
