"""docker-compose.yml's `api` service runs `docduet serve` the way the other services run theirs.

The checks every app service gets (a real CLI command, variables Settings reads, Weaviate healthy
first, documents read-only) are in test_docker_compose.py; these are the API's own.
"""

from __future__ import annotations

import re

from test_docker_compose import SERVICES, _environment

API = SERVICES["api"]
SIGN_IN = ("DOCDUET_OIDC_SERVER_METADATA_URL", "DOCDUET_OIDC_GROUPS_CLAIM", "DOCDUET_OIDC_GROUP_MAP")


def test_api_serves_on_all_interfaces_inside_the_container_in_its_own_profile() -> None:
    assert API["command"] == ["docduet", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert API["profiles"] == ["api"]
    assert API["restart"] == "unless-stopped"


def test_api_port_is_published_on_loopback_unless_told_otherwise() -> None:
    """Like weaviate, web and slack: `${X_BIND:-127.0.0.1}:port:port`."""
    binds = {}
    for name, service in SERVICES.items():
        for port in service.get("ports", ()):
            match = re.fullmatch(r"\$\{(\w+):-([\d.]+)\}:(\d+):(\d+)", str(port))
            assert match, f"{name}: {port} does not name its bind address"
            binds[name, match.group(4)] = match.group(2)
    assert binds["api", "8000"] == "127.0.0.1"
    assert set(binds.values()) == {"127.0.0.1"}


def test_api_healthcheck_asks_the_health_endpoint_with_what_the_image_has() -> None:
    check = API["healthcheck"]
    command = check["test"]
    assert command[:2] == ["CMD", "python"], "the slim image has neither curl nor wget"
    assert "http://127.0.0.1:8000/healthz" in command[-1]
    assert check["start_period"] and int(check["retries"]) > 0


def test_api_authenticates_like_the_web_chat_and_shares_its_data() -> None:
    """Access tokens from the web chat's provider, its groups map, its users and rate limits."""
    api, web = _environment(API), _environment(SERVICES["web"])
    for name in (*SIGN_IN, "DOCDUET_USERS_FILE", "DOCDUET_RATE_LIMIT_QUESTIONS"):
        assert name in api and name in web, name
    assert "DOCDUET_OIDC_API_AUDIENCE" in api
    assert api["DOCDUET_DATA_DIR"] == web["DOCDUET_DATA_DIR"]
    assert set(API["volumes"]) == set(SERVICES["web"]["volumes"]), "rate limits and keys live in /data"
    secrets = {k: v for k, v in api.items() if re.search("KEY|SECRET|TOKEN", k)}
    assert all(v is None or v.startswith("${") for v in secrets.values()), "secrets come from .env"
