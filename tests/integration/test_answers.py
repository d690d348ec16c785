"""The answer chain end to end through AnswerService: real Weaviate, the real packaged Gemma in
process, and llama-cpp-python's OpenAI-compatible server on loopback as the "hosted" model.

The corpus (and the prompt-injection fixtures) is ingested once for the module.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from answer_fixtures import (
    CANARY,
    EXPECTATIONS,
    DelayingProxy,
    answer_settings,
    confidential,
    ingest_corpus,
    leaked,
    readable_by,
)
from llm_server import SilentServer, StatusServer

from backends.weaviate_server.server import WeaviateServer
from chat.results import NOT_FOUND_TEXT, Comparison, Question
from chat.service import AnswerService
from core.domain import Answer, Chunk, Sensitivity
from core.identity import UserDirectory
from core.prompt import Turn, neutralise
from core.settings import Settings
from docduet.compose import answer_service

pytestmark = pytest.mark.integration
log = logging.getLogger(__name__)

SALARY = "What is the salary band midpoint for a Senior Software Engineer (L4) in Leeds?"
DISCIPLINARY = "What disciplinary cases were logged in March 2025?"
OFF_TOPIC = "Which planet has the most moons?"
"""Nothing in the corpus is near it: every chunk's cosine similarity is below the threshold."""
PRIMARY = "How long is paid parental leave for a primary carer?"


# --- module fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llm_proxy(llama_server_port: int) -> Iterator[DelayingProxy]:
    """The hosted endpoint: a recording (and optionally delaying) proxy to the llama server."""
    with DelayingProxy(llama_server_port) as proxy:
        yield proxy


@pytest.fixture
def proxy(llm_proxy: DelayingProxy) -> DelayingProxy:
    """The module's proxy, emptied and without delay for this test."""
    llm_proxy.clear()
    return llm_proxy


@pytest.fixture(scope="module")
def make_answer_settings(
    weaviate_node: WeaviateServer,
    weaviate_binary: Path,
    gguf_path: Path,
    llm_proxy: DelayingProxy,
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[..., Settings]:
    """Module-scoped settings factory: the module's one collection unless overridden."""
    root = tmp_path_factory.mktemp("answers")
    base = answer_settings(weaviate_node, weaviate_binary, root, gguf_path, llm_proxy.base_url)

    def make(**overrides: Any) -> Settings:
        return base.replace(**overrides)

    return make


@pytest.fixture(scope="module")
def base_settings(make_answer_settings: Callable[..., Settings]) -> Settings:
    return make_answer_settings()


@pytest.fixture(scope="module")
def chunks(base_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Chunk]:
    """The corpus and the adversarial fixtures, ingested once; every stored chunk by id."""
    return ingest_corpus(base_settings, tmp_path_factory.mktemp("documents"))


@pytest.fixture(scope="module")
def service(base_settings: Settings, chunks: dict[str, Chunk]) -> Iterator[AnswerService]:
    with answer_service(base_settings) as svc:
        yield svc


@pytest.fixture(scope="module")
def users(base_settings: Settings) -> UserDirectory:
    return UserDirectory.from_settings(base_settings.identity)


def ask(service: AnswerService, users: UserDirectory, who: str | None, text: str) -> Comparison:
    result = service.compare(Question(text, users.resolve(who)))
    for answer in result.answers:
        log.warning("%s as %s -> %s: %r (error %s)", text, who, answer.generator, answer.text, answer.error)
    return result


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["carol", "alice", None], ids=["carol", "alice", "anonymous"])
def test_answers_use_only_passages_the_user_may_read(
    who: str | None,
    service: AnswerService,
    users: UserDirectory,
    chunks: dict[str, Chunk],
    proxy: DelayingProxy,
) -> None:
    user = users.resolve(who)
    result = ask(service, users, who, SALARY)
    hits = result.retrieval.hits
    assert hits, "expected some readable passages for this question"
    assert all(readable_by(chunks[h.chunk.chunk_id], user) for h in hits)
    readable_sources = {c.source for c in chunks.values() if readable_by(c, user)}
    for answer in result.answers:
        assert answer.error is None
        assert all(readable_by(chunks[i], user) for i in answer.privacy.sent_chunk_ids)
        assert {c.source for c in answer.citations} <= readable_sources
    salary_hits = [h for h in hits if h.chunk.source.endswith("hr/salary-bands-2025.xlsx")]
    if who == "alice":
        assert salary_hits, "hr may read the salary bands and they answer the question"
        assert set(result.answer("slm").privacy.sent_chunk_ids) & {h.chunk.chunk_id for h in salary_hits}
    else:
        assert not salary_hits
        assert not any("hr" in h.chunk.access.groups for h in hits)
        assert CANARY not in proxy.sent_text()
    if who is None:
        assert all("public" in chunks[h.chunk.chunk_id].access.groups for h in hits)


# --- privacy -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "secret"),
    [(SALARY, "salary-bands-2025.xlsx"), (DISCIPLINARY, "hr-canary-disciplinary-case.md")],
    ids=["salary-bands", "canary"],
)
def test_confidential_passages_reach_the_local_model_but_never_the_hosted_one(
    question: str,
    secret: str,
    service: AnswerService,
    users: UserDirectory,
    chunks: dict[str, Chunk],
    proxy: DelayingProxy,
) -> None:
    result = ask(service, users, "alice", question)
    secret_ids = {
        h.chunk.chunk_id
        for h in result.retrieval.hits
        if h.chunk.access.sensitivity is Sensitivity.CONFIDENTIAL
    }
    assert any(chunks[i].source.endswith(secret) for i in secret_ids), "alice should retrieve it"
    slm, llm = result.answer("slm"), result.answer("llm")
    assert slm.error is None and llm.error is None
    assert set(slm.privacy.sent_chunk_ids) & secret_ids and not slm.privacy.off_premises
    assert llm.privacy.withheld_count == len(secret_ids)
    assert not set(llm.privacy.sent_chunk_ids) & secret_ids

    sent = proxy.sent_messages() + "\n" + proxy.sent_text()
    assert CANARY not in sent
    assert leaked(sent, confidential(chunks)) == [], "confidential text reached the hosted model"
    if llm.privacy.sent_chunk_ids:  # the check above can see a passage when one is there
        shared = [chunks[i] for i in llm.privacy.sent_chunk_ids]
        assert len(proxy.chat_requests()) == 1
        assert sorted(leaked(sent, shared)) == sorted(c.chunk_id for c in shared)
    else:
        assert proxy.chat_requests() == [] and llm.abstained


# --- citations ---------------------------------------------------------------------------------

CITED = [
    ("carol", "When is the Leeds canteen open?"),
    ("carol", "How many parking spaces does the new Leeds office have?"),
    (None, "How much does Corvala contribute to a UK employee's pension?"),
]


def test_citations_point_to_retrieved_passages_and_quote_them(
    service: AnswerService, users: UserDirectory, chunks: dict[str, Chunk]
) -> None:
    cited = 0
    for who, question in CITED:
        result = ask(service, users, who, question)
        hit_sources = {h.chunk.source for h in result.retrieval.hits}
        for answer in result.answers:
            sent = [chunks[i] for i in answer.privacy.sent_chunk_ids]
            for citation in answer.citations:
                chunk = sent[citation.number - 1]  # numbers count the passages sent to it
                assert citation.source == chunk.source and citation.source in hit_sources
                assert citation.snippet and citation.snippet in neutralise(chunk.text)
                assert f"[{citation.number}]" in answer.text
                cited += 1
    assert cited > 0, "no answer cited anything: nothing was checked"


# --- abstention --------------------------------------------------------------------------------


def test_a_question_nothing_answers_abstains_for_both_generators(
    service: AnswerService,
    users: UserDirectory,
    proxy: DelayingProxy,
    base_settings: Settings,
    make_answer_settings: Callable[..., Settings],
) -> None:
    carol = users.resolve("carol")
    result = service.compare(Question(OFF_TOPIC, carol))
    assert result.retrieval.hits == ()
    for answer in result.answers:
        assert (answer.text, answer.abstained, answer.error) == (NOT_FOUND_TEXT, True, None)
        assert answer.citations == () and answer.privacy.sent_chunk_ids == ()
    assert proxy.chat_requests() == []
    # the similarity threshold is what emptied the retrieval: without it, weak passages come back
    with answer_service(make_answer_settings(score_threshold=0.0)) as loose:
        weak = loose.retrieve(Question(OFF_TOPIC, carol)).hits
    assert weak and all(h.similarity is not None for h in weak)
    assert max(h.similarity or 0.0 for h in weak) < base_settings.retrieval.score_threshold


# --- prompt injection --------------------------------------------------------------------------


@pytest.mark.parametrize("case", EXPECTATIONS["cases"], ids=lambda c: c["file"])
def test_injected_instructions_do_not_steer_either_answer(
    case: dict[str, Any],
    service: AnswerService,
    users: UserDirectory,
    proxy: DelayingProxy,
) -> None:
    result = ask(service, users, case["user"], case["question"])
    sources = {Path(h.chunk.source).name for h in result.retrieval.hits}
    for answer in result.answers:
        assert answer.error is None
        for forbidden in EXPECTATIONS["forbidden_in_answers"]:  # "4 characters", not "14 characters"
            found = re.search(rf"(?<!\w){re.escape(forbidden)}(?!\w)", answer.text, re.I)
            assert found is None, (answer.generator, answer.text)
        if case.get("citations_only_from"):
            assert {Path(c.source).name for c in answer.citations} <= set(case["citations_only_from"])
    if case["user"] not in EXPECTATIONS["canary_readable_by"]:
        seen = json.dumps(result.to_json(), ensure_ascii=False)
        seen += "".join(h.chunk.text for h in result.retrieval.hits)
        assert CANARY not in seen + proxy.sent_text() + proxy.sent_messages()
    if case.get("expect_abstain"):
        assert case["file"] not in sources
    else:
        assert case["file"] in sources, "the passage holding the real answer was not retrieved"
        # The injection did not stop the local models (those not behind an http(s) endpoint) from
        # answering from the real passage: at least one of them states an expected fact.
        local = {a.generator: a.text for a in result.answers if not a.privacy.endpoint.startswith("http")}
        found = [f for f in case["expect_any"] for text in local.values() if f in text]
        assert found, f"{case['file']}: no local answer has any of {case['expect_any']}: {local}"


# --- failures of the hosted model ------------------------------------------------------------

CANTEEN = "When is the Leeds canteen open?"


def _local_answer_still_arrives(result: Comparison) -> None:
    local = result.answer("slm")
    assert local.error is None and local.text and local.usage.completion_tokens > 0


def test_hosted_500s_become_an_error_in_that_answer_only(
    make_answer_settings: Callable[..., Settings],
    chunks: dict[str, Chunk],
    users: UserDirectory,
    failing_llm_server: StatusServer,
) -> None:
    settings = make_answer_settings(
        llm_base_url=failing_llm_server.base_url, llm_max_retries=1, llm_timeout_s=5.0
    )
    with answer_service(settings) as svc:
        result = svc.compare(Question(CANTEEN, users.resolve("carol")))
    hosted = result.answer("llm")
    assert hosted.error is not None and "HTTP 500" in hosted.error and "try again" in hosted.error
    assert hosted.text == "" and hosted.privacy.sent_chunk_ids  # the prompt was sent: recorded
    assert failing_llm_server.hits == 2  # one try, one retry
    _local_answer_still_arrives(result)


def test_a_silent_hosted_endpoint_times_out_with_a_clear_error(
    make_answer_settings: Callable[..., Settings],
    chunks: dict[str, Chunk],
    users: UserDirectory,
    silent_llm_server: SilentServer,
) -> None:
    settings = make_answer_settings(
        llm_base_url=silent_llm_server.base_url, llm_max_retries=0, llm_timeout_s=1.0
    )
    with answer_service(settings) as svc:
        result = svc.compare(Question(CANTEEN, users.resolve("carol")))
    hosted = result.answer("llm")
    assert hosted.error is not None and "did not answer in time" in hosted.error
    assert "DOCDUET_LLM_TIMEOUT_S" in hosted.error  # says what to do next
    assert hosted.timings.total_s < 10 and silent_llm_server.hits == 1
    _local_answer_still_arrives(result)


# --- concurrency -------------------------------------------------------------------------------


WARM_UP = "What is the mileage rate for using my own car in the UK?"
"""Asked nowhere else in this module, so llama.cpp has none of its passages cached."""


def test_compare_runs_both_generators_at_once(
    service: AnswerService, users: UserDirectory, proxy: DelayingProxy
) -> None:
    """The hosted side is held a bit longer than the local model needs (it mostly waits), so a
    sequential run would take the sum; run concurrently, a comparison takes about the longer one."""
    carol = users.resolve("carol")
    question = Question(CANTEEN, carol)
    # how long the local model needs for a prompt of this size (another question: its passages
    # are not in llama.cpp's prompt cache yet), and the hosted server's cache primed with the
    # exact prompt it will get, so that its own share is mostly the held time
    warm = service.compare(Question(WARM_UP, carol), ["slm"]).answer("slm")
    assert service.compare(question, ["llm"]).answer("llm").error is None
    assert len(proxy.chat_timeline(1)) == 1  # the priming request is done: forget it
    proxy.clear()
    proxy.delay_s = min(max(1.5 * warm.timings.total_s, 2.0), 30.0)
    start = time.perf_counter()
    done: dict[str, float] = {}
    answers: dict[str, Answer] = {}
    for event in service.stream(question, ["slm", "llm"]):
        if event.kind == "answer" and event.answer is not None:
            done[event.generator] = time.perf_counter() - start
            answers[event.generator] = event.answer
    wall = time.perf_counter() - start
    assert [answers[g].error for g in ("slm", "llm")] == [None, None]
    ((arrived, replied),) = proxy.chat_timeline(1)
    local_own, hosted_own = done["slm"], replied - arrived
    local_first = answers["slm"].timings.first_token_s
    log.warning(
        "compare wall %.2f s; local %.2f s (first token %s), hosted %.2f s (%.2f s held); "
        "wall/sum %.2f, wall/slower %.2f",
        wall, local_own, local_first, hosted_own, proxy.delay_s,
        wall / (local_own + hosted_own), wall / max(local_own, hosted_own),
    )  # fmt: skip
    assert local_own > 1.0 and hosted_own > 1.0
    # the two ran at the same time: the hosted request was in flight while the local model wrote
    assert local_first is not None, "the local model wrote nothing"
    assert arrived - start < local_first < replied - start
    assert wall < 0.8 * (local_own + hosted_own)


# --- follow-ups --------------------------------------------------------------------------------


def test_a_follow_up_retrieves_with_the_conversation_and_keeps_answers_local(
    service: AnswerService, users: UserDirectory, proxy: DelayingProxy
) -> None:
    earlier_answer = "Twenty weeks at full pay, said the local model."
    history = (Turn("user", PRIMARY), Turn("assistant", earlier_answer))
    question = Question("And for a secondary carer?", users.resolve("carol"), history=history)
    result = service.compare(question)
    assert result.retrieval.query == f"{PRIMARY} And for a secondary carer?"
    top = result.retrieval.hits[0].chunk
    assert top.source.endswith("handbook/employee-handbook.md")
    assert "secondary carer" in top.text.lower() and "4 weeks" in top.text
    (request,) = proxy.chat_requests()
    messages = request.json()["messages"]
    assert [m["role"] for m in messages] == ["system", "user", "user"]
    assert messages[1]["content"] == PRIMARY and earlier_answer not in request.body.decode()
    assert "\n\nQuestion: And for a secondary carer?\n\n" in messages[2]["content"]  # then the reminder
