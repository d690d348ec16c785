"""The MCP server over fakes (docduet/api/mcp_server.py, mcp_tools.py): the REST API's callers,
permissions, rate limit and errors, through the real app and the MCP SDK's server (JSON-RPC over
streamable HTTP, stateless, JSON responses)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_parts import FakeBackend, Issuer, answer_service, bearer, client
from api_parts import settings as make_settings
from fakes import ManualClock
from fastapi.testclient import TestClient
from mcp.server.mcpserver.exceptions import ToolError

from chat.service import AnswerService
from core.domain import ANONYMOUS
from core.errors import BackendUnavailableError
from core.ratelimit import RateLimiter
from docduet.api.callers import AuthMode, Caller
from docduet.api.keys import KeyStore
from docduet.api.mcp_tools import Call, McpTools

ANCHOR = "Which days are the office anchor days?"
SALARY = "What is the salary band midpoint for a Senior Software Engineer?"
ACCEPT = {"Accept": "application/json, text/event-stream"}
LOOPBACK = "http://127.0.0.1:8000"


@contextmanager
def running(api: TestClient, base_url: str = "http://testserver") -> Iterator[TestClient]:
    """The app with its lifespan (the MCP session manager) running."""
    with TestClient(api.app, base_url=base_url, raise_server_exceptions=False) as live:
        yield live


def auth(credential: str | None) -> dict[str, str]:
    return bearer(credential) if credential else {}


def rpc(api: TestClient, method: str, params: dict[str, Any], credential: str | None) -> httpx.Response:
    headers = {**ACCEPT, **auth(credential)}
    return api.post(
        "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params}, headers=headers
    )


def tool(api: TestClient, name: str, credential: str | None, **arguments: Any) -> dict[str, Any]:
    """A ``tools/call`` result: ``structuredContent`` on success, the error text under ``error``."""
    reply = rpc(api, "tools/call", {"name": name, "arguments": arguments}, credential)
    assert reply.status_code == 200, reply.text
    result = reply.json()["result"]
    if result["isError"]:
        return {"error": result["content"][0]["text"]}
    return dict(result["structuredContent"])


def test_mcp_refuses_missing_and_wrong_credentials_as_the_rest_routes_do(tmp_path: Path) -> None:
    issuer = Issuer()
    api, keys = client(tmp_path, issuer=issuer)
    with running(api) as live:
        for credential in (None, "ddk_0123456789ab_not-a-key", issuer.token(aud="urn:other"), "garbage"):
            refused = rpc(live, "tools/list", {}, credential)
            rest = live.post("/v1/search", json={"query": ANCHOR}, headers=auth(credential))
            assert refused.status_code == rest.status_code == 401, credential
            assert refused.headers["www-authenticate"] == "Bearer"
            assert refused.json()["error"] == rest.json()["error"]
        record, key = keys.create("carol")
        assert rpc(live, "tools/list", {}, key).status_code == 200
        KeyStore(keys.path).revoke(record.key_id)
        assert "revoked" in rpc(live, "tools/list", {}, key).json()["error"]["message"]


def test_both_tools_are_listed_with_their_arguments(tmp_path: Path) -> None:
    api, keys = client(tmp_path)
    _, carol = keys.create("carol")
    with running(api) as live:
        listed = rpc(live, "tools/list", {}, carol).json()["result"]["tools"]
    schemas = {t["name"]: t["inputSchema"] for t in listed}
    assert set(schemas) == {"search_documents", "ask"}
    assert (
        schemas["search_documents"]["required"] == ["query"]
        and "top_k" in schemas["search_documents"]["properties"]
    )
    assert schemas["ask"]["required"] == ["question"] and "generator" in schemas["ask"]["properties"]


def test_search_documents_returns_only_the_passages_the_caller_may_read(tmp_path: Path) -> None:
    issuer = Issuer()
    api, keys = client(tmp_path, issuer=issuer)
    _, alice = keys.create("alice")  # employees, hr
    _, carol = keys.create("carol")  # employees
    staff = issuer.token(groups=["idp-staff"])  # employees through the group map
    with running(api) as live:
        found = tool(live, "search_documents", alice, query=SALARY)["passages"]
        assert found[0]["file"] == "salary-bands.md" and found[0]["sensitivity"] == "confidential"
        assert found[0]["link"].startswith("http://testserver/v1/sources?source=")
        assert {"title", "section", "page", "text"} <= set(found[0])
        for other in (carol, staff):
            files = {p["file"] for p in tool(live, "search_documents", other, query=SALARY)["passages"]}
            assert "salary-bands.md" not in files
        mixed = f"{ANCHOR} {SALARY}"
        assert len(tool(live, "search_documents", alice, query=mixed, top_k=1)["passages"]) == 1
        assert "top_k" in tool(live, "search_documents", alice, query=mixed, top_k=99)["error"]


def test_ask_answers_with_markers_citations_and_privacy_for_the_caller_only(tmp_path: Path) -> None:
    api, keys = client(tmp_path)
    _, alice = keys.create("alice")
    _, carol = keys.create("carol")
    with running(api) as live:
        answer = tool(live, "ask", alice, question=SALARY)
        refused = tool(live, "ask", carol, question=SALARY)
        hosted = tool(live, "ask", alice, question=SALARY, generator="llm")
        unknown = tool(live, "ask", alice, question=SALARY, generator="gpt-4")
    assert "78,000" in answer["answer"] and "[1]" in answer["answer"]
    [citation] = answer["citations"]
    assert citation["file"] == "salary-bands.md" and citation["page"] == 2 and citation["link"]
    assert answer["privacy"]["off_premises"] is False and answer["usage"]["total_tokens"] > 0
    assert "78,000" not in str(refused) and refused["citations"] == [] and refused["abstained"] is True
    # the hosted generator's ceiling is internal: the confidential passage never reaches it
    assert "78,000" not in hosted["answer"]
    assert hosted["privacy"] == {"off_premises": False, "sent_chunk_ids": [], "withheld_count": 1}
    assert "unknown generator 'gpt-4'" in unknown["error"] and "slm, llm" in unknown["error"]


def test_tool_calls_share_the_rest_apis_rate_limit(tmp_path: Path) -> None:
    clock = ManualClock()
    api, keys = client(tmp_path, limit=2, clock=clock)
    _, carol = keys.create("carol")
    with running(api) as live:
        assert live.post("/v1/search", json={"query": ANCHOR}, headers=bearer(carol)).status_code == 200
        assert "passages" in tool(live, "search_documents", carol, query=ANCHOR)
        refused = tool(live, "ask", carol, question=ANCHOR)
        assert "retry after 60 s" in refused["error"]
        assert live.post("/v1/search", json={"query": ANCHOR}, headers=bearer(carol)).status_code == 429
        clock.now += 61
        assert tool(live, "ask", carol, question=ANCHOR)["citations"]


def test_anonymous_callers_get_public_passages_on_loopback_host_names_only(tmp_path: Path) -> None:
    api, _ = client(tmp_path, mode=AuthMode.ANONYMOUS_ALLOWED)
    with running(api, LOOPBACK) as live:
        found = tool(live, "search_documents", None, query="Corvala Series B anchor days salary")
        assert [p["sensitivity"] for p in found["passages"]] == ["public"]
    with running(api, "http://rebound.example") as rebound:  # DNS rebinding: a page's own host name
        assert rpc(rebound, "tools/list", {}, None).status_code in (400, 403, 421)


def test_an_unreachable_index_is_a_tool_error_that_names_no_internal_address(tmp_path: Path) -> None:
    class Down(FakeBackend):
        def service(self) -> AnswerService:
            raise BackendUnavailableError(
                "Cannot reach Weaviate at http://10.1.2.3:8080; check WEAVIATE_URL."
            )

    tools = McpTools(make_settings(tmp_path), Down(answer_service(tmp_path / "docs")), RateLimiter(0, 1.0))
    call = Call(Caller(ANONYMOUS, "anonymous"), LOOPBACK, "127.0.0.1")
    for use in (lambda: tools.ask(call, ANCHOR), lambda: tools.search_documents(call, ANCHOR)):
        with pytest.raises(ToolError, match="try again shortly") as caught:
            use()
        assert "10.1.2.3" not in str(caught.value) and isinstance(
            caught.value.__cause__, BackendUnavailableError
        )
