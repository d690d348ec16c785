"""The API's routes over fakes (docduet/api/app.py): who gets what, OpenAI-shaped errors, SSE, limits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from api_parts import USERS, FakeBackend, Issuer, answer_service, bearer, client
from api_parts import settings as make_settings
from fakes import ManualClock, ScriptedGenerator
from fastapi.testclient import TestClient

from chat.rewrite import HeuristicRewriter
from chat.service import AnswerService, GeneratorSlot
from core.errors import BackendUnavailableError, ConfigError
from core.identity import UserDirectory
from core.ratelimit import RateLimiter
from docduet.api.app import create_app
from docduet.api.callers import Authenticator, AuthMode, auth_mode
from docduet.api.keys import KeyStore

ANCHOR = "Which days are the office anchor days?"
SALARY = "What is the salary band midpoint for a Senior Software Engineer?"


def ask(question: str, model: str = "slm", **body: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": question}], **body}


def sse(text: str) -> list[dict[str, Any]]:
    lines = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert lines[-1] == "[DONE]"
    return [json.loads(line) for line in lines[:-1]]


def test_a_key_reads_its_users_passages_with_citations_and_extras(tmp_path: Path) -> None:
    api, keys = client(tmp_path)
    _, alice = keys.create("alice")
    reply = api.post("/v1/chat/completions", json=ask(SALARY), headers=bearer(alice))
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert "78,000" in body["choices"][0]["message"]["content"]
    assert "[1]" in body["choices"][0]["message"]["content"]
    [citation] = body["citations"]
    assert citation["file"] == "salary-bands.md" and citation["page"] == 2
    assert citation["link"].startswith("http://testserver/v1/sources?source=")
    assert body["privacy"]["off_premises"] is False and body["privacy"]["sent_chunk_ids"]
    assert body["usage"]["total_tokens"] > 0 and body["cost_usd"] == 0.0
    cited = api.get(citation["link"].removeprefix("http://testserver"), headers=bearer(alice))
    assert cited.status_code == 200 and b"78,000" in cited.content


def test_another_user_never_gets_the_passage_nor_its_citation(tmp_path: Path) -> None:
    api, keys = client(tmp_path)
    _, carol = keys.create("carol")
    body = api.post("/v1/chat/completions", json=ask(SALARY), headers=bearer(carol)).json()
    assert "78,000" not in json.dumps(body)
    assert body["citations"] == [] and body["abstained"] is True
    found = api.post("/v1/search", json={"query": SALARY}, headers=bearer(carol)).json()
    assert all(p["file"] != "salary-bands.md" for p in found["data"])


def test_the_hosted_model_never_receives_a_confidential_passage(tmp_path: Path) -> None:
    api, keys = client(tmp_path)
    _, alice = keys.create("alice")
    body = api.post("/v1/chat/completions", json=ask(SALARY, "llm"), headers=bearer(alice)).json()
    assert "78,000" not in body["choices"][0]["message"]["content"]
    assert body["privacy"] == {
        "off_premises": False,
        "sent_chunk_ids": [],
        "withheld_count": 1,
    }  # nothing left


def test_the_stream_carries_the_words_then_the_extras(tmp_path: Path) -> None:
    api, keys = client(tmp_path)
    _, carol = keys.create("carol")
    request = ask(ANCHOR, stream=True, stream_options={"include_usage": True})
    reply = api.post("/v1/chat/completions", json=request, headers=bearer(carol))
    assert reply.headers["content-type"].startswith("text/event-stream")
    chunks = sse(reply.text)
    words = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert "Tuesday and Thursday" in words
    final = next(c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"] == "stop")
    assert final["citations"][0]["file"] == "employee-handbook.md"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


def test_an_answer_that_may_be_replaced_is_streamed_once_final(tmp_path: Path) -> None:
    api, keys = client(tmp_path, buffered=frozenset({"slm"}))
    _, carol = keys.create("carol")
    reply = api.post("/v1/chat/completions", json=ask(ANCHOR, stream=True), headers=bearer(carol))
    contents = [c["choices"][0]["delta"].get("content") for c in sse(reply.text)]
    assert [c for c in contents if c] == ["The office anchor days are Tuesday and Thursday [1]."]


def test_a_generator_failing_mid_stream_sends_an_error_event(tmp_path: Path) -> None:
    api, keys = client(tmp_path, failing=True)
    _, carol = keys.create("carol")
    streamed = sse(
        api.post("/v1/chat/completions", json=ask(ANCHOR, stream=True), headers=bearer(carol)).text
    )
    assert "model server went away" in streamed[-1]["error"]["message"]
    whole = api.post("/v1/chat/completions", json=ask(ANCHOR), headers=bearer(carol))
    assert whole.status_code == 502 and whole.json()["error"]["code"] == "generation_failed"


def test_a_follow_up_is_rewritten_with_the_history(tmp_path: Path) -> None:
    api, keys = client(tmp_path)
    _, carol = keys.create("carol")
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": ANCHOR},
        {"role": "assistant", "content": "Tuesday and Thursday [1]."},
        {"role": "user", "content": [{"type": "text", "text": "and which tool books the desks?"}]},
    ]
    reply = api.post(
        "/v1/chat/completions", json={"model": "slm", "messages": messages}, headers=bearer(carol)
    )
    assert reply.status_code == 200, reply.text
    assert "Officely" in reply.json()["choices"][0]["message"]["content"]


def test_models_lists_where_each_runs_and_its_ceiling(tmp_path: Path) -> None:
    api, keys = client(tmp_path)
    _, carol = keys.create("carol")
    data = api.get("/v1/models", headers=bearer(carol)).json()["data"]
    assert [(m["id"], m["runs"], m["max_sensitivity"]) for m in data] == [
        ("slm", "on premises", "confidential"),
        ("llm", "hosted", "internal"),
    ]


@pytest.mark.parametrize("header", [None, "Bearer ddk_nope_nope", "Basic YWxpY2U6eA==", "Bearer eyJ.not.jwt"])
def test_missing_or_bad_credentials_get_401_in_the_openai_shape(tmp_path: Path, header: str | None) -> None:
    api, _ = client(tmp_path)
    reply = api.post(
        "/v1/chat/completions", json=ask(ANCHOR), headers={"Authorization": header} if header else {}
    )
    assert reply.status_code == 401 and reply.headers["www-authenticate"] == "Bearer"
    error = reply.json()["error"]
    assert (
        error["code"] == "invalid_api_key" and error["type"] == "invalid_request_error" and error["message"]
    )


def test_a_revoked_key_stops_working(tmp_path: Path) -> None:
    api, keys = client(tmp_path)
    record, key = keys.create("carol")
    assert api.get("/v1/models", headers=bearer(key)).status_code == 200
    KeyStore(keys.path).revoke(record.key_id)
    assert api.get("/v1/models", headers=bearer(key)).status_code == 401


def test_tokens_map_to_users_file_users_or_to_mapped_groups(tmp_path: Path) -> None:
    issuer = Issuer()
    api, _ = client(tmp_path, issuer=issuer)
    by_email = issuer.token(email="alice@corvala.example", email_verified=True)
    assert "78,000" in api.post("/v1/chat/completions", json=ask(SALARY), headers=bearer(by_email)).text
    unverified = issuer.token(email="alice@corvala.example", email_verified=False, groups=["idp-staff"])
    body = api.post("/v1/chat/completions", json=ask(SALARY), headers=bearer(unverified)).text
    assert "78,000" not in body
    staff = api.post("/v1/chat/completions", json=ask(ANCHOR), headers=bearer(unverified)).json()
    assert staff["citations"][0]["file"] == "employee-handbook.md"  # idp-staff -> employees
    expired = issuer.token(exp=1)
    assert (
        api.get("/v1/models", headers=bearer(expired))
        .json()["error"]["message"]
        .startswith("the token has expired")
    )


def test_the_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    clock = ManualClock()
    api, keys = client(tmp_path, limit=2, clock=clock)
    _, carol = keys.create("carol")
    for _ in range(2):
        assert api.post("/v1/search", json={"query": ANCHOR}, headers=bearer(carol)).status_code == 200
    refused = api.post("/v1/chat/completions", json=ask(ANCHOR), headers=bearer(carol))
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
    assert refused.json()["error"]["type"] == "rate_limit_error"
    clock.now += 61
    assert api.post("/v1/search", json={"query": ANCHOR}, headers=bearer(carol)).status_code == 200


def test_errors_say_what_to_do(tmp_path: Path) -> None:
    api, keys = client(tmp_path)
    _, carol = keys.create("carol")
    unknown = api.post("/v1/chat/completions", json=ask(ANCHOR, "gpt-4"), headers=bearer(carol))
    assert unknown.status_code == 404 and "GET /v1/models" in unknown.json()["error"]["message"]
    assistant_last = {"model": "slm", "messages": [{"role": "assistant", "content": "hi"}]}
    assert api.post("/v1/chat/completions", json=assistant_last, headers=bearer(carol)).status_code == 400
    invalid = api.post("/v1/chat/completions", json={"model": "slm"}, headers=bearer(carol))
    assert invalid.status_code == 400 and "messages" in invalid.json()["error"]["message"]
    assert api.get("/v1/nothing", headers=bearer(carol)).json()["error"]["code"] == "not_found"


def test_anonymous_callers_read_public_documents_only_and_only_on_loopback(tmp_path: Path) -> None:
    api, _ = client(tmp_path, mode=AuthMode.ANONYMOUS_ALLOWED)
    assert api.get("/healthz").json() == {"status": "ok"}
    found = api.post("/v1/search", json={"query": "Corvala Series B anchor days salary"}).json()["data"]
    assert [p["sensitivity"] for p in found] == ["public"]
    keys = KeyStore(tmp_path / "keys.json")
    with pytest.raises(ConfigError, match="beyond loopback"):
        auth_mode(make_settings(tmp_path), keys, loopback=False)
    keys.create("carol")
    assert auth_mode(make_settings(tmp_path), keys, loopback=False) is AuthMode.REQUIRED


def test_an_unreachable_index_is_a_503_that_names_no_internal_address(tmp_path: Path) -> None:
    class Down(FakeBackend):
        def service(self) -> AnswerService:
            raise BackendUnavailableError(
                "Cannot reach Weaviate at http://10.1.2.3:8080; check WEAVIATE_URL."
            )

    settings = make_settings(tmp_path)
    authenticator = Authenticator(
        settings, UserDirectory.parse(USERS), KeyStore(tmp_path / "k.json"), AuthMode.ANONYMOUS_ALLOWED, None
    )
    app = create_app(settings, Down(answer_service(tmp_path / "docs")), authenticator, RateLimiter(0, 1.0))
    reply = TestClient(app).post("/v1/chat/completions", json=ask(ANCHOR))
    error = reply.json()["error"]
    assert reply.status_code == 503 and error["code"] == "index_unavailable"
    assert "10.1.2.3" not in error["message"] and "try again shortly" in error["message"]


def test_a_stream_whose_retrieval_fails_is_an_http_error_not_a_broken_stream(tmp_path: Path) -> None:
    class Broken:
        def retrieve(self, query: str, **kwargs: object) -> list[object]:
            raise BackendUnavailableError("Cannot reach Weaviate; check it")

    service = AnswerService(Broken(), [GeneratorSlot("slm", ScriptedGenerator("slm"))], HeuristicRewriter())  # type: ignore[arg-type]
    settings = make_settings(tmp_path)
    authenticator = Authenticator(
        settings, UserDirectory.parse(USERS), KeyStore(tmp_path / "k.json"), AuthMode.ANONYMOUS_ALLOWED, None
    )
    app = create_app(settings, FakeBackend(service), authenticator, RateLimiter(0, 1.0))
    reply = TestClient(app).post("/v1/chat/completions", json=ask(ANCHOR, stream=True))
    assert reply.status_code == 503 and reply.json()["error"]["code"] == "index_unavailable"


def test_cited_files_count_against_the_download_limit(tmp_path: Path) -> None:
    api, keys = client(tmp_path, downloads_limit=1)
    _, alice = keys.create("alice")
    [citation] = api.post("/v1/chat/completions", json=ask(SALARY), headers=bearer(alice)).json()["citations"]
    path = citation["link"].removeprefix("http://testserver")
    assert api.get(path, headers=bearer(alice)).status_code == 200
    refused = api.get(path, headers=bearer(alice))
    assert refused.status_code == 429 and "downloaded 1 source files" in refused.json()["error"]["message"]
