"""Replication logic without a Weaviate: factor, consistency levels, retries, error wording,
and the ports and layout of docduet's own local cluster."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from db_helpers import make_settings
from fakes import make_chunk
from weaviate.classes.config import ConsistencyLevel
from weaviate.exceptions import WeaviateBaseError

from backends.weaviate.chunks import ChunkStore
from backends.weaviate.replication import (
    BACKOFF_S,
    consistency_level,
    is_transient,
    read_only,
    replication_factor,
    too_few_replicas,
    with_retries,
)
from backends.weaviate_server import embedded
from core.domain import ChunkVectors
from core.errors import BackendUnavailableError, ConfigError

QUORUM_FAILED = "cannot achieve consistency level QUORUM: read error"  # Weaviate's wording
READ_ONLY = "store is read-only"


class Nodes:
    """A client whose cluster reports ``count`` nodes (the only call replication_factor makes)."""

    def __init__(self, count: int) -> None:
        self.cluster = self
        self._count = count

    def nodes(self) -> list[object]:
        return [object()] * self._count


@pytest.mark.parametrize(("nodes", "configured", "expected"), [(1, None, 1), (2, None, 2),
                         (3, None, 3), (5, None, 5), (3, 3, 3), (1, 1, 1)])  # fmt: skip
def test_replication_factor_is_one_copy_per_node(nodes: int, configured: int | None, expected: int) -> None:
    assert replication_factor(Nodes(nodes), configured) == expected  # type: ignore[arg-type]


def test_a_factor_above_the_node_count_says_what_to_do() -> None:
    with pytest.raises(ConfigError, match=r"REPLICATION_FACTOR=3 but .* 2 node\(s\); use at most 2"):
        replication_factor(Nodes(2), 3)  # type: ignore[arg-type]


@pytest.mark.parametrize(("nodes", "configured"), [(3, 1), (3, 2), (5, 3)])
def test_a_factor_below_the_node_count_is_refused_because_remote_shards_cannot_be_searched(
    nodes: int, configured: int
) -> None:
    with pytest.raises(ConfigError) as caught:
        replication_factor(Nodes(nodes), configured)  # type: ignore[arg-type]
    message = str(caught.value)
    assert f"REPLICATION_FACTOR={configured}" in message and "searchVectors" in message
    assert f"set it to {nodes}" in message


def test_consistency_levels() -> None:
    assert consistency_level("quorum") is ConsistencyLevel.QUORUM
    assert consistency_level("ALL") is ConsistencyLevel.ALL
    with pytest.raises(ConfigError, match="use one of ALL, ONE, QUORUM"):
        consistency_level("MOST")


def test_error_wording() -> None:
    hint = too_few_replicas(WeaviateBaseError(QUORUM_FAILED))
    assert hint is not None and "start the stopped nodes" in hint and "half-written" in hint
    assert too_few_replicas("failed to execute query: leader not found") is not None
    assert too_few_replicas("some other failure") is None
    explained = read_only(f"shard x: {READ_ONLY}")
    assert explained is not None and "Free space" in explained
    assert read_only("fine") is None
    assert is_transient(QUORUM_FAILED) and is_transient("connection refused")
    assert not is_transient(READ_ONLY) and not is_transient("leader not found")
    assert not is_transient("invalid property")


def test_retries_transient_errors_with_doubling_pauses() -> None:
    pauses: list[float] = []
    calls = iter([WeaviateBaseError(QUORUM_FAILED), WeaviateBaseError("connection reset"), "ok"])

    def action() -> str:
        outcome = next(calls)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert with_retries(action, retries=3, what="x", sleep=pauses.append) == "ok"
    assert pauses == [BACKOFF_S, 2 * BACKOFF_S]


def test_gives_up_after_the_retries_and_never_retries_permanent_errors() -> None:
    pauses: list[float] = []
    attempts = []

    def failing(message: str) -> Any:
        def action() -> None:
            attempts.append(message)
            raise WeaviateBaseError(message)

        return action

    with pytest.raises(WeaviateBaseError, match="consistency"):
        with_retries(failing(QUORUM_FAILED), retries=2, what="x", sleep=pauses.append)
    assert len(attempts) == 3 and len(pauses) == 2
    attempts.clear()
    with pytest.raises(WeaviateBaseError, match="read-only"):
        with_retries(failing(READ_ONLY), retries=2, what="x", sleep=pauses.append)
    assert len(attempts) == 1


def test_a_connection_reset_that_weaviate_client_lets_through_is_retried_too() -> None:
    """weaviate-client passes httpx's ReadError through unwrapped when the server dies mid-request."""
    pauses: list[float] = []
    outcomes: list[Any] = [httpx.ReadError("[Errno 104] Connection reset by peer"), "ok"]

    def action() -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert with_retries(action, retries=2, what="x", sleep=pauses.append) == "ok"
    assert pauses == [BACKOFF_S]


# --- ChunkStore writes: retried objects only, clear errors ----------------------------------------


class Error:
    def __init__(self, message: str) -> None:
        self.message = message


class Result:
    def __init__(self, errors: dict[int, Error]) -> None:
        self.errors = errors
        self.has_errors = bool(errors)


class Collection:
    """Records insert_many batches and answers with scripted per-object errors."""

    def __init__(self, scripted: list[dict[int, str]]) -> None:
        self.batches: list[list[str]] = []
        self._scripted = scripted
        self.data = self

    def with_consistency_level(self, level: ConsistencyLevel) -> Collection:
        self.level = level
        return self

    def insert_many(self, objects: list[Any]) -> Result:
        self.batches.append([str(o.uuid) for o in objects])
        errors = self._scripted.pop(0) if self._scripted else {}
        return Result({i: Error(m) for i, m in errors.items()})


class Client:
    def __init__(self, collection: Collection) -> None:
        self.collections = self
        self._collection = collection

    def use(self, name: str) -> Collection:
        return self._collection


def store(scripted: list[dict[int, str]]) -> tuple[ChunkStore, Collection, list[float]]:
    pauses: list[float] = []
    collection = Collection(scripted)
    chunk_store = ChunkStore(Client(collection), "C", retries=3, sleep=pauses.append)  # type: ignore[arg-type]
    return chunk_store, collection, pauses


def test_upsert_retries_only_the_objects_that_failed(sample_chunks: list[Any]) -> None:
    chunk_store, collection, pauses = store([{1: QUORUM_FAILED}])
    chunk_store.upsert(sample_chunks, [ChunkVectors([0.1, 0.2], [[0.1, 0.2]])] * len(sample_chunks))
    ids = [c.chunk_id for c in sample_chunks]
    assert collection.batches == [ids, [ids[1]]]  # same deterministic id again: no duplicate
    assert pauses == [BACKOFF_S] and collection.level is ConsistencyLevel.QUORUM


def test_upsert_on_a_full_disk_fails_at_once_with_what_to_do(sample_chunks: list[Any]) -> None:
    chunk_store, collection, pauses = store([{0: READ_ONLY, 1: READ_ONLY}])
    with pytest.raises(BackendUnavailableError, match=r"rejected 2 of 2 chunks.*Free space"):
        chunk_store.upsert(sample_chunks, [ChunkVectors([0.1, 0.2], [[0.1, 0.2]])] * len(sample_chunks))
    assert len(collection.batches) == 1 and pauses == []


def test_upsert_gives_up_with_the_replica_hint(sample_chunks: list[Any]) -> None:
    chunk_store, collection, pauses = store([{0: QUORUM_FAILED}] * 4)
    with pytest.raises(BackendUnavailableError, match="start the stopped nodes"):
        chunk_store.upsert(sample_chunks, [ChunkVectors([0.1, 0.2], [[0.1, 0.2]])] * len(sample_chunks))
    assert len(collection.batches) == 4 and pauses == [0.5, 1.0, 2.0]


@pytest.fixture
def sample_chunks() -> list[Any]:
    from datetime import UTC, datetime

    return [
        make_chunk(f"text {i}", chunk_id=f"00000000-0000-0000-0000-00000000000{i}", title="T",
                   section="S", source="/d/a.md", root="/d", index=i,
                   modified=datetime(2026, 1, 1, tzinfo=UTC))
        for i in range(2)
    ]  # fmt: skip


# --- the local cluster's ports and layout ----------------------------------------------------------


def test_cluster_ports_are_distinct_and_rpc_follows_raft() -> None:
    ports = embedded.cluster_ports(8079, 50079, 3)
    assert [(p.http, p.grpc) for p in ports] == [(8079, 50079), (8080, 50080), (8081, 50081)]
    every = [v for p in ports for v in p.as_dict().values()]
    assert len(set(every)) == 18
    assert all(p.raft_rpc == p.raft + 1 and p.data == p.gossip + 1 for p in ports)


def test_cluster_ports_refuse_overlaps() -> None:
    with pytest.raises(ConfigError, match="no room for 3 nodes"):
        embedded.cluster_ports(20000, 20001, 3)


def test_local_cluster_layout(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, weaviate_nodes=3)
    nodes = embedded.embedded_nodes(settings)
    assert [n.config.node_name for n in nodes] == ["node-00", "node-01", "node-02"]
    assert {n.config.api_key_file for n in nodes} == {settings.paths.data_dir / "weaviate.key"}
    assert nodes[2].config.data_dir == settings.paths.data_dir / "weaviate-cluster" / "node-02" / "data"
    assert nodes[1].config.log_file == settings.paths.log_dir / "weaviate-node-01.log"
    assert nodes[0].url == f"http://127.0.0.1:{settings.weaviate.weaviate_http_port}"
    assert dict(nodes[0].config.extra_env)["ASYNC_REPLICATION_FREQUENCY"] == "5s"
    assert [n.config.node_name for n in embedded.embedded_nodes(settings, 1)] == ["docduet"]
    assert embedded.running_nodes(settings) == []


def test_a_cluster_keeps_the_size_it_was_created_with(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    root = embedded.cluster_root(settings)
    root.mkdir(parents=True)
    (root / embedded.LAYOUT_FILE).write_text(json.dumps({"nodes": 3}))
    assert embedded.recorded_size(settings) == 3
    with pytest.raises(ConfigError, match=r"created with 3 nodes; start it with --nodes 3"):
        embedded.start(settings, 5)
    (root / embedded.LAYOUT_FILE).write_text("{broken")
    with pytest.raises(ConfigError, match="delete"):
        embedded.recorded_size(settings)
