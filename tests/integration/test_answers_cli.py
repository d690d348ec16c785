"""``docduet ask`` / ``docduet compare --json`` run as subprocesses against a real index.

The environment points the command at the session's Weaviate (WEAVIATE_URL, WEAVIATE_GRPC_URL,
WEAVIATE_API_KEY), at this module's collection (DOCDUET_COLLECTION), at the demo users file, at
the packaged GGUF, and at llama-cpp-python's server behind a recording proxy as the hosted LLM.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from answer_fixtures import (
    CANARY,
    REPO,
    DelayingProxy,
    answer_settings,
    confidential,
    ingest_corpus,
    leaked,
    readable_by,
    settings_env,
)
from llm_server import StatusServer

from backends.weaviate_server.server import WeaviateServer
from core.domain import Chunk
from core.identity import UserDirectory
from core.prompt import neutralise
from core.settings import Settings

pytestmark = pytest.mark.integration

SALARY = "What is the salary band midpoint for a Senior Software Engineer (L4) in Leeds?"
PENSION = "How much does Corvala contribute to a UK employee's pension?"
CLI_TIMEOUT_S = 420


@pytest.fixture(scope="module")
def llm_proxy(llama_server_port: int) -> Iterator[DelayingProxy]:
    with DelayingProxy(llama_server_port) as proxy:
        yield proxy


@pytest.fixture
def proxy(llm_proxy: DelayingProxy) -> DelayingProxy:
    llm_proxy.clear()
    return llm_proxy


@pytest.fixture(scope="module")
def cli_settings(
    weaviate_node: WeaviateServer,
    weaviate_binary: Path,
    gguf_path: Path,
    llm_proxy: DelayingProxy,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    root = tmp_path_factory.mktemp("answers-cli")
    return answer_settings(weaviate_node, weaviate_binary, root, gguf_path, llm_proxy.base_url)


@pytest.fixture(scope="module")
def chunks(cli_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Chunk]:
    return ingest_corpus(cli_settings, tmp_path_factory.mktemp("documents"))


@pytest.fixture(scope="module")
def users(cli_settings: Settings) -> UserDirectory:
    return UserDirectory.from_settings(cli_settings.identity)


def docduet(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the installed ``docduet`` command with ``settings`` (and ``env``) as its environment."""
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith(("DOCDUET_", "WEAVIATE_", "OPENAI_"))
    }
    environ = inherited | settings_env(settings) | {"OMP_NUM_THREADS": "1"} | env
    command = Path(sys.executable).with_name("docduet")
    argv = [str(command)] if command.exists() else [sys.executable, "-m", "docduet.cli"]
    return subprocess.run(
        [*argv, *args],
        env=environ,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


def comparison(run: subprocess.CompletedProcess[str], code: int = 0) -> dict[str, Any]:
    assert run.returncode == code, f"exit {run.returncode}\n{run.stderr[-3000:]}"
    return json.loads(run.stdout)


def check_answers(
    data: dict[str, Any], chunks: dict[str, Chunk], who: str | None, users: UserDirectory
) -> None:
    """Every hit, sent passage and citation is readable by the user; citations quote passages."""
    user = users.resolve(who)
    hits = data["retrieval"]["hits"]
    assert hits and all(readable_by(chunks[h["chunk_id"]], user) for h in hits)
    hit_sources = {h["source"] for h in hits}
    for answer in data["answers"]:
        sent = [chunks[i] for i in answer["privacy"]["sent_chunk_ids"]]
        assert all(readable_by(c, user) for c in sent)
        for citation in answer["citations"]:
            chunk = sent[citation["number"] - 1]
            assert citation["source"] == chunk.source and citation["source"] in hit_sources
            assert citation["snippet"] in neutralise(chunk.text)


def test_compare_json_as_carol_never_touches_hr_documents(
    cli_settings: Settings, chunks: dict[str, Chunk], users: UserDirectory, proxy: DelayingProxy
) -> None:
    data = comparison(docduet(cli_settings, "compare", SALARY, "--user", "carol", "--json"))
    assert data["user"] == "carol" and data["standalone_query"] == SALARY
    assert [a["generator"] for a in data["answers"]] == ["slm", "llm", "cascade"]
    assert all(a["error"] is None for a in data["answers"])
    assert not any("/hr/" in h["source"] for h in data["retrieval"]["hits"])
    assert all(h["sensitivity"] != "confidential" for h in data["retrieval"]["hits"])
    check_answers(data, chunks, "carol", users)
    assert len(proxy.chat_requests()) == 1
    assert leaked(proxy.sent_messages(), confidential(chunks)) == []


def test_compare_json_as_alice_keeps_confidential_passages_on_premises(
    cli_settings: Settings, chunks: dict[str, Chunk], users: UserDirectory, proxy: DelayingProxy
) -> None:
    data = comparison(docduet(cli_settings, "compare", SALARY, "--user", "alice", "--json"))
    secret = {h["chunk_id"] for h in data["retrieval"]["hits"] if h["sensitivity"] == "confidential"}
    assert any(chunks[i].source.endswith("hr/salary-bands-2025.xlsx") for i in secret)
    local, hosted, _cascade = data["answers"]
    assert local["error"] is None and hosted["error"] is None
    assert set(local["privacy"]["sent_chunk_ids"]) & secret
    assert hosted["privacy"]["withheld_count"] == len(secret) > 0
    assert not set(hosted["privacy"]["sent_chunk_ids"]) & secret
    check_answers(data, chunks, "alice", users)
    sent = proxy.sent_messages() + proxy.sent_text()
    assert leaked(sent, confidential(chunks)) == [] and CANARY not in sent
    shared = [chunks[i] for i in hosted["privacy"]["sent_chunk_ids"]]
    assert sorted(leaked(sent, shared)) == sorted(c.chunk_id for c in shared)  # the check sees


def test_ask_json_anonymously_reads_public_documents_only(
    cli_settings: Settings, chunks: dict[str, Chunk], users: UserDirectory, proxy: DelayingProxy
) -> None:
    data = comparison(docduet(cli_settings, "ask", PENSION, "--json"))
    assert data["user"] is None and [a["generator"] for a in data["answers"]] == ["slm"]
    assert all("public" in chunks[h["chunk_id"]].access.groups for h in data["retrieval"]["hits"])
    assert data["answers"][0]["error"] is None and data["answers"][0]["text"]
    check_answers(data, chunks, None, users)
    assert proxy.requests == []  # only the local model was asked


def test_hosted_failure_is_reported_in_its_answer_and_the_exit_code(
    cli_settings: Settings,
    chunks: dict[str, Chunk],
    failing_llm_server: StatusServer,
) -> None:
    failing = {"DOCDUET_LLM_BASE_URL": failing_llm_server.base_url, "DOCDUET_LLM_MAX_RETRIES": "0"}
    # compare: the local answer arrives, so the run succeeds; the hosted column carries the error
    data = comparison(docduet(cli_settings, "compare", PENSION, "--json", **failing), code=0)
    local, hosted, _cascade = data["answers"]
    assert "HTTP 500" in hosted["error"] and "try again" in hosted["error"] and hosted["text"] == ""
    assert local["error"] is None and local["text"]
    assert failing_llm_server.hits == 1
    # ask with only the hosted model: nothing answered, exit 1, the error still in the JSON
    data = comparison(
        docduet(cli_settings, "ask", PENSION, "--generator", "llm", "--json", **failing), code=1
    )
    assert [a["generator"] for a in data["answers"]] == ["llm"] and "HTTP 500" in data["answers"][0]["error"]


def test_unknown_generator_or_user_fail_with_what_to_do(
    cli_settings: Settings, chunks: dict[str, Chunk]
) -> None:
    run = docduet(cli_settings, "ask", PENSION, "--generator", "gpt5")
    assert run.returncode == 2 and run.stdout == ""
    assert "unknown generator 'gpt5'; configured: slm, slm-large, llm" in run.stderr
    run = docduet(cli_settings, "compare", PENSION, "--user", "mallory")
    assert run.returncode == 2
    assert "unknown user 'mallory'; known users: alice, bob, carol, dana, erin" in run.stderr


def test_compare_with_the_default_generators_shows_two_local_models_and_the_configured_hosted_one(
    cli_settings: Settings, chunks: dict[str, Chunk], users: UserDirectory, proxy: DelayingProxy
) -> None:
    """The default generators file: both packaged Qwen models answer from the same passages."""
    run = docduet(
        cli_settings, "compare", "How many days of paid annual leave does a full-time employee get?",
        "--user", "carol", "--json", DOCDUET_SLM_LARGE_ENABLED="true", DOCDUET_SLM_LARGE_THREADS="1",
    )  # fmt: skip
    data = comparison(run)
    assert [a["generator"] for a in data["answers"]] == ["slm", "slm-large", "llm", "cascade"]
    labels = [a["label"] for a in data["answers"]]
    assert "Qwen2.5-Coder-0.5B-Instruct" in labels[0] and "Qwen2.5-Coder-1.5B-Instruct" in labels[1]
    local, large, _, _ = data["answers"]
    assert local["privacy"]["sent_chunk_ids"][:3] == large["privacy"]["sent_chunk_ids"][:3]
    assert not local["privacy"]["off_premises"] and not large["privacy"]["off_premises"]
    assert all(a["error"] is None for a in data["answers"])
    assert "27" in large["text"] and large["citations"], large  # the handbook: 27 days
    check_answers(data, chunks, "carol", users)
