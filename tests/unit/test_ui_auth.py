"""Sign-in decisions (ui/auth.py), the ``[auth]`` secrets ``docduet ui`` writes (ui/auth_config.py),
and the Streamlit options it forces so that nothing else signs anyone in."""

from __future__ import annotations

import logging
import os
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from core.domain import ANONYMOUS, User
from core.errors import ConfigError
from core.identity import UserDirectory
from core.settings import Settings
from docduet.commands.ui import streamlit_argv
from ui.auth import (
    UNKNOWN_ADDRESS_NOTE,
    Mode,
    is_loopback,
    is_trusted,
    sign_in_mode,
    user_from_header,
    user_from_proxy,
)
from ui.auth_config import auth_toml, write_auth_secrets

OIDC = {
    "oidc_server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
    "oidc_client_id": "docduet",
    "oidc_client_secret": "s3cret",
}
PROXY = {"ui_user_header": "X-Forwarded-User", "ui_trusted_proxies": ("10.0.0.5", "10.1.0.0/16")}
LOCAL_PROXY = {"ui_user_header": "X-Forwarded-User", "ui_trusted_proxies": ("127.0.0.1",)}


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


@pytest.fixture
def directory() -> UserDirectory:
    return UserDirectory.parse(
        {"users": {"alice": {"email": "alice@corvala.example", "groups": ["employees", "hr"]}}}
    )


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("127.0.0.2", True),
     ("0.0.0.0", False), ("::", False), ("10.0.0.1", False), (None, False), ("chat.example", False)],
)  # fmt: skip
def test_loopback_hosts(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_beyond_loopback_without_sign_in_is_refused_with_how_to() -> None:
    with pytest.raises(ConfigError) as caught:
        sign_in_mode(settings(), "0.0.0.0")
    assert "refusing to serve the web chat on 0.0.0.0" in str(caught.value)
    assert "DOCDUET_OIDC_CLIENT_ID" in str(caught.value) and "DOCDUET_UI_TRUSTED_PROXIES" in str(caught.value)
    assert sign_in_mode(settings(), "127.0.0.1") is Mode.ANONYMOUS


def test_the_demo_picker_needs_to_be_enabled_and_loopback() -> None:
    assert sign_in_mode(settings(users_file="corpora/users.yaml"), "127.0.0.1") is Mode.ANONYMOUS
    assert sign_in_mode(settings(ui_demo_signin=True), "127.0.0.1") is Mode.DEMO
    for host in ("0.0.0.0", None):
        with pytest.raises(ConfigError, match="only runs on loopback"):
            sign_in_mode(settings(ui_demo_signin=True), host)


def test_a_header_needs_trusted_proxies() -> None:
    with pytest.raises(ConfigError, match="needs DOCDUET_UI_TRUSTED_PROXIES"):
        sign_in_mode(settings(ui_user_header="X-Forwarded-User"), "0.0.0.0")
    with pytest.raises(ConfigError, match=r"'10\.0\.0\.x' is not an IP address"):
        sign_in_mode(settings(ui_user_header="X-User", ui_trusted_proxies=("10.0.0.x",)), "0.0.0.0")
    assert sign_in_mode(settings(**PROXY), "0.0.0.0") is Mode.HEADER


def test_oidc_is_all_or_nothing_and_exclusive() -> None:
    assert sign_in_mode(settings(**OIDC), "127.0.0.1") is Mode.OIDC
    public = settings(**OIDC, oidc_redirect_uri="https://chat.example/oauth2callback")
    assert sign_in_mode(public, "0.0.0.0") is Mode.OIDC
    with pytest.raises(ConfigError, match="set DOCDUET_OIDC_REDIRECT_URI"):
        sign_in_mode(settings(**OIDC), "0.0.0.0")
    with pytest.raises(ConfigError, match="set DOCDUET_OIDC_CLIENT_SECRET too"):
        sign_in_mode(settings(**{**OIDC, "oidc_client_secret": None}), "127.0.0.1")
    with pytest.raises(ConfigError, match="choose one way"):
        sign_in_mode(settings(**OIDC, **PROXY), "127.0.0.1")
    with pytest.raises(ConfigError, match="cannot be combined"):
        sign_in_mode(settings(**OIDC, ui_demo_signin=True), "127.0.0.1")


def test_env_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCDUET_UI_TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16")
    monkeypatch.setenv("DOCDUET_OIDC_GROUP_MAP", "Finance Team=finance,HR=hr")
    s = Settings()
    assert s.web.ui_trusted_proxies == ("10.0.0.5", "10.1.0.0/16")
    assert s.oidc.oidc_group_map == {"Finance Team": "finance", "HR": "hr"}
    monkeypatch.setenv("DOCDUET_OIDC_GROUP_MAP", '{"a": "b"}')
    assert Settings().oidc.oidc_group_map == {"a": "b"}


@pytest.mark.parametrize(
    ("peer", "trusted"),
    [("10.0.0.5", True), ("10.1.200.3", True), ("::ffff:10.0.0.5", True), ("10.0.0.6", False),
     ("127.0.0.1", False), (None, False), ("", False), ("not-an-ip", False)],
)  # fmt: skip
def test_trusted_proxy_addresses(peer: str | None, trusted: bool) -> None:
    assert is_trusted(peer, PROXY["ui_trusted_proxies"]) is trusted


def test_the_header_counts_only_from_a_trusted_proxy_and_exactly_once(directory: UserDirectory) -> None:
    s = settings(**PROXY)
    assert user_from_header(["alice"], "10.0.0.5", s, directory).user == User("alice", ("employees", "hr"))
    assert user_from_header(["ALICE@corvala.example"], "10.1.0.9", s, directory).user.name == "alice"
    forged = user_from_header(["alice"], "192.168.1.20", s, directory)
    assert forged.user == ANONYMOUS and "did not come through the sign-in proxy" in forged.note
    twice = user_from_header(["mallory", "alice"], "10.0.0.5", s, directory)
    assert twice.user == ANONYMOUS and "expected one X-Forwarded-User header, got 2" in twice.note
    assert user_from_header([], "10.0.0.5", s, directory).user == ANONYMOUS
    assert user_from_header(["  "], "10.0.0.5", s, directory).user == ANONYMOUS
    unknown = user_from_header(["zed"], "10.0.0.5", s, directory)
    assert unknown.user == User("zed") and "not in the users file" in unknown.note


@dataclass(frozen=True)
class FakeConnection:
    """What Streamlit's ClientContext offers: the handshake's headers and the TCP peer."""

    headers: tuple[tuple[str, str], ...]
    remote_ip: str | None


def test_a_connection_without_an_address_is_never_the_proxy(
    directory: UserDirectory, caplog: pytest.LogCaptureFixture
) -> None:
    """Streamlit's agent API sessions carry the caller's headers and no address: not loopback."""
    s = settings(**LOCAL_PROXY)
    forged = FakeConnection((("x-forwarded-user", "alice"),), remote_ip=None)
    with caplog.at_level(logging.INFO, logger="ui.auth"):
        signed = user_from_proxy(forged, s, directory)
    assert signed.user == ANONYMOUS and signed.note == UNKNOWN_ADDRESS_NOTE
    [record] = [r for r in caplog.records if "without a client address" in r.getMessage()]
    assert record.levelno == logging.WARNING and "1 X-Forwarded-User header" in record.getMessage()
    assert user_from_proxy(None, s, directory).user == ANONYMOUS  # no connection at all (AppTest)
    assert user_from_proxy(FakeConnection(forged.headers, ""), s, directory).user == ANONYMOUS
    # The same header on a real loopback connection from the trusted proxy is believed.
    proxied = FakeConnection((("X-Forwarded-User", "alice"), ("host", "chat")), remote_ip="127.0.0.1")
    assert user_from_proxy(proxied, s, directory).user == User("alice", ("employees", "hr"))


def test_docduet_ui_turns_the_agent_api_and_trusted_user_headers_off() -> None:
    argv = streamlit_argv("0.0.0.0", 8600, python="/py")
    assert "--server.enableAgentApi=false" in argv
    assert "--server.trustedUserHeaders={}" in argv


def test_auth_secrets_are_complete_and_private(tmp_path: Path) -> None:
    s = settings(**OIDC, data_dir=tmp_path, oidc_scope="openid email groups", oidc_prompt="login")
    path = write_auth_secrets(s, "127.0.0.1", 8600)
    auth = tomllib.loads(path.read_text())["auth"]
    assert auth["redirect_uri"] == "http://127.0.0.1:8600/oauth2callback"
    assert (auth["client_id"], auth["client_secret"]) == ("docduet", "s3cret")
    assert auth["server_metadata_url"] == OIDC["oidc_server_metadata_url"]
    assert len(auth["cookie_secret"]) >= 32
    assert auth["client_kwargs"] == {"scope": "openid email groups", "prompt": "login"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    os.chmod(path, 0o644)
    write_auth_secrets(s, "127.0.0.1", 8600)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_auth_secrets_use_the_configured_cookie_secret_and_callback() -> None:
    callback = "https://chat.example/oauth2callback"
    s = settings(**OIDC, oidc_cookie_secret='x"y\\z' * 8, oidc_redirect_uri=callback)
    auth = tomllib.loads(auth_toml(s, "0.0.0.0", 8501))["auth"]
    assert auth["cookie_secret"] == 'x"y\\z' * 8 and auth["redirect_uri"] == callback
    with pytest.raises(ValueError, match="not configured"):
        auth_toml(settings(), "127.0.0.1", 8501)
