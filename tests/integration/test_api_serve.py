"""``docduet serve`` through the real parts: the official ``openai`` client and the MCP SDK's client
against the API on loopback.

Real backend: the session's weaviate-server with corpora/finance (finance group, confidential)
and one public page ingested for this module, the packaged Qwen2.5-Coder-0.5B as ``slm``. Real
authentication: API keys from the key store ``docduet keys`` writes, and JWT access tokens from
the loopback OpenID Connect provider (oidc-provider from npm, tests/oidc/provider.mjs) got through
its login form, for the audience ``urn:docduet:api``; the provider's users are not in the users
file, so their groups come from the token through DOCDUET_OIDC_GROUP_MAP, as in the web chat.
The server is the app ``docduet serve`` runs (``docduet.api.run.build_app``), under uvicorn in a
thread of this process (sharing the loaded models); one test starts the ``docduet serve`` command.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import openai
import pytest
import uvicorn
from answer_fixtures import answer_settings, settings_env, stored_chunks
from llm_server import free_port
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from oidc_provider import Provider, oidc_provider
from oidc_tokens import access_token, claims_of

from backends.weaviate_server.server import WeaviateServer
from chat.results import NOT_FOUND_TEXT
from core.protocols import NullProgress
from core.settings import Settings
from docduet.api.keys import KeyStore, key_file
from docduet.api.run import build_app
from docduet.compose import Root, run_ingest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
HERON = "What is the price of the Project Heron acquisition?"
FINANCE_FILES = {"project-heron-acquisition-memo.pdf", "fy2025-budget.xlsx"}
CALLBACK = "http://127.0.0.1:9/callback"  # registered with the provider, never fetched
API = "urn:docduet:api"
RESOURCES: dict[str, dict[str, Any]] = {
    API: {"audience": API},
    f"{API}:short": {"audience": API, "ttl_s": 2},  # the right audience, expiring at once
    "urn:other:api": {},  # another API's tokens
}
USERS: dict[str, dict[str, Any]] = {  # provider accounts the users file does not list: groups from the token
    "frank": {"password": "frank-pw", "email": "frank@corvala.example", "groups": ["finance"]},
    "grace": {"password": "grace-pw", "email": "grace@corvala.example", "groups": ["employees"]},
}
LIMIT = 3
STARTUP_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Provider]:
    log = tmp_path_factory.mktemp("provider") / "provider.log"
    with oidc_provider(CALLBACK, USERS, log, resources=RESOURCES) as running:
        yield running


@pytest.fixture(scope="module")
def api_settings(
    weaviate_node: WeaviateServer,
    weaviate_binary: Path,
    gguf_path: Path,
    provider: Provider,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    """corpora/finance and a public page in this module's collection; tokens for ``urn:docduet:api``."""
    root = tmp_path_factory.mktemp("api")
    corpus = Path(shutil.copytree(REPO / "corpora" / "finance", root / "corpus" / "finance"))
    facilities = corpus.parent / "facilities"
    facilities.mkdir()
    (facilities / "_access.yaml").write_text("groups: [public]\nsensitivity: public\n")
    (facilities / "parking.md").write_text("# Parking\n\nVisitors park in bay 4 of the Leeds office.\n")
    settings = answer_settings(
        weaviate_node,
        weaviate_binary,
        root,
        gguf_path,
        f"http://127.0.0.1:{free_port()}/v1",
        slm_max_tokens=32,
        rate_limit_questions=LIMIT,
        oidc_server_metadata_url=provider.metadata_url,
        oidc_api_audience=API,
        oidc_api_leeway_s=0,
        oidc_group_map="finance=finance,employees=employees",
    )
    summary = run_ingest(settings, [corpus.parent], progress=NullProgress())
    assert summary.failed == [] and len(summary.added) == 3
    return settings


@pytest.fixture(scope="module")
def api_url(api_settings: Settings) -> Iterator[str]:
    """The API on a free loopback port until the module ends."""
    port = free_port()
    with Root(api_settings, autostart=False) as root:
        app = build_app(api_settings, root, loopback=True)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
        thread = threading.Thread(target=server.run, name="docduet-api", daemon=True)
        thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=30)


def key_for(settings: Settings, user: str) -> str:
    """A new API key, as ``docduet keys create --user USER`` makes it."""
    return KeyStore(key_file(settings.paths.data_dir)).create(user)[1]


def token_for(provider: Provider, login: str, resource: str = API) -> str:
    return access_token(provider, CALLBACK, login, USERS[login]["password"], resource)


def client(api_url: str, credential: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{api_url}/v1", api_key=credential, max_retries=0, timeout=600.0)


def sent_files(extra: dict[str, Any], settings: Settings) -> set[str]:
    """The files of the passages an answer's privacy record says the model received, and of its citations."""
    ids = set(extra["privacy"]["sent_chunk_ids"])
    sent = {Path(c.source).name for i, c in stored_chunks(settings).items() if i in ids}
    return sent | {c["file"] for c in extra["citations"]}


def test_a_key_gets_a_cited_answer_from_its_users_passages_only(api_url: str, api_settings: Settings) -> None:
    bob = client(api_url, key_for(api_settings, "bob"))  # users file: employees, finance
    completion = bob.chat.completions.create(model="slm", messages=[{"role": "user", "content": HERON}])
    extra = completion.model_extra or {}
    assert completion.choices[0].message.content
    assert extra["privacy"]["sent_chunk_ids"] and extra["privacy"]["off_premises"] is False
    assert sent_files(extra, api_settings) <= FINANCE_FILES | {"parking.md"}
    assert all(c["link"].startswith(f"{api_url}/v1/sources?") for c in extra["citations"])
    assert completion.usage is not None and completion.usage.completion_tokens > 0

    carol = client(api_url, key_for(api_settings, "carol"))  # employees: no finance documents
    stream = carol.chat.completions.create(
        model="slm", messages=[{"role": "user", "content": HERON}], stream=True
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == NOT_FOUND_TEXT
    final = (chunks[-1].model_extra or {}) if chunks else {}
    assert final["citations"] == [] and final["privacy"]["sent_chunk_ids"] == []


def test_a_provider_token_streams_an_answer_with_the_tokens_groups(
    api_url: str, api_settings: Settings, provider: Provider
) -> None:
    frank = client(api_url, token_for(provider, "frank"))  # finance, through the group map
    assert "slm" in {m.id for m in frank.models.list()}
    stream = frank.chat.completions.create(
        model="slm",
        messages=[{"role": "user", "content": HERON}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    final = next(c.model_extra or {} for c in chunks if c.choices and c.choices[0].finish_reason == "stop")
    assert text.strip() and final["privacy"]["sent_chunk_ids"]
    assert sent_files(final, api_settings) <= FINANCE_FILES | {"parking.md"}
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0

    grace = token_for(provider, "grace")  # employees: the search finds no finance passage
    found = httpx.post(
        f"{api_url}/v1/search", json={"query": HERON}, headers={"Authorization": f"Bearer {grace}"}
    )
    assert found.status_code == 200 and not {p["file"] for p in found.json()["data"]} & FINANCE_FILES


def test_bad_expired_and_foreign_tokens_and_revoked_keys_get_401(
    api_url: str, api_settings: Settings, provider: Provider
) -> None:
    short = token_for(provider, "frank", f"{API}:short")
    refused = {
        "garbage": "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl",
        "another API's": token_for(provider, "frank", "urn:other:api"),
        "unknown key": "ddk_0123456789ab_not-a-key",
    }
    for what, credential in refused.items():
        with pytest.raises(openai.AuthenticationError) as caught:
            client(api_url, credential).models.list()
        assert caught.value.status_code == 401, what
    expires = claims_of(short)["exp"]
    deadline = time.monotonic() + 30
    while time.time() < expires + 1:  # wait for the clock to pass exp (the server's leeway is 0)
        assert time.monotonic() < deadline
        time.sleep(0.2)
    with pytest.raises(openai.AuthenticationError, match="expired"):
        client(api_url, short).models.list()

    store = KeyStore(key_file(api_settings.paths.data_dir))
    record, key = store.create("alice")
    assert client(api_url, key).models.list().data
    KeyStore(store.path).revoke(record.key_id)  # as `docduet keys revoke` does, in another process
    with pytest.raises(openai.AuthenticationError, match="revoked"):
        client(api_url, key).models.list()


def test_the_rate_limit_answers_429_with_retry_after(api_url: str, api_settings: Settings) -> None:
    headers = {"Authorization": f"Bearer {key_for(api_settings, 'dana')}"}
    for _ in range(LIMIT):
        assert httpx.post(f"{api_url}/v1/search", json={"query": HERON}, headers=headers).status_code == 200
    refused = httpx.post(f"{api_url}/v1/search", json={"query": HERON}, headers=headers)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert json.loads(refused.text)["error"]["code"] == "rate_limit_exceeded"
    with pytest.raises(openai.RateLimitError):
        client(api_url, headers["Authorization"][7:]).chat.completions.create(
            model="slm", messages=[{"role": "user", "content": HERON}]
        )


async def mcp_calls(url: str, credential: str | None, calls: list[tuple[str, dict[str, Any]]]) -> Any:
    """Each tool call's structured result, through the MCP SDK's client; with the HTTP statuses seen."""
    statuses: list[int] = []

    async def record(response: httpx2.Response) -> None:
        statuses.append(response.status_code)

    headers = {"Authorization": f"Bearer {credential}"} if credential else {}
    results: dict[str, Any] = {}
    http = httpx2.AsyncClient(headers=headers, timeout=600, event_hooks={"response": [record]})
    try:
        async with (
            http,
            streamable_http_client(f"{url}/mcp", http_client=http) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            results["tools"] = sorted(t.name for t in (await session.list_tools()).tools)
            for name, arguments in calls:
                result = await session.call_tool(name, arguments)
                assert not result.is_error, result.content
                results[name] = result.structured_content
    except ExceptionGroup as e:  # the SDK's task groups wrap what the server refused
        assert e.subgroup(MCPError) is not None, e
        results["refused"] = statuses
    return results


def test_an_mcp_client_gets_only_its_users_passages_and_cited_answers(
    api_url: str, api_settings: Settings, provider: Provider
) -> None:
    bob = key_for(api_settings, "bob")  # employees, finance
    calls = [
        ("search_documents", {"query": HERON, "top_k": 5}),
        ("ask", {"question": HERON, "generator": "slm"}),
    ]
    got = anyio.run(mcp_calls, api_url, bob, calls)
    assert got["tools"] == ["ask", "search_documents"]
    assert "project-heron-acquisition-memo.pdf" in {p["file"] for p in got["search_documents"]["passages"]}
    answer = got["ask"]
    assert answer["answer"] and answer["citations"] and answer["privacy"]["sent_chunk_ids"]
    assert {c["file"] for c in answer["citations"]} <= FINANCE_FILES | {"parking.md"}
    assert all(c["link"].startswith(f"{api_url}/v1/sources?") for c in answer["citations"])

    grace = token_for(provider, "grace")  # an access token: employees, no finance documents
    found = anyio.run(mcp_calls, api_url, grace, calls[:1])["search_documents"]["passages"]
    assert not {p["file"] for p in found} & FINANCE_FILES
    for credential in (None, "ddk_0123456789ab_not-a-key"):
        assert anyio.run(mcp_calls, api_url, credential, []) == {"refused": [401]}


def test_the_docduet_serve_command_serves_on_loopback(api_settings: Settings, tmp_path: Path) -> None:
    """The real command (a subprocess): probes answer without credentials, search needs a key."""
    key = key_for(api_settings, "bob")  # an active key: credentials are required from the start
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **settings_env(api_settings), "OMP_NUM_THREADS": "1"}
    docduet = str(Path(sys.executable).with_name("docduet"))
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [docduet, "serve", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT_S
            while not _healthy(url):
                assert process.poll() is None, (tmp_path / "serve.log").read_text()
                assert time.monotonic() < deadline, "docduet serve did not answer /healthz in time"
                time.sleep(0.5)
            assert httpx.post(f"{url}/v1/search", json={"query": HERON}).status_code == 401
            found = httpx.post(
                f"{url}/v1/search",
                json={"query": HERON},
                headers={"Authorization": f"Bearer {key}"},
                timeout=300,
            )
            assert found.status_code == 200, found.text
            assert "project-heron-acquisition-memo.pdf" in {p["file"] for p in found.json()["data"]}
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=30)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).json() == {"status": "ok"}
    except httpx.HTTPError:
        return False
