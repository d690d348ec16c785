"""Randomized permission suite (issue #11 §4): random corpora and users through every path.

A seeded corpus (tests/permission_corpus.py: nested sidecars with patterns and overrides, front
matter, a few broken declarations) is ingested into the real weaviate-server; the access each
document must get is computed from docs/access.md independently of ``ingest.access``. Random
users then ask random questions through the retriever, the answer service, the web back end
(``ui.backend.LiveBackend``), the API of ``docduet serve`` (API keys; search and chat), the Slack
bot (signed Bolt requests, channel vs DM) and the CLI.
The generators are ``openai_compatible`` ones on a loopback endpoint that records every request
(ceilings public, internal and confidential), so the suite checks what really goes over the wire:
no passage outside the caller's groups, none above a generator's ceiling. A few cases go through
the real llama-cpp-python server behind tests/integration/llm_server.py's recording proxy.

The default run is short (a few hundred cases). The long variant (marker ``random_permissions``,
at least 1,000 cases) runs only when selected: ``pytest -m random_permissions``.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
import yaml
from echo_llm import EchoLLM
from index_parts import index_of, retriever_of
from llm_server import RecordingProxy
from permission_checks import (
    CEILINGS,
    LONG,
    REPO,
    SEED,
    SHORT,
    World,
    assert_no_leaks,
    cases,
    cli_env,
    generators_file,
    hit_violations,
    long_selected,
    stored_access,
    users_file,
    wire_violations,
)
from permission_corpus import build_corpus, markers_in, random_users
from pydantic import SecretStr

from backends.weaviate.client import connect
from backends.weaviate_server.server import WeaviateServer
from chat.results import Comparison, Question
from core.domain import User
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import build_answer_service, run_ingest

pytestmark = [pytest.mark.integration, pytest.mark.random_permissions]


def _world(request: pytest.FixtureRequest, node: WeaviateServer, binary: Path, root: Path) -> Iterator[World]:
    size = LONG if long_selected(request.config) else SHORT
    corpus = build_corpus(root / "corpus", SEED, size.docs)
    users = dict(random_users(SEED, size.users))
    with EchoLLM() as endpoint:
        config = node.config
        settings = Settings(
            weaviate_url=node.url,
            weaviate_grpc_url=f"{config.client_host}:{config.ports.grpc}",
            weaviate_api_key=node.api_key(),
            weaviate_binary=binary,
            data_dir=root / "data",
            cache_dir=root / "cache",
            collection=f"Test_{uuid.uuid4().hex[:12]}",
            corpus_root=corpus.root,
            users_file=users_file(root / "users.yaml", users),
            generators_file=generators_file(root / "generators.yaml", endpoint.base_url),
            score_threshold=0.0,
            top_k=8,
            embedding_threads=1,
        )
        summary = run_ingest(settings, [corpus.root], progress=NullProgress())
        yield World(settings, corpus, users, endpoint, size, Counter({"ingest_failed": len(summary.failed)}))


@pytest.fixture(scope="module")
def world(
    request: pytest.FixtureRequest,
    weaviate_node: WeaviateServer,
    weaviate_binary: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[World]:
    yield from _world(request, weaviate_node, weaviate_binary, tmp_path_factory.mktemp("perm"))


def test_index_holds_exactly_the_access_the_rules_give(world: World) -> None:
    stored = stored_access(world.settings)
    mismatches = []
    for source, doc in world.corpus.by_source().items():
        want = None if doc.expected.fails else {(doc.expected.groups, doc.expected.sensitivity)}
        if stored.get(source) != want:
            mismatches.append((str(doc.relpath), want, stored.get(source)))
    failing = sum(d.expected.fails for d in world.corpus.documents)
    assert failing and failing < len(world.corpus.documents) // 2  # the corpus exercises both
    assert not mismatches, (
        f"{len(mismatches)} documents with other access than docs/access.md gives: {mismatches[:10]}"
    )
    assert set(stored) <= set(world.corpus.by_source())


# --- the paths -----------------------------------------------------------------------------------


def test_retriever_returns_only_what_the_rules_let_each_user_read(world: World) -> None:
    rng = random.Random(f"{SEED}-marker")
    violations: list[str] = []
    missing: list[str] = []
    with connect(world.settings, autostart=False) as client:
        retriever = retriever_of(client, world.settings)
        for name, groups, question in cases(world, world.size.retrieval, "retrieval"):
            target = rng.choice(world.corpus.documents)
            if rng.random() < 0.5:  # ask for one document by its code: found exactly when readable
                question = f"Which note has the reference code {target.marker}?"
            hits = retriever.retrieve(question, user=User(name, tuple(sorted(groups))))
            world.counts["retriever:cases"] += 1
            violations += hit_violations(world, groups, hits, "retriever")
            found = target.marker in {m for h in hits for m in [f"pmk{n}x" for n in markers_in(h.chunk.text)]}
            if target.marker in question and target.expected.readable_by(groups) and not found:
                missing.append(f"{sorted(groups)} did not find {target.relpath} ({target.expected})")
            world.counts["retriever:targets_found"] += found
    assert_no_leaks(violations, world, "retriever")
    assert not missing, f"readable documents not found by their code: {missing[:5]}"
    assert world.counts["retriever:targets_found"] > 0


def test_answer_service_sends_no_passage_outside_groups_or_ceilings(world: World) -> None:
    violations: list[str] = []
    with connect(world.settings, autostart=False) as client:
        service = build_answer_service(world.settings, index_of(client, world.settings))
        assert service.generator_names == list(CEILINGS)
        world.endpoint.take()
        for name, groups, question in cases(world, world.size.service, "service"):
            comparison = service.compare(Question(question, User(name, tuple(sorted(groups)))))
            world.counts["service:cases"] += 1
            violations += hit_violations(world, groups, comparison.retrieval.hits, "service")
            for answer in comparison.answers:
                assert answer.error is None, answer.error
                world.counts["service:withheld"] += answer.privacy.withheld_count
            violations += wire_violations(world, groups, "service")
    assert_no_leaks(violations, world, "service")
    assert world.counts["service:sent_passages"] and world.counts["service:withheld"]


def test_web_backend_sends_no_passage_outside_groups_or_ceilings(world: World) -> None:
    from ui.backend import LiveBackend

    backend = LiveBackend(world.settings)
    violations: list[str] = []
    try:
        assert [c.max_sensitivity.value for c in backend.columns()] == list(CEILINGS.values())
        world.endpoint.take()
        for name, groups, question in cases(world, world.size.web, "web"):
            user = backend.directory.resolve(name if groups else None)  # as the sign-in page does
            assert set(user.groups) == groups
            names = [c.name for c in backend.columns()]
            events = list(backend.answerer().stream(Question(question, user), names))
            world.counts["web:cases"] += 1
            [retrieval] = [e.retrieval for e in events if e.kind == "retrieval"]
            assert retrieval is not None
            violations += hit_violations(world, groups, retrieval.hits, "web")
            answered = [e.answer for e in events if e.kind == "answer" and e.answer is not None]
            assert len(answered) == len(names) and all(a.error is None for a in answered)
            violations += wire_violations(world, groups, "web")
    finally:
        backend.reset()
    assert_no_leaks(violations, world, "web")
    assert world.counts["web:sent_passages"]


def test_api_sends_and_returns_no_passage_outside_groups_or_ceilings(world: World) -> None:
    """``docduet serve``'s app (in-process ASGI): each user's API key (or none: anonymous on loopback),
    search and chat with a random generator."""
    from fastapi.testclient import TestClient

    from docduet.api.keys import KeyStore, key_file
    from docduet.api.run import build_app
    from docduet.compose import Root

    settings = world.settings.replace(rate_limit_questions=0)
    store, keys = KeyStore(key_file(settings.paths.data_dir)), {}
    violations: list[str] = []
    with Root(settings, autostart=False) as root, TestClient(build_app(settings, root, loopback=True)) as api:
        world.endpoint.take()
        for name, groups, question in cases(world, world.size.web, "api"):
            if groups:  # the users file lists the users with groups; the others ask anonymously
                keys.setdefault(name, store.create(name)[1])
            auth = {"Authorization": f"Bearer {keys[name]}"} if groups else {}
            searched = api.post("/v1/search", json={"query": question}, headers=auth)
            assert searched.status_code == 200, searched.text
            found = searched.json()["data"]
            violations += _returned_violations(world, groups, [p["text"] for p in found], "api")
            model = random.Random(f"{SEED}-api-{world.counts['api:cases']}").choice(list(CEILINGS))
            body = {"model": model, "messages": [{"role": "user", "content": question}]}
            answer = api.post("/v1/chat/completions", json=body, headers=auth).json()
            world.counts["api:cases"] += 1
            snippets = [c["snippet"] for c in answer["citations"]] + [
                answer["choices"][0]["message"]["content"]
            ]
            violations += _returned_violations(world, groups, snippets, "api", count=False)
            violations += wire_violations(world, groups, "api")
    assert_no_leaks(violations, world, "api")
    assert world.counts["api:sent_passages"] and world.counts["api:returned_passages"]


def _returned_violations(
    world: World, groups: frozenset[str], texts: list[str], where: str, *, count: bool = True
) -> list[str]:
    """Document markers in what the API returned that ``groups`` may not read."""
    if count:
        world.counts[f"{where}:searches"] += 1
        world.counts[f"{where}:searches_with_hits"] += bool(texts)
    out = []
    for number in {n for text in texts for n in markers_in(text)}:
        world.counts[f"{where}:returned_passages"] += 1
        doc = world.corpus.documents[number]
        if not doc.expected.readable_by(groups):
            out.append(f"{where}: {doc.relpath} ({doc.expected}) returned to {sorted(groups)}")
    return out


def test_slack_channel_is_public_only_and_dm_is_the_askers_groups(world: World, tmp_path: Path) -> None:
    from slack_recorder import (
        SIGNING_SECRET,
        direct_message,
        event_body,
        mention,
        recording_api,
        signed_headers,
    )
    from slack_sdk import WebClient

    from core.feedback import FeedbackStore
    from slackbot.app import create_app
    from slackbot.http import SlackHttpServer

    asked: list[Question] = []
    violations: list[str] = []
    with connect(world.settings, autostart=False) as client, recording_api() as api:
        service = build_answer_service(world.settings, index_of(client, world.settings))

        class Recorded:
            def compare(self, question: Question, names: Sequence[str] | None = None) -> Comparison:
                asked.append(question)
                comparison = service.compare(question, names)
                violations.extend(
                    hit_violations(world, frozenset(question.user.groups), comparison.retrieval.hits, "slack")
                )
                return comparison

        settings = world.settings.replace(
            slack_generators="all",
            slack_bot_token=SecretStr("xoxb-test"),
            slack_signing_secret=SecretStr(SIGNING_SECRET),
        )
        app = create_app(
            settings,
            Recorded(),
            client=WebClient(token="xoxb-test", base_url=api.base_url),
            feedback=FeedbackStore(tmp_path / "feedback.sqlite3"),
            process_before_response=False,
        )
        server = SlackHttpServer(app, host="127.0.0.1", port=0)
        server.start()
        world.endpoint.take()
        try:
            rng = random.Random(f"{SEED}-slack-kind")
            for i, (name, groups, question) in enumerate(cases(world, world.size.slack, "slack")):
                slack_id = f"U{name.upper()}"  # users without groups are not in the users file
                dm = rng.random() < 0.5
                ts = f"1750000000.{i:06d}"
                if dm:
                    event = direct_message(question, user=slack_id, channel=f"D{name.upper()}", ts=ts)
                else:
                    event = mention(question, user=slack_id, channel="C0GENERAL", ts=ts)
                body = event_body(event)
                request = urllib.request.Request(
                    server.url, data=body.encode(), headers=signed_headers(body), method="POST"
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    assert response.status == 200
                [*_, posted] = api.wait_for("chat.postMessage", i + 1, timeout_s=60.0)
                reader = groups if dm else frozenset()
                world.counts[f"slack:{'dm' if dm else 'channel'}_cases"] += 1
                assert frozenset(asked[-1].user.groups) == reader, (dm, name, asked[-1].user)
                violations.extend(wire_violations(world, reader, "slack"))
                for number in markers_in(json.dumps(posted.params)):
                    world.counts["slack:posted_passages"] += 1
                    doc = world.corpus.documents[number]
                    if not doc.expected.readable_by(reader):
                        violations.append(
                            f"slack: posted {doc.relpath} ({doc.expected}) for {sorted(reader)}"
                        )
        finally:
            server.stop()
    assert len(asked) == world.size.slack
    assert_no_leaks(violations, world, "slack")
    assert world.counts["slack:dm_cases"] and world.counts["slack:channel_cases"]
    assert world.counts["slack:sent_passages"]


def test_cli_ask_json_answers_from_what_the_user_may_read(world: World) -> None:
    command = Path(sys.executable).with_name("docduet")
    argv = [str(command)] if command.exists() else [sys.executable, "-m", "docduet.cli"]
    env = cli_env(world.settings)
    violations: list[str] = []
    generators = list(CEILINGS)
    world.endpoint.take()
    for i, (name, groups, question) in enumerate(cases(world, world.size.cli, "cli")):
        user = ["--user", name] if groups else []  # users without groups ask anonymously
        run = subprocess.run(
            [*argv, "ask", "--json", *user, "--generator", generators[i % 3], question],
            env=env, cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-2000:]
        data = json.loads(run.stdout)
        world.counts["cli:cases"] += 1
        world.counts["cli:searches"] += 1
        world.counts["cli:searches_with_hits"] += bool(data["retrieval"]["hits"])
        for hit in data["retrieval"]["hits"]:
            world.counts["cli:hits"] += 1
            doc = world.corpus.by_source().get(hit["source"])
            if doc is None or not doc.expected.readable_by(groups):
                violations.append(f"cli: {sorted(groups)} got {hit['source']}")
        violations += wire_violations(world, groups, "cli")
    assert_no_leaks(violations, world, "cli")
    assert world.counts["cli:hits"] and world.counts["cli:requests"]


def test_real_hosted_endpoint_receives_nothing_outside_groups_or_ceiling(
    world: World,
    recording_proxy: RecordingProxy,
    tmp_path: Path,
) -> None:
    """A few cases over the real llama-cpp-python server, recorded by the proxy in front of it."""
    spec = {
        "id": "int",
        "label": "hosted (llama-cpp-python on loopback)",
        "kind": "openai_compatible",
        "base_url": recording_proxy.base_url,
        "model": "echo-int",
        "api_key": "loopback",
        "on_premises": False,
        "max_sensitivity": "internal",
        "max_retries": 0,
        "timeout_s": 240,
        "max_tokens": 8,
    }
    path = tmp_path / "generators.yaml"
    path.write_text(yaml.safe_dump({"generators": [spec]}), encoding="utf-8")
    settings = world.settings.replace(generators_file=path)
    violations: list[str] = []
    with connect(settings, autostart=False) as client:
        service = build_answer_service(settings, index_of(client, settings))
        for name, groups, question in cases(world, world.size.wire, "wire"):
            recording_proxy.clear()
            comparison = service.compare(Question(question, User(name, tuple(sorted(groups)))))
            [answer] = comparison.answers
            assert answer.error is None, answer.error
            world.counts["wire:cases"] += 1
            violations += hit_violations(world, groups, comparison.retrieval.hits, "wire")
            sent = [r.json() for r in recording_proxy.requests if r.method == "POST"]
            assert sent or not answer.privacy.sent_chunk_ids
            violations += wire_violations(world, groups, "wire", sent)
    assert_no_leaks(violations, world, "wire")
    assert world.counts["wire:sent_passages"]
