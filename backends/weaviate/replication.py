"""Replication on a Weaviate cluster: the factor of new collections, the consistency levels of
reads and writes, bounded retries of writes, and what a replica failure means for the user.

With 3 nodes, replication factor 3 and QUORUM reads and writes, any one node may die: every
search and every write still reaches 2 of the 3 copies. A node that comes back catches up by
Weaviate's asynchronous replication (on whenever the factor is above 1) and by read repair.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

import httpx
import weaviate
from weaviate.classes.config import ConsistencyLevel
from weaviate.exceptions import WeaviateBaseError

from core.errors import BackendUnavailableError, ConfigError

log = logging.getLogger(__name__)

WEAVIATE_REMOTE_MULTIVECTOR = (
    "Weaviate 1.39 cannot run docduet's search (the whole-text vector with the piece multi-vector) "
    "on a shard held by another node: the node answers 'unmarshal search params from json: "
    "searchVectors' and the search fails (bench/cluster_scale.py measured it)"
)
BACKOFF_S = 0.5
"""First pause before a retry; it doubles each time (0.5, 1, 2 s...)."""
READ_RETRIES = 2
"""Retries of a search whose replica dropped out mid-request (costs at most 1.5 s)."""

#: Words of Weaviate's errors that say too few replicas answered (usecases/replica), or that
#: the cluster lost its Raft majority (no leader: every schema-dependent request fails).
_TOO_FEW_REPLICAS = (
    "cannot achieve consistency level",
    "cannot reach enough replicas",
    "leader not found",
)
#: Errors worth retrying: a replica or the connection was briefly away. Not "leader not found":
#: Weaviate answers it only after its own ~20-40 s of waiting.
_TRANSIENT = (
    *_TOO_FEW_REPLICAS[:2],
    "connection refused",
    "connection reset",
    "connection is closing",
    "broken pipe",
    "unavailable",
    "deadline exceeded",
    "timeout",
    "timed out",
    "eof",
    "non-existing index",  # a node restarting: the collection is known, its shard not yet loaded
)
_READ_ONLY = "read-only"

T = TypeVar("T")

STORE_ERRORS: tuple[type[Exception], ...] = (WeaviateBaseError, httpx.TransportError)
"""What a failed Weaviate request raises: weaviate-client's own errors, and the httpx transport
errors it lets through unwrapped (a connection reset by a server that dies mid-request)."""


def consistency_level(name: str) -> ConsistencyLevel:
    """``ONE`` | ``QUORUM`` | ``ALL`` as weaviate-client's enum; ConfigError otherwise."""
    try:
        return ConsistencyLevel[name.upper()]
    except KeyError as e:
        known = ", ".join(level.name for level in ConsistencyLevel)
        raise ConfigError(f"unknown consistency level {name!r}; use one of {known}") from e


def cluster_size(client: weaviate.WeaviateClient) -> int:
    """How many nodes the cluster reports (1 for a single node)."""
    try:
        return max(1, len(client.cluster.nodes()))
    except STORE_ERRORS as e:
        raise BackendUnavailableError(
            f"could not list the Weaviate cluster's nodes: {e}; check `docduet db status`"
        ) from e


def replication_factor(
    client: weaviate.WeaviateClient, configured: int | None, *, partial_ok: bool = False
) -> int:
    """The factor for a new collection: one copy per node, the only layout docduet can search.

    A factor below the node count spreads the shards so that some live only on other nodes,
    which :data:`WEAVIATE_REMOTE_MULTIVECTOR` rules out; it is refused with what to do
    (``partial_ok``: allowed, for the benchmark that measures that layout).
    """
    nodes = cluster_size(client)
    if configured is None:
        return nodes
    if configured > nodes:
        raise ConfigError(
            f"DOCDUET_REPLICATION_FACTOR={configured} but the Weaviate cluster has {nodes} "
            f"node(s); use at most {nodes}, or unset it to get one copy per node"
        )
    if configured < nodes and not partial_ok:
        raise ConfigError(
            f"DOCDUET_REPLICATION_FACTOR={configured} on a cluster of {nodes} nodes would leave "
            f"shards that live only on other nodes, and {WEAVIATE_REMOTE_MULTIVECTOR}; "
            f"unset DOCDUET_REPLICATION_FACTOR (one copy per node: {nodes}) or set it to {nodes}"
        )
    return configured


def too_few_replicas(error: BaseException | str) -> str | None:
    """A user-facing explanation when ``error`` means too few replicas answered, else None."""
    text = str(error)
    if not any(words in text.lower() for words in _TOO_FEW_REPLICAS):
        return None
    if "leader not found" in text.lower():
        return (
            f"the Weaviate cluster has no Raft leader ({_first_line(text)}): it elects a new one "
            "within seconds after a node dies, so try again shortly; if this persists, most nodes "
            "are down: start the stopped nodes (`docduet db start`, or your cluster's tooling)."
        )
    return (
        f"too few Weaviate nodes answered for the consistency level ({_first_line(text)}); "
        "start the stopped nodes (`docduet db start`, or your cluster's own tooling) and try "
        "again: with 3 nodes and QUORUM, 2 must be up. Nothing was half-written: "
        "a write that did not reach enough nodes is not applied."
    )


def read_only(error: BaseException | str) -> str | None:
    """A user-facing explanation when Weaviate refused a write because its store is read-only."""
    text = str(error)
    if _READ_ONLY not in text.lower():
        return None
    return (
        f"Weaviate refused the write: its store is read-only ({_first_line(text)}). This happens "
        "when its disk is (nearly) full (DISK_USE_READONLY_PERCENTAGE, default 90%) or its data "
        "dir cannot be written. Free space in its data dir (`docduet db status` shows it): "
        "Weaviate makes the store writable again by itself within a second; then re-run the same "
        "command. What was written before stays."
    )


def is_transient(error: BaseException | str) -> bool:
    """Would trying the same request again, a moment later, plausibly succeed?"""
    text = str(error).lower()
    return _READ_ONLY not in text and any(words in text for words in _TRANSIENT)


def with_retries(
    action: Callable[[], T], *, retries: int, what: str, sleep: Callable[[float], None] = time.sleep
) -> T:
    """Run ``action``; on a transient store error try again up to ``retries`` times.

    Only for idempotent actions (writes with deterministic ids, deletes by filter). The pauses
    double from ``BACKOFF_S``; the last error is raised unchanged.
    """
    for attempt in range(retries + 1):
        try:
            return action()
        except STORE_ERRORS as e:
            if attempt == retries or not is_transient(e):
                raise
            pause = BACKOFF_S * 2**attempt
            log.warning("%s failed (%s); retry %d of %d in %.1f s", what, _first_line(str(e)),
                        attempt + 1, retries, pause)  # fmt: skip
            sleep(pause)
    raise AssertionError("unreachable")  # pragma: no cover


def _first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line if len(line) <= limit else line[: limit - 1] + "…"
