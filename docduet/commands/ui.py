"""``docduet ui``: the employee web chat (Streamlit), side-by-side answers in the browser."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any

from core.errors import DocduetError
from core.settings import Settings
from ui.auth import Mode, sign_in_mode
from ui.auth_config import write_auth_secrets
from ui.claims import group_map_warning

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

IDENTITY = {
    "server.enableAgentApi": "false",
    "server.trustedUserHeaders": "{}",
}
"""Always set, over any config.toml or STREAMLIT_* variable: docduet alone decides who is signed in.

Streamlit's agent API (``/_stcore/agent/interact``) runs the app for any HTTP caller with that
caller's headers and no client address, so a proxy header could not be told from a forged one;
trusted user headers would let request headers fill ``st.user``, which OpenID Connect sign-in reads.
"""


def register(sub: Any) -> None:
    p = sub.add_parser(
        "ui",
        help="start the web chat in the browser (Streamlit)",
        description="Serve the employee web chat: every question answered by each enabled "
        "generator (local models, and a hosted one once configured) side by side from the same "
        "passages, with citations, timings, tokens and cost, feedback, and an "
        "admin page for members of DOCDUET_ADMIN_GROUP. Starts docduet's own Weaviate first "
        "when WEAVIATE_URL is unset. Sign-in: OpenID Connect (DOCDUET_OIDC_SERVER_METADATA_URL, "
        "DOCDUET_OIDC_CLIENT_ID, DOCDUET_OIDC_CLIENT_SECRET) or an authenticating proxy "
        "(DOCDUET_UI_USER_HEADER with DOCDUET_UI_TRUSTED_PROXIES); without either it listens on "
        "loopback only, anonymously or with the demo picker (DOCDUET_UI_DEMO_SIGNIN=1). "
        "Streamlit's agent API is always off. See docs/web-chat.md.",
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1); any other needs sign-in configured",
    )
    p.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    p.set_defaults(run=_run)


def streamlit_argv(
    host: str,
    port: int,
    *,
    secrets_file: Path | None = None,
    python: str = sys.executable,
    warm: bool = False,
) -> list[str]:
    """``python -m streamlit run ui/app.py`` headless, without telemetry or file watching.

    ``warm``: run it through :mod:`docduet.ui_server`, which starts loading the local models
    before Streamlit serves (``docduet ui`` does; a test serving another app does not).

    Streamlit's agent API and trusted user headers are off (:data:`IDENTITY`). ``secrets_file``
    (the OpenID Connect ``[auth]`` table) is the only secrets file Streamlit reads.
    """
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
        **IDENTITY,
        **({"secrets.files": str(secrets_file)} if secrets_file else {}),
    }
    runner = "docduet.ui_server" if warm else "streamlit"
    return [python, "-m", runner, "run", str(app), *(f"--{k}={v}" for k, v in flags.items())]


def _run(args: argparse.Namespace) -> int:
    settings = Settings()
    mode = sign_in_mode(settings, args.host)  # ConfigError (exit 2) when it would be unsafe
    secrets_file = write_auth_secrets(settings, args.host, args.port) if mode is Mode.OIDC else None
    if mode is Mode.OIDC and (warning := group_map_warning(settings)):
        log.warning(warning)
    _start_database(settings)
    argv = streamlit_argv(args.host, args.port, secrets_file=secrets_file, warm=True)
    # docduet decides which proxies to believe (DOCDUET_UI_TRUSTED_PROXIES): uvicorn must not
    # rewrite the peer address from X-Forwarded-For, which it does for loopback peers by default.
    os.environ["FORWARDED_ALLOW_IPS"] = ""
    print(
        f"docduet: web chat on http://{args.host}:{args.port}, sign-in: {mode.value} (Ctrl-C to stop)",
        file=sys.stderr,
    )
    sys.stderr.flush()
    os.execv(argv[0], argv)  # Streamlit takes over this process (and its signals)
    return 0  # not reached


def _start_database(settings: Settings) -> None:
    """Start docduet's own Weaviate when it is the one in use; a failure is shown in the page."""
    if settings.weaviate.weaviate_url:
        return
    from docduet.compose import Root

    try:
        with Root(settings, autostart=True) as root:
            root.connection  # noqa: B018  (opening it starts the database)
    except DocduetError as e:
        print(f"docduet: warning: {e}", file=sys.stderr)
