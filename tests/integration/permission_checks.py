"""Shared parts of the randomized permission suite: sizes, the world it runs in, the checks.

``hit_violations`` and ``wire_violations`` compare what a path returned or sent with the access
tests/permission_corpus.py expects from docs/access.md; ``assert_no_leaks`` prints the counts of a
path and fails on any violation. See tests/integration/test_permissions_random.py.
"""

from __future__ import annotations

import json
import os
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from echo_llm import EchoLLM
from permission_corpus import Corpus, markers_in, random_query, rank

from backends.weaviate.client import connect
from core.domain import Hit
from core.settings import Settings

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


SHORT = Size(docs=130, users=120, retrieval=200, service=100, web=60, slack=60, cli=1, wire=2)
LONG = Size(docs=400, users=300, retrieval=1000, service=400, web=200, slack=200, cli=6, wire=6)


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


def generators_file(path: Path, base_url: str) -> Path:
    generators = [
        {
            "id": gid,
            "label": f"echo {ceiling}",
            "kind": "openai_compatible",
            "base_url": base_url,
            "model": f"echo-{gid}",
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


def users_file(path: Path, users: dict[str, frozenset[str]]) -> Path:
    entries = {
        name: {"email": f"{name}@perm.example", "groups": sorted(groups), "slack_id": f"U{name.upper()}"}
        for name, groups in users.items()
        if groups  # a user file entry needs groups; group-less users ask anonymously
    }
    path.write_text(yaml.safe_dump({"users": entries}), encoding="utf-8")
    return path


def stored_access(settings: Settings) -> dict[str, set[tuple[frozenset[str], str]]]:
    """source -> the (groups, sensitivity) of its chunks, read straight from Weaviate."""
    out: dict[str, set[tuple[frozenset[str], str]]] = {}
    with connect(settings, autostart=False) as client:
        for obj in client.collections.use(settings.weaviate.collection).iterator(
            return_properties=["source", "access_groups", "sensitivity"]
        ):
            p = obj.properties
            access = (frozenset(map(str, p["access_groups"] or ())), str(p["sensitivity"]))
            out.setdefault(str(p["source"]), set()).add(access)
    return out


# --- the checks every path shares ----------------------------------------------------------------


def readers(groups: frozenset[str]) -> frozenset[str]:
    return groups | {"public"}


def hit_violations(
    world: World, groups: frozenset[str], hits: Iterator[Hit] | tuple[Hit, ...], where: str
) -> list[str]:
    """Hits outside ``groups`` by the rules (expected access) or by the chunk's own groups."""
    by_source = world.corpus.by_source()
    out = []
    hits = tuple(hits)
    world.counts[f"{where}:searches"] += 1
    world.counts[f"{where}:searches_with_hits"] += bool(hits)
    for hit in hits:
        world.counts[f"{where}:hits"] += 1
        doc = by_source.get(hit.chunk.source)
        if doc is None or not doc.expected.readable_by(groups):
            out.append(f"{where}: {sorted(groups)} got {hit.chunk.source} (expected {doc and doc.expected})")
        if not set(hit.chunk.access.groups) & readers(groups):
            out.append(
                f"{where}: {sorted(groups)} got {hit.chunk.source} with groups {hit.chunk.access.groups}"
            )
    return out


def wire_violations(
    world: World, groups: frozenset[str], where: str, requests: list[dict[str, Any]] | None = None
) -> list[str]:
    """Every request the loopback endpoint received since the last check, against the rules."""
    out = []
    for request in world.endpoint.take() if requests is None else requests:
        gid = str(request["model"]).removeprefix("echo-")
        ceiling = CEILINGS[gid]
        world.counts[f"{where}:requests"] += 1
        for number in markers_in(json.dumps(request["messages"])):
            world.counts[f"{where}:sent_passages"] += 1
            doc = world.corpus.documents[number]
            if not doc.expected.readable_by(groups):
                out.append(f"{where}: {doc.relpath} ({doc.expected}) sent to {gid} for {sorted(groups)}")
            elif rank(str(doc.expected.sensitivity)) > rank(ceiling):
                out.append(
                    f"{where}: {doc.relpath} ({doc.expected.sensitivity}) sent to {gid} (max {ceiling})"
                )
    return out


def assert_no_leaks(violations: list[str], world: World, where: str) -> None:
    world.counts[f"{where}:leaks"] += len(violations)
    print(f"{where}: {dict(sorted((k, v) for k, v in world.counts.items() if k.startswith(where)))}")
    assert not violations, f"{len(violations)} leaks, e.g. {violations[:5]}"
    searches = world.counts[f"{where}:searches"]
    assert world.counts[f"{where}:searches_with_hits"] * 10 >= searches > 0, "too few cases found anything"


def cases(world: World, count: int, salt: str) -> Iterator[tuple[str, frozenset[str], str]]:
    """``count`` (user name, groups, question) triples, seeded."""
    rng = random.Random(f"{SEED}-{salt}")
    names = sorted(world.users)
    for _ in range(count):
        name = rng.choice(names)
        yield name, world.users[name], random_query(rng)


def cli_env(settings: Settings) -> dict[str, str]:
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith(("DOCDUET_", "WEAVIATE_", "OPENAI_"))
    }
    assert settings.weaviate.weaviate_api_key is not None
    return inherited | {
        "WEAVIATE_URL": str(settings.weaviate.weaviate_url),
        "WEAVIATE_GRPC_URL": str(settings.weaviate.weaviate_grpc_url),
        "WEAVIATE_API_KEY": settings.weaviate.weaviate_api_key.get_secret_value(),
        "DOCDUET_COLLECTION": settings.weaviate.collection,
        "DOCDUET_USERS_FILE": str(settings.identity.users_file),
        "DOCDUET_GENERATORS_FILE": str(settings.generation.generators_file),
        "DOCDUET_DATA_DIR": str(settings.paths.data_dir),
        "DOCDUET_CACHE_DIR": str(settings.paths.cache_dir),
        "DOCDUET_CORPUS_ROOT": str(settings.ingest.corpus_root),
        "DOCDUET_SCORE_THRESHOLD": str(settings.retrieval.score_threshold),
        "DOCDUET_TOP_K": str(settings.retrieval.top_k),
        "DOCDUET_EMBEDDING_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }
