"""Signing in to the web chat for real: OpenID Connect in Chromium, proxy headers, refusals.

- A real OpenID Connect provider (oidc-provider from npm, tests/oidc/provider.mjs) on one
  loopback port and ``docduet ui`` on another; Playwright signs in through the provider's form as
  a user whose ID token carries ``groups: [finance]`` (mapped by DOCDUET_OIDC_GROUP_MAP; a user
  the users file does not know), sees the finance sources in the answer, signs out (also at the
  provider), and, with a short ID-token lifetime, finds an expired session asking to sign in again.
- Claims a provider's user can change decide nothing: an unverified e-mail or a
  ``preferred_username`` naming a users-file user gets public documents only, and so do token
  groups without a group map; the issuer-qualified ``sub`` (``oidc_sub``) does match.
- A forged ``X-Forwarded-User`` (with a forged ``X-Forwarded-For`` naming the proxy) from an
  address that is not the trusted proxy is ignored; from the proxy, a header sent twice is
  refused (a bare client over the real WebSocket, tests/integration/streamlit_ws.py). Through
  Streamlit's agent API (a session with no client address) the header is ignored too, and
  ``docduet ui`` keeps that API off whatever Streamlit's own settings say.
- ``docduet ui --host 0.0.0.0`` without sign-in refuses to start.
- A public document whose title is ``Parking ![](https://attacker.example/p.gif)`` and whose
  section is a Markdown link to a phishing page is shown as text: no image request, no link.

Real backend: the session's weaviate-server with corpora/finance ingested once for this module,
the packaged local model; the hosted column points at a closed loopback port (it shows an error).
The browser may only reach 127.0.0.1: any other request is aborted.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from answer_fixtures import answer_settings, settings_env
from llm_server import free_port
from oidc_provider import Provider, oidc_provider
from streamlit_agent import interact, serving_app, texts
from streamlit_ws import markdown_of_one_run
from test_ui_browser import CHROMIUM, CHROMIUM_FLAGS, STARTUP_TIMEOUT_S, running_ui

from backends.weaviate_server.server import WeaviateServer
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import run_ingest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
HERON = "What is the price of the Project Heron acquisition?"
BUDGET = "What is the FY2025 operating budget for Engineering?"
USERS = {
    "frank": {"password": "frank-pw", "email": "frank@corvala.example", "groups": ["finance"]},
    "grace": {"password": "grace-pw", "email": "grace@corvala.example", "groups": ["employees"]},
}
ANSWER_TIMEOUT_S = 300.0
PARKING = "Where do visitors park at the Leeds office?"
HOSTILE_TITLE = "Parking ![](https://attacker.example/p.gif)"
HOSTILE_PAGE = f"""---
title: "{HOSTILE_TITLE}"
---

# [Re-authenticate](https://phish.example/login)

Visitors park in bay 4 of the Leeds office car park and sign in at reception.
"""
LOCAL_MODEL = "gemma-3-270m"
ONE_LOCAL_MODEL = {"DOCDUET_SLM_LARGE_ENABLED": "false"}
SHORT_ID_TOKEN_S = 12
MAPPED_GROUPS = {"DOCDUET_OIDC_GROUP_MAP": "finance=finance,employees=employees"}
FORGERS = {  # provider accounts whose changeable claims name users-file users
    "mallory": {"password": "mallory-pw", "email": "dana@corvala.example", "email_verified": False,
                "groups": ["admins"]},
    "eve": {"password": "eve-pw", "preferred_username": "dana", "groups": ["admins", "finance"]},
    "gina": {"password": "gina-pw", "email": "gina@corvala.example", "groups": ["admins", "finance"]},
    "erin-account": {"password": "erin-pw", "email": "erin.home@mail.example", "email_verified": False},
    "bob": {"password": "bob-pw", "email": "bob@corvala.example"},
}  # fmt: skip


@pytest.fixture(scope="module")
def signin_settings(
    weaviate_node: WeaviateServer,
    weaviate_binary: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    """corpora/finance (finance group only) and a hostile public page, in this module's collection.

    One local model (the packaged Gemma 3 270M); the hosted one points at a closed port.
    """
    root = tmp_path_factory.mktemp("signin")
    corpus = Path(shutil.copytree(REPO / "corpora" / "finance", root / "corpus" / "finance"))
    facilities = corpus.parent / "facilities"
    facilities.mkdir()
    (facilities / "_access.yaml").write_text("groups: [public]\nsensitivity: public\n")
    (facilities / "parking.md").write_text(HOSTILE_PAGE, encoding="utf-8")
    settings = answer_settings(
        weaviate_node, weaviate_binary, root, LOCAL_MODEL, f"http://127.0.0.1:{free_port()}/v1",
        users_file=REPO / "corpora" / "users.yaml", slm_max_tokens=48, slm_large_enabled=False,
    )  # fmt: skip
    summary = run_ingest(settings, [corpus.parent], progress=NullProgress())
    assert summary.failed == [] and len(summary.added) == 3
    return settings


def browser_context(p: Any, blocked: list[str] | None = None, **options: Any) -> tuple[Any, Any]:
    """Chromium and a context that can reach 127.0.0.1 only (other URLs go to ``blocked``)."""
    browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
    context = browser.new_context(viewport={"width": 1400, "height": 1200}, **options)

    def abort(route: Any) -> None:
        if blocked is not None:
            blocked.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), abort)
    context.set_default_timeout(60_000)
    return browser, context


def wait_for_app(page: Any) -> None:
    page.get_by_test_id("stApp").wait_for(timeout=STARTUP_TIMEOUT_S * 1000)


def sign_in(page: Any, login: str, users: dict[str, dict[str, Any]] = USERS) -> None:
    """From the app's sign-in page through the provider's form and back, signed in."""
    page.get_by_role("button", name=re.compile("Sign in")).click()
    page.get_by_label("Login").wait_for()
    assert page.url.startswith("http://127.0.0.1:") and "/interaction/" in page.url
    page.get_by_label("Login").fill(login)
    page.get_by_label("Password").fill(users[login]["password"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").first.wait_for(timeout=STARTUP_TIMEOUT_S * 1000)


def ask(page: Any, question: str) -> Any:
    """Ask and wait until the answers are finished (the feedback form appears); the turn."""
    forms = page.get_by_test_id("stForm").count()
    box = page.get_by_test_id("stChatInput").locator("textarea")
    box.fill(question)
    box.press("Enter")
    deadline = time.monotonic() + ANSWER_TIMEOUT_S
    while page.get_by_test_id("stForm").count() <= forms:
        assert time.monotonic() < deadline, f"no finished answers to {question!r} in time"
        time.sleep(0.2)
    return page.get_by_test_id("stChatMessage").last


@pytest.fixture
def ui_port() -> int:
    return free_port()


def serve(settings: Settings, provider: Provider, port: int, log_dir: Path, **env: str) -> Any:
    return running_ui(settings, log_dir, port=port, **provider.ui_env(), **ONE_LOCAL_MODEL, **env)


def test_sign_in_with_openid_connect_groups_from_the_token_then_sign_out(
    signin_settings: Settings, ui_port: int, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    callback = f"http://127.0.0.1:{ui_port}/oauth2callback"
    with (
        oidc_provider(callback, USERS, tmp_path / "provider.log") as provider,
        serve(signin_settings, provider, ui_port, tmp_path, **MAPPED_GROUPS) as url,
        sync_playwright() as p,
    ):
        browser, context = browser_context(p)
        try:
            page = context.new_page()
            page.goto(url)
            wait_for_app(page)
            page.get_by_role("button", name=re.compile("Sign in")).wait_for()
            assert page.get_by_test_id("stChatInput").count() == 0  # nothing before signing in
            sign_in(page, "frank")
            assert "frank@corvala.example · finance" in page.get_by_test_id("stSidebar").inner_text()
            # The finance documents are searched for frank (the answer's wording is the model's).
            turn = ask(page, BUDGET)
            caption = turn.get_by_test_id("stCaptionContainer").first.inner_text()
            found = r": [1-9]\d* passages? in \d+ ms from .*FY2025 operating budget"
            assert re.search(found, caption), caption

            page.get_by_role("button", name=re.compile("Sign out")).click()
            page.get_by_role("button", name=re.compile("Yes, sign me out")).click()  # at the provider
            page.get_by_role("button", name=re.compile("Sign in")).wait_for()
            assert not [c for c in context.cookies() if c["name"].startswith("_streamlit_user")]
            assert page.get_by_test_id("stChatInput").count() == 0

            sign_in(page, "grace")  # the provider asks for the password again: its session ended
            assert "grace@corvala.example · employees" in page.get_by_test_id("stSidebar").inner_text()
            turn = ask(page, BUDGET)
            assert "no passages you can access" in turn.inner_text()
        finally:
            browser.close()


def test_only_claims_a_user_cannot_change_choose_the_users_file_entry(
    signin_settings: Settings, ui_port: int, tmp_path: Path
) -> None:
    """No group map; the users file lists dana and bob by e-mail and erin by issuer and subject."""
    from playwright.sync_api import sync_playwright

    callback = f"http://127.0.0.1:{ui_port}/oauth2callback"
    with oidc_provider(callback, FORGERS, tmp_path / "provider.log") as provider:
        users_file = tmp_path / "users.yaml"
        users_file.write_text(
            "users:\n"
            "  dana: {email: dana@corvala.example, groups: [employees, admins]}\n"
            "  bob: {email: bob@corvala.example, groups: [employees, finance]}\n"
            f'  erin: {{oidc_sub: "{provider.issuer}|erin-account", groups: [employees, leadership]}}\n'
        )
        with (
            serve(signin_settings, provider, ui_port, tmp_path, DOCDUET_USERS_FILE=str(users_file)) as url,
            sync_playwright() as p,
        ):
            browser, _ = browser_context(p)
            try:
                seen = {login: sidebar_after_sign_in(browser, url, login) for login in FORGERS}
            finally:
                browser.close()
    log = (tmp_path / "streamlit.log").read_text()
    assert "dana@corvala.example · public documents only" in seen["mallory"]  # e-mail not verified
    assert "dana · public documents only" in seen["eve"]  # only preferred_username says dana
    assert "gina@corvala.example · public documents only" in seen["gina"]  # token groups, no map
    assert "not used here until an administrator maps them" in seen["gina"]
    assert "erin.home@mail.example · employees, leadership" in seen["erin-account"]  # oidc_sub
    assert "bob@corvala.example · employees, finance" in seen["bob"]  # a verified e-mail
    assert "DOCDUET_OIDC_GROUP_MAP is not set" in log  # said at start-up
    assert "users-file entry 'dana' not used" in log and "did not verify the e-mail" in log


def sidebar_after_sign_in(browser: Any, url: str, login: str) -> str:
    """Sign ``login`` in from a fresh browser context; the sidebar's text."""
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    context.route(re.compile(r"^(?!https?://127\.0\.0\.1[:/]).*"), lambda route: route.abort())
    context.set_default_timeout(60_000)
    try:
        page = context.new_page()
        page.goto(url)
        wait_for_app(page)
        sign_in(page, login, FORGERS)
        sidebar = page.get_by_test_id("stSidebar")
        assert sidebar.get_by_text("Admin", exact=True).count() == 0, login  # no admin page for anyone
        text: str = sidebar.inner_text()
        return text
    finally:
        context.close()


def test_an_expired_session_must_sign_in_again(
    signin_settings: Settings, ui_port: int, tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    callback = f"http://127.0.0.1:{ui_port}/oauth2callback"
    with (
        oidc_provider(callback, USERS, tmp_path / "idp.log", id_token_ttl_s=SHORT_ID_TOKEN_S) as provider,
        serve(signin_settings, provider, ui_port, tmp_path) as url,
        sync_playwright() as p,
    ):
        browser, context = browser_context(p)
        try:
            page = context.new_page()
            page.goto(url)
            wait_for_app(page)
            sign_in(page, "frank")
            signed_in_at = time.monotonic()
            page.get_by_test_id("stChatInput").wait_for()
            time.sleep(max(0.0, SHORT_ID_TOKEN_S + 2 - (time.monotonic() - signed_in_at)))
            page.reload()
            page.get_by_text("Your session expired").first.wait_for(timeout=STARTUP_TIMEOUT_S * 1000)
            assert page.get_by_test_id("stChatInput").count() == 0
            sign_in(page, "frank")
            page.get_by_test_id("stChatInput").wait_for()
        finally:
            browser.close()


def test_a_forged_proxy_header_from_another_address_is_ignored(
    signin_settings: Settings, tmp_path: Path
) -> None:
    """Only 127.0.0.2 is the proxy; the browser connects from 127.0.0.1 and forges both headers."""
    from playwright.sync_api import sync_playwright

    proxied = running_ui(
        signin_settings, tmp_path, DOCDUET_UI_USER_HEADER="X-Forwarded-User",
        DOCDUET_UI_TRUSTED_PROXIES="127.0.0.2", **ONE_LOCAL_MODEL,
    )  # fmt: skip
    forged = {"X-Forwarded-User": "bob", "X-Forwarded-For": "127.0.0.2", "X-Real-IP": "127.0.0.2"}
    blocked: list[str] = []
    with proxied as url, sync_playwright() as p:
        browser, context = browser_context(p, blocked, extra_http_headers=forged)
        try:
            page = context.new_page()
            page.goto(url)
            page.get_by_text("Signed in as").first.wait_for(timeout=STARTUP_TIMEOUT_S * 1000)
            sidebar = page.get_by_test_id("stSidebar").inner_text()
            answered = ask(page, HERON).inner_text()
            parking = ask(page, PARKING)
            check_hostile_page_is_text(page, parking, blocked)
        finally:
            browser.close()
    assert "anonymous · public documents only" in sidebar and "bob" not in sidebar
    assert "did not come through the sign-in proxy" in sidebar
    assert "no passages you can access" in answered  # bob could read the Heron memo; this is not bob


def test_an_agent_api_session_with_a_forged_proxy_header_is_anonymous(
    signin_settings: Settings, tmp_path: Path
) -> None:
    """nginx on the same host: 127.0.0.1 is the trusted proxy. The agent API's sessions have no
    address and carry the remote caller's headers; docduet ui turns that API off."""
    proxy = {"DOCDUET_UI_USER_HEADER": "X-Forwarded-User", "DOCDUET_UI_TRUSTED_PROXIES": "127.0.0.1"}
    env = {**os.environ, **settings_env(signin_settings), **proxy, **ONE_LOCAL_MODEL,
           "OMP_NUM_THREADS": "1", "FORWARDED_ALLOW_IPS": ""}  # fmt: skip
    port = free_port()
    with serving_app(port, env, tmp_path / "agent.log"):
        status, reply = interact(port, {"X-Forwarded-User": "dana"})
        proxied = markdown_of_one_run(port, [("X-Forwarded-User", "dana")])  # the real proxy, loopback
    shown = "\n".join(texts(reply))
    assert status == 200, reply
    assert "**Signed in as** anonymous · public documents only" in shown and "dana" not in shown
    assert "without a client address" in (tmp_path / "agent.log").read_text()
    assert "**Signed in as** dana · employees, admins" in proxied

    port = free_port()
    with running_ui(signin_settings, tmp_path, port=port, STREAMLIT_SERVER_ENABLE_AGENT_API="true",
                    **proxy, **ONE_LOCAL_MODEL):  # fmt: skip
        refused, answer = interact(port, {"X-Forwarded-User": "dana"})
    assert (refused, answer.get("error", {}).get("code")) == (403, "not_available"), answer


def check_hostile_page_is_text(page: Any, turn: Any, blocked: list[str]) -> None:
    """The hostile title shows as its literal text; nothing loads from or links to its hosts."""
    assert HOSTILE_TITLE in turn.inner_text()  # in the search caption (and any citation label)
    for host in ("attacker.example", "phish.example"):
        found = page.locator(f"img[src*='{host}'], a[href*='{host}']")
        assert found.count() == 0, [e.evaluate("e => e.parentElement.outerHTML") for e in found.all()]
        assert not [u for u in blocked if host in u], blocked


def test_a_doubled_proxy_header_is_refused_even_from_the_proxy(
    signin_settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    proxied = running_ui(
        signin_settings, tmp_path, port=port, DOCDUET_UI_USER_HEADER="X-Forwarded-User",
        DOCDUET_UI_TRUSTED_PROXIES="127.0.0.1", **ONE_LOCAL_MODEL,
    )  # fmt: skip
    with proxied:
        doubled = markdown_of_one_run(port, [("X-Forwarded-User", "carol"), ("X-Forwarded-User", "bob")])
        once = markdown_of_one_run(port, [("X-Forwarded-User", "bob")])
    assert "**Signed in as** anonymous · public documents only" in doubled
    assert "Not signed in\\: expected one X\\-Forwarded\\-User header, got 2\\." in doubled
    assert "**Signed in as** bob · employees, finance" in once  # the same proxy, one header


def test_listening_beyond_loopback_without_sign_in_is_refused(signin_settings: Settings) -> None:
    docduet = str(Path(sys.executable).with_name("docduet"))
    env = {**os.environ, **settings_env(signin_settings)}
    for name in ("DOCDUET_UI_USER_HEADER", "DOCDUET_OIDC_SERVER_METADATA_URL", "DOCDUET_UI_DEMO_SIGNIN"):
        env.pop(name, None)
    done = subprocess.run(
        [docduet, "ui", "--host", "0.0.0.0", "--port", str(free_port())],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "refusing to serve the web chat on 0.0.0.0 without sign-in" in done.stderr
    assert "DOCDUET_OIDC_SERVER_METADATA_URL" in done.stderr and "docs/web-chat.md" in done.stderr
    demo = subprocess.run(
        [docduet, "ui", "--host", "0.0.0.0", "--port", str(free_port())],
        env={**env, "DOCDUET_UI_DEMO_SIGNIN": "1"}, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert demo.returncode == 2 and "only runs on loopback" in demo.stderr, demo.stderr
