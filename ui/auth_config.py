"""The ``[auth]`` secrets Streamlit's ``st.login`` reads, written by ``docduet ui`` at start.

Secrets come from the settings (environment), never from a committed file: they are written to
``DATA_DIR/ui/auth-<port>.toml`` (directory 0700, file 0600) and handed to Streamlit with
``--secrets.files``, so no ``.streamlit/secrets.toml`` elsewhere is read.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from core.settings import Settings


def redirect_uri(settings: Settings, host: str, port: int) -> str:
    """The configured callback, else ``http://<host>:<port>/oauth2callback``."""
    if settings.oidc.oidc_redirect_uri:
        return settings.oidc.oidc_redirect_uri
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/oauth2callback"


def auth_toml(settings: Settings, host: str, port: int, *, cookie_secret: str | None = None) -> str:
    """The ``[auth]`` table for ``settings`` (OIDC must be configured)."""
    if not (
        settings.oidc.oidc_server_metadata_url
        and settings.oidc.oidc_client_id
        and settings.oidc.oidc_client_secret
    ):
        raise ValueError("OpenID Connect is not configured")
    if cookie_secret is None:
        configured = settings.oidc.oidc_cookie_secret
        cookie_secret = configured.get_secret_value() if configured else secrets.token_urlsafe(32)
    values = {
        "redirect_uri": redirect_uri(settings, host, port),
        "cookie_secret": cookie_secret,
        "client_id": settings.oidc.oidc_client_id,
        "client_secret": settings.oidc.oidc_client_secret.get_secret_value(),
        "server_metadata_url": settings.oidc.oidc_server_metadata_url,
    }
    lines = ["[auth]", *(f"{key} = {_string(value)}" for key, value in values.items())]
    kwargs = {"scope": settings.oidc.oidc_scope, "prompt": settings.oidc.oidc_prompt}
    lines += ["", "[auth.client_kwargs]", *(f"{k} = {_string(v)}" for k, v in kwargs.items() if v)]
    return "\n".join(lines) + "\n"


def write_auth_secrets(settings: Settings, host: str, port: int) -> Path:
    """Write :func:`auth_toml` to a private file and return its path."""
    folder = settings.paths.data_dir / "ui"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = folder / f"auth-{port}.toml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an older file may have had wider permissions
        os.write(fd, auth_toml(settings, host, port).encode("utf-8"))
    finally:
        os.close(fd)
    return path


def _string(value: str) -> str:
    """A TOML basic string (JSON's escapes are valid TOML)."""
    return json.dumps(value, ensure_ascii=False)
