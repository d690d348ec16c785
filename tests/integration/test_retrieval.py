"""Permission-aware hybrid retrieval on the real weaviate-server with the real embedding model.

The corpus (a copy of corpora/ plus a duplicated file and one back-dated file) is ingested once for
this module into a collection of its own on the session's Weaviate node.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
import weaviate
import yaml
from index_parts import retriever_of
from weaviate.classes.query import Filter

from backends.sentence_transformers import SentenceTransformerEmbedder
from backends.weaviate.client import open_client
from backends.weaviate_server.server import WeaviateServer
from core.domain import ANONYMOUS, Hit, User
from core.errors import BackendUnavailableError, RetrievalError
from core.filters import SearchFilters
from core.identity import UserDirectory
from core.protocols import NullProgress
from core.settings import Settings
from docduet.compose import run_ingest
from retrieval.ranking import normalise_text
from retrieval.retriever import HybridRetriever

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DUPLICATE = ("it/laptop-and-password-reset.md", "it/laptop-and-password-reset-copy.md")
BACKDATED = "handbook/employee-handbook.md"
BACKDATED_TO = datetime(2020, 6, 1, tzinfo=UTC)
OFF_TOPIC = [
    "What is the capital of France?",
    "How do I bake sourdough bread?",
    "Who won the 2018 FIFA World Cup?",
    "Explain quantum entanglement in simple terms",
    "lasagna recipe",
    "Who painted the Mona Lisa?",
]


@dataclass(frozen=True)
class Index:
    settings: Settings
    corpus: Path
    client: weaviate.WeaviateClient
    embedder: SentenceTransformerEmbedder
    users: UserDirectory

    def retriever(self, **overrides: object) -> HybridRetriever:
        settings = self.settings.replace(**overrides)
        return retriever_of(self.client, settings, embedder=self.embedder)


@pytest.fixture(scope="module")
def index(
    weaviate_node: WeaviateServer, weaviate_binary: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Index]:
    """Module-scoped twin of ``make_settings`` (which is per test): ingest once, query often."""
    root = tmp_path_factory.mktemp("retrieval")
    corpus = Path(shutil.copytree(REPO / "corpora", root / "corpus"))
    shutil.copy2(corpus / DUPLICATE[0], corpus / DUPLICATE[1])
    stamp = BACKDATED_TO.timestamp()
    os.utime(corpus / BACKDATED, (stamp, stamp))
    node = weaviate_node.config
    settings = Settings(
        weaviate_url=weaviate_node.url,
        weaviate_grpc_url=f"{node.client_host}:{node.ports.grpc}",
        weaviate_api_key=weaviate_node.api_key(),
        weaviate_binary=weaviate_binary,
        data_dir=root / "data",
        cache_dir=root / "cache",
        collection=f"TRetrieval_{uuid.uuid4().hex[:8]}",
        users_file=corpus / "users.yaml",
    )
    summary = run_ingest(settings, [corpus], progress=NullProgress())
    assert summary.failed == [] and summary.chunks > 0
    embedder = SentenceTransformerEmbedder.from_settings(settings)
    with open_client(settings, autostart=False) as client:
        yield Index(settings, corpus, client, embedder, UserDirectory.from_settings(settings.identity))


def stored_chunks(index: Index, source_part: str) -> list[dict[str, object]]:
    """Chunks whose source contains ``source_part``, read straight from Weaviate."""
    collection = index.client.collections.use(index.settings.weaviate.collection)
    where = Filter.by_property("source").like(f"*{source_part}*")
    return [dict(o.properties) for o in collection.query.fetch_objects(filters=where, limit=500).objects]


def questions(folder: str) -> list[str]:
    data = yaml.safe_load((REPO / "corpora" / ".questions.yaml").read_text(encoding="utf-8"))
    return [q["question"] for q in data["questions"] if (q["source"] or "").startswith(folder)]


def rel(hit: Hit) -> str:
    return hit.chunk.source.split("/corpus/", 1)[1]


def assert_readable(hits: list[Hit], user: User) -> None:
    for hit in hits:
        assert set(hit.chunk.access.groups) & set(user.readable_groups), (user, rel(hit))


def test_users_without_hr_never_get_hr_chunks(index):
    hr_chunks = stored_chunks(index, "/hr/")
    assert len(hr_chunks) >= 3, "the corpus has HR documents"
    queries = questions("hr/") + [str(c["text"]) for c in hr_chunks] + [
        "salary bands", "hr", "CONFIDENTIAL People team only", "dismissal gross misconduct",
    ]  # fmt: skip
    unfiltered = index.retriever(score_threshold=-1.0)  # no threshold: only access can hide HR
    others = [index.users.resolve(n) for n in ("bob", "carol", "dana", "erin")] + [ANONYMOUS]
    for user in others:
        for query in queries:
            hits = unfiltered.retrieve(query, user=user, top_k=10)
            assert not [h for h in hits if "/hr/" in h.chunk.source], (user.name, query)
            assert_readable(hits, user)
    alice = index.users.resolve("alice")
    exact = unfiltered.retrieve(str(hr_chunks[0]["text"]), user=alice)
    assert "/hr/" in exact[0].chunk.source, "the same query does find HR text for an HR user"


def test_hr_user_gets_hr_documents(index):
    alice = index.users.resolve("alice")
    hits = index.retriever().retrieve("How long does a performance improvement plan last?", user=alice)
    assert rel(hits[0]) == "hr/performance-review-and-termination-procedure.docx"
    hits = index.retriever().retrieve("salary band midpoint for a senior engineer", user=alice)
    assert any(rel(h) == "hr/salary-bands-2025.xlsx" for h in hits)
    assert_readable(hits, alice)


def test_anonymous_gets_only_public_documents(index):
    retriever = index.retriever(score_threshold=-1.0)
    found = 0
    for query in [*questions(""), "Series B funding", "salary", "VPN", "backup restore"]:
        hits = retriever.retrieve(query, user=ANONYMOUS, top_k=10)
        found += len(hits)
        for hit in hits:
            assert hit.chunk.access.groups == ("public",), rel(hit)
            assert hit.chunk.access.sensitivity.value == "public"
    assert found > 0
    series_b = index.retriever().retrieve("How much did Corvala raise in its Series B?", user=ANONYMOUS)
    assert rel(series_b[0]) == "public/press-release-2025-02-series-b.html"


def test_hits_are_ranked_and_carry_similarity(index):
    hits = index.retriever().retrieve(
        "What is the minimum password length?", user=index.users.resolve("carol")
    )
    assert 1 <= len(hits) <= index.settings.retrieval.top_k
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert all(
        h.similarity is not None and h.similarity >= index.settings.retrieval.score_threshold for h in hits
    )
    assert any(rel(h) == "policies/information-security-policy.docx" for h in hits)


def test_metadata_filters(index):
    carol = index.users.resolve("carol")
    retriever = index.retriever(score_threshold=-1.0)
    pdf = retriever.retrieve("expenses hotel travel", user=carol, filters=SearchFilters(doc_types=("pdf",)))
    assert pdf and {h.chunk.doc_type for h in pdf} == {"pdf"}
    vpn = str(index.corpus / "it" / "vpn-setup.html")
    only = retriever.retrieve("password", user=carol, filters=SearchFilters(sources=(vpn,)))
    assert only and {h.chunk.source for h in only} == {vpn}
    old = retriever.retrieve(
        "holiday", user=carol, filters=SearchFilters(modified_before=datetime(2021, 1, 1, tzinfo=UTC))
    )
    assert old and {rel(h) for h in old} == {BACKDATED}
    recent = retriever.retrieve(
        "holiday", user=carol, filters=SearchFilters(modified_after=datetime(2021, 1, 1, tzinfo=UTC))
    )
    assert recent and BACKDATED not in {rel(h) for h in recent}
    hr_only = retriever.retrieve(
        "salary",
        user=carol,
        filters=SearchFilters(sources=(str(index.corpus / "hr" / "salary-bands-2025.xlsx"),)),
    )
    assert hr_only == [], "a metadata filter never widens access"


def test_duplicate_chunks_are_returned_once(index):
    first, second = (stored_chunks(index, name) for name in DUPLICATE)
    assert first and {normalise_text(str(c["text"])) for c in first} == {
        normalise_text(str(c["text"])) for c in second
    }, "the index holds both copies"
    query = "I lost my laptop, how do I reset my password?"
    raw = index.client.collections.use(index.settings.weaviate.collection).query.hybrid(
        query,
        vector=index.embedder.embed_query(query),
        target_vector="default",
        limit=8,
        return_properties=["text"],
    )
    raw_texts = [normalise_text(str(o.properties["text"])) for o in raw.objects]
    assert len(set(raw_texts)) < len(raw_texts), "without de-duplication the copies would repeat"
    hits = index.retriever(score_threshold=-1.0).retrieve(query, user=index.users.resolve("carol"), top_k=8)
    texts = [normalise_text(h.chunk.text) for h in hits]
    assert len(hits) == 8, "over-fetching still fills top_k after de-duplication"
    assert len(texts) == len(set(texts))


def test_off_topic_questions_return_nothing(index):
    everyone = User("root", ("employees", "hr", "finance", "admins", "leadership"))
    for query in OFF_TOPIC:
        assert index.retriever().retrieve(query, user=everyone) == [], query
    assert index.retriever().retrieve("How do I set up the VPN?", user=everyone)


def test_missing_index_says_to_ingest(index):
    missing = retriever_of(index.client, index.settings, embedder=index.embedder, collection="NoSuchAlias")
    with pytest.raises(RetrievalError, match="docduet ingest"):
        missing.retrieve("anything", user=ANONYMOUS)


def test_dead_weaviate_is_backend_unavailable(private_server, index):
    settings, server = private_server
    with open_client(settings, autostart=False) as client:
        retriever = retriever_of(client, settings, embedder=index.embedder)
        server.kill()
        with pytest.raises(BackendUnavailableError) as info:
            retriever.retrieve("anything", user=ANONYMOUS)
    assert info.value.__cause__ is not None
