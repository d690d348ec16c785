"""Randomized permission suite (issue #11 §4): random corpora and users through every path.

A seeded corpus (tests/permission_corpus.py: nested sidecars with patterns and overrides, front
matter, a few broken declarations) is ingested into the real weaviate-server; the access each
document must get is computed from docs/access.md independently of ``ingest.access``. Random
users then ask random questions through the retriever, the answer service, the web back end
(``ui.backend.LiveBackend``), the Slack bot (signed Bolt requests, channel vs DM) and the CLI.
The generators are ``openai_compatible`` ones on a loopback endpoint that records every request
(ceilings public, internal and confidential), so the suite checks what really goes over the wire:
no passage outside the caller's groups, none above a generator's ceiling. A few cases go through
the real llama-cpp-python server behind tests/integration/llm_server.py's recording proxy.

The default run is short (a few hundred cases). The long variant (marker ``random_permissions``,
at least 1,000 cases) runs only when selected: ``pytest -m random_permissions``.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from echo_llm import EchoLLM
from permission_corpus import Corpus, build_corpus, markers_in, random_query, random_users

from chat.results import Question
from docduet.compose import build_answer_service, run_ingest
from docduet.db.client import connect
from docduet.db.server import WeaviateServer
from docduet.domain import User
from docduet.settings import Settings
from ingest.progress import NullProgress
from tests_helpers import chunk_ids  # noqa: F401  (kept: the same reading helper other tests use)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
SEED = int(os.environ.get("DOCDUET_PERMISSION_SEED", "20261129"))
CEILINGS = {"pub": "public", "int": "internal", "conf": "confidential"}


@dataclass(frozen=True)
class Size:
    docs: int
    users: int
    retrieval: int
    service: int
    web: int
    slack: int
    cli: int
    wire: int


SHORT = Size(docs=160, users=120, retrieval=200, service=80, web=40, slack=24, cli=3, wire=2)
LONG = Size(docs=400, users=300, retrieval=1000, service=400, web=200, slack=100, cli=6, wire=6)


def long_selected(config: pytest.Config) -> bool:
    return "random_permissions" in (config.getoption("markexpr", "") or "")


@dataclass
class World:
    settings: Settings
    corpus: Corpus
    users: dict[str, frozenset[str]]
    endpoint: EchoLLM
    size: Size
    counts: Counter[str] = field(default_factory=Counter)


def _generators_file(path: Path, base_url: str) -> Path:
    generators = [
        {
            "id": gid,
            "label": f"echo {ceiling}",
            "kind": "openai_compatible",
            "base_url": base_url,
            "model": "echo",
            "api_key": "loopback",
            "on_premises": ceiling == "confidential",
            "max_sensitivity": ceiling,
            "max_retries": 0,
            "max_tokens": 16,
        }
        for gid, ceiling in CEILINGS.items()
    ]
    path.write_text(yaml.safe_dump({"generators": generators}, sort_keys=False), encoding="utf-8")
    return path


def _users_file(path: Path, users: dict[str, frozenset[str]]) -> Path:
    entries = {
        name: {"email": f"{name}@perm.example", "groups": sorted(groups), "slack_id": f"U{name.upper()}"}
        for name, groups in users.items()
        if groups  # a user file entry needs groups; group-less users ask anonymously
    }
    path.write_text(yaml.safe_dump({"users": entries}), encoding="utf-8")
    return path


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
            users_file=_users_file(root / "users.yaml", users),
            generators_file=_generators_file(root / "generators.yaml", endpoint.base_url),
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


def stored_access(settings: Settings) -> dict[str, set[tuple[frozenset[str], str]]]:
    """source -> the (groups, sensitivity) of its chunks, read straight from Weaviate."""
    out: dict[str, set[tuple[frozenset[str], str]]] = {}
    with connect(settings, autostart=False) as client:
        for obj in client.collections.use(settings.collection).iterator(
            return_properties=["source", "access_groups", "sensitivity"]
        ):
            p = obj.properties
            access = (frozenset(map(str, p["access_groups"] or ())), str(p["sensitivity"]))
            out.setdefault(str(p["source"]), set()).add(access)
    return out


def test_index_holds_exactly_the_access_the_rules_give(world: World) -> None:
    stored = stored_access(world.settings)
    mismatches = []
    for source, doc in world.corpus.by_source().items():
        want = None if doc.expected.fails else {(doc.expected.groups, doc.expected.sensitivity)}
        if stored.get(source) != want:
            mismatches.append((str(doc.relpath), want, stored.get(source)))
    failing = sum(d.expected.fails for d in world.corpus.documents)
    assert failing and failing < len(world.corpus.documents) // 2  # the corpus exercises both
    assert not mismatches, f"{len(mismatches)} documents with other access than docs/access.md gives: {mismatches[:10]}"
    assert set(stored) <= set(world.corpus.by_source())
