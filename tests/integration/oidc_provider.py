"""A real OpenID Connect provider on loopback for the sign-in tests: tests/oidc/provider.mjs.

It is panva's ``oidc-provider`` (OpenID-certified), installed by ``scripts/setup-browser.sh``
(``npm ci`` in tests/oidc). :func:`oidc_provider` runs it in a subprocess with one confidential
client and the given users, and stops it afterwards. A user's ``sub`` is its login; the claims a
real provider's user could set (an unverified ``email``, any ``preferred_username``) are per user
(see provider.mjs), so tests can sign in as someone forging them.
"""

from __future__ import annotations

import json
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OIDC_DIR = Path(__file__).resolve().parents[1] / "oidc"
STARTUP_TIMEOUT_S = 60.0
CLIENT_ID = "docduet-web"
CLIENT_SECRET = "test-client-secret-not-for-production"


@dataclass(frozen=True)
class Provider:
    """A running provider: its issuer URL and the discovery document's URL."""

    issuer: str

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def ui_env(self) -> dict[str, str]:
        """The environment that points ``docduet ui`` at this provider."""
        return {
            "DOCDUET_OIDC_SERVER_METADATA_URL": self.metadata_url,
            "DOCDUET_OIDC_CLIENT_ID": CLIENT_ID,
            "DOCDUET_OIDC_CLIENT_SECRET": CLIENT_SECRET,
            "DOCDUET_OIDC_SCOPE": "openid email profile groups",
            "DOCDUET_OIDC_PROMPT": "login",
        }


def require_provider() -> None:
    """Fail (not skip) with what to run when node or the npm package is missing."""
    if shutil.which("node") is None or not (OIDC_DIR / "node_modules" / "oidc-provider").is_dir():
        raise RuntimeError(
            "the test OpenID Connect provider is not installed: run scripts/setup-browser.sh "
            "(needs Node.js >= 20.19 and npm)"
        )


@contextmanager
def oidc_provider(
    redirect_uri: str,
    users: dict[str, dict[str, Any]],
    log_path: Path,
    *,
    id_token_ttl_s: int = 600,
    resources: dict[str, dict[str, Any]] | None = None,
) -> Iterator[Provider]:
    """The provider on a free loopback port, for a client whose callback is ``redirect_uri``.

    ``resources`` (resource indicator -> ``audience``, ``ttl_s``) turns on JWT access tokens for
    those resources (tests/integration/oidc_tokens.py gets them).
    """
    require_provider()
    options = {
        "port": 0,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": redirect_uri,
        "id_token_ttl_s": id_token_ttl_s,
        "session_ttl_s": 600,
        "users": users,
        **({"resources": resources} if resources else {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["node", str(OIDC_DIR / "provider.mjs"), json.dumps(options)],
            cwd=OIDC_DIR,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        try:
            yield Provider(_issuer(process, log_path))
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _issuer(process: subprocess.Popen[bytes], log_path: Path) -> str:
    """The issuer from the provider's ``listening <issuer>`` line."""
    assert process.stdout is not None
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while (left := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([process.stdout], [], [], min(left, 1.0))
        line = process.stdout.readline().decode().strip() if ready else ""
        if line.startswith("listening "):
            return line.split(" ", 1)[1]
        if not line and process.poll() is not None:
            raise RuntimeError(f"the OIDC provider exited with {process.returncode}:\n{log_path.read_text()}")
    raise RuntimeError(f"the OIDC provider did not start within {STARTUP_TIMEOUT_S:.0f} s")
