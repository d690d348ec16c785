"""Replication and sharding across nodes: a real local 3-node cluster against one node.

The same synthetic chunks as ``bench.retrieval_scale`` (``size`` of them, default 5k) are written
through docduet's own index, then its retrieval and the raw query are timed alternately, in three
layouts, each on fresh weaviate-server processes of its own (loopback, free ports, a temporary
data dir; the user's database is never touched):

- **single**: one node (``docduet db start``), the baseline;
- **sharded**: ``docduet db start --nodes 3`` with ``DOCDUET_REPLICATION_FACTOR=1``: docduet sets
  no shard count, so Weaviate's default applies (one shard per node at creation): each chunk is
  on one node, a search asks all three;
- **replicated**: the same cluster with factor 3 and QUORUM reads and writes (docduet's default
  on 3 nodes): each chunk is on every node, a write and a search need two of them.

Per layout: the import rate, p50/p95 of ``HybridRetriever.retrieve`` and of the raw query (both
with the piece vectors), of the retriever on whole-text vectors only (``pieces=False``), the
shards each node holds (as Weaviate reports them), and the resident memory of each
node process (read from /proc by pid), summed and per 100k chunks; then each cluster figure over
the single node's. A search that fails is not retried here: its layout reports ``query_error``
(with the reason a node logged) and no latencies for that path. (Weaviate 1.39.0 fails a search
that targets both the whole and the multi-vector ``pieces`` when a shard sits on another node:
the remote node cannot unmarshal the mixed query vectors.)
``python -m bench.cluster_scale [--size 5000] [--queries 60] [--out FILE]``.
"""

from __future__ import annotations

import dataclasses
import os
import random
import statistics
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from backends.weaviate import schema
from backends.weaviate.replication import STORE_ERRORS
from backends.weaviate_server import embedded
from backends.weaviate_server.binary import ensure_binary
from backends.weaviate_server.ports import NodePorts, all_free
from backends.weaviate_server.server import WeaviateServer, embedded_server
from bench.retrieval_scale import (
    DIM,
    GROUPS,
    QUESTIONS,
    ROOT,
    _alternate,
    _import,
    _p95,
    _per_100k,
    synthetic_chunks,
)
from core.domain import Chunk, ChunkVectors, User
from core.errors import BackendUnavailableError, RetrievalError
from core.settings import Settings
from docduet.compose import build_embedder, open_index
from retrieval.retriever import HybridRetriever

Items = list[tuple[Chunk, ChunkVectors]]
NODES = 3
LAYOUTS = {"sharded": 1, "replicated": NODES}
"""Cluster layouts measured: name -> replication factor."""
START_TIMEOUT_S = 180.0
"""Three nodes starting on a busy 2-core machine (the cluster tests allow the same)."""
RATIO_FIELDS = {
    "import": "import_chunks_per_s",
    "p50": "docduet_p50_ms",
    "p95": "docduet_p95_ms",
    "raw_p50": "raw_p50_ms",
    "raw_p95": "raw_p95_ms",
    "whole_only_p50": "whole_only_p50_ms",
    "whole_only_p95": "whole_only_p95_ms",
    "rss": "rss_mb_total",
    "rss_per_100k": "rss_mb_per_100k_chunks",
}
"""``<layout>_<label>_over_single`` divides the layout's field by the single node's."""
QUERY_ERRORS: tuple[type[Exception], ...] = (RetrievalError, *STORE_ERRORS)
"""docduet's retrieval and the raw query failing (the layout then reports ``query_error``)."""
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
SHARDING_NOTE = (
    "docduet has no shard-count setting: its collections get Weaviate's default (desired count "
    "= nodes at creation); the sharded layout is replication factor 1 on 3 nodes, which docduet "
    "itself refuses (Weaviate 1.39 cannot run its multi-vector search on remote shards), so the "
    "benchmark creates that collection by hand"
)


def measure(settings: Settings, size: int, queries: int) -> dict[str, Any]:
    """Single node, then a 3-node cluster per layout; every node stopped before returning."""
    binary = ensure_binary(settings)
    items = synthetic_chunks(size)
    with tempfile.TemporaryDirectory(prefix="docduet-cluster-bench-") as tmp:
        base = settings.replace(
            weaviate_url=None, weaviate_grpc_url=None, weaviate_api_key=None,
            weaviate_binary=binary, collection=f"BenchCluster{size}", top_k=5,
            weaviate_startup_timeout_s=max(settings.weaviate.weaviate_startup_timeout_s, START_TIMEOUT_S),
        )  # fmt: skip
        single = _on_single_node(_isolated(base, Path(tmp) / "single", 1), items, queries)
        layouts = {
            name: _on_cluster(_cluster(base, Path(tmp) / name, factor), items, queries)
            for name, factor in LAYOUTS.items()
        }
    return {
        "chunks": size,
        "queries": max(0, queries - 2),
        "nodes": NODES,
        "sharding_note": SHARDING_NOTE,
        "single": single,
        **layouts,
        "ratios": ratios(single, layouts),
    }


def _isolated(settings: Settings, root: Path, nodes: int) -> Settings:
    """Settings of docduet's own Weaviate with its data under ``root`` and free loopback ports."""
    http, grpc = _free_ports(settings.weaviate.weaviate_host, nodes)
    return settings.replace(
        data_dir=root / "data", weaviate_nodes=nodes, weaviate_http_port=http, weaviate_grpc_port=grpc
    )


def _cluster(settings: Settings, root: Path, factor: int) -> Settings:
    """A 3-node cluster's settings: ``factor`` copies of each chunk, QUORUM reads and writes."""
    update = {"replication_factor": factor, "consistency_read": "QUORUM", "consistency_write": "QUORUM"}
    return _isolated(settings, root, NODES).replace(**update)


def _free_ports(host: str, nodes: int) -> tuple[int, int]:
    if nodes > 1:
        return embedded.find_free_cluster_ports(nodes, host)
    for http in random.sample(range(15_000, 25_000, 10), k=400):  # one node: +10000..+40000
        if all_free(host, [NodePorts.derived(http, http + 5_000)]):
            return http, http + 5_000
    raise BackendUnavailableError(f"No free ports on {host} for a Weaviate node.")


def _on_single_node(settings: Settings, items: Items, queries: int) -> dict[str, Any]:
    config = dataclasses.replace(embedded_server(settings).config, stop_with_pid=os.getpid())
    server = WeaviateServer(config)  # docduet's one node, which dies with this process
    try:
        server.start(timeout=settings.weaviate.weaviate_startup_timeout_s)
        return _measure_layout(settings, [server], items, queries)
    finally:
        server.stop(timeout=30.0)


def _on_cluster(settings: Settings, items: Items, queries: int) -> dict[str, Any]:
    try:
        embedded.start(settings, NODES, stop_with_pid=os.getpid())
        nodes = embedded.local_cluster(settings, NODES).nodes
        return _measure_layout(settings, nodes, items, queries)
    finally:
        embedded.stop(settings, timeout=30.0)


def _measure_layout(
    settings: Settings, nodes: list[WeaviateServer], items: Items, queries: int
) -> dict[str, Any]:
    embedder = build_embedder(settings)
    users = [User(f"u{i}", tuple(random.Random(i).sample(GROUPS, 2))) for i in range(8)]
    with open_index(settings, autostart=False) as connection:
        index, client = connection.index, connection.client
        if settings.weaviate.replication_factor is not None and settings.weaviate.replication_factor < len(
            nodes
        ):
            # docduet refuses this layout (backends/weaviate/replication.py); create it by hand
            created = schema.create_physical(
                client, settings.weaviate.collection, embedding_model=embedder.name, dim=DIM,
                replicas=settings.weaviate.replication_factor, partial_ok=True,
            )  # fmt: skip
            schema.point_alias(client, settings.weaviate.collection, created)
        index.ensure(embedding_model=embedder.name, dim=DIM)
        physical = schema.resolve_alias(client, settings.weaviate.collection) or settings.weaviate.collection
        wait_for_alias(nodes, settings.weaviate.collection)
        rss_before = rss_by_node(nodes)
        import_s = _import(index, items)
        rss_after = rss_by_node(nodes)
        retriever = HybridRetriever(index, embedder, settings.retrieval)
        error: str | None = None
        try:
            docduet, raw = _alternate(client, index, retriever, embedder, settings, users, queries)
        except QUERY_ERRORS as e:  # reported, not retried: see the module doc
            docduet, raw = [], []
            error = _first_line(str(e)) + "; node log: " + (_remote_shard_error(nodes) or "no error logged")
        whole = _timed(HybridRetriever(index, embedder, settings.retrieval, pieces=False), users, queries)
        layout = _layout(client, physical)
    return {
        **layout,
        "consistency": f"{settings.weaviate.consistency_read}/{settings.weaviate.consistency_write}",
        "import_s": round(import_s, 1),
        "import_chunks_per_s": round(len(items) / import_s, 1),
        "query_error": error,
        **latencies("docduet", docduet),
        **latencies("raw", raw),
        "docduet_vs_raw_p50": _ratio(_p50(docduet), _p50(raw)),
        **latencies("whole_only", whole),
        **memory(rss_before, rss_after, len(items)),
    }


def _remote_shard_error(nodes: list[WeaviateServer]) -> str | None:
    """The first error a node logged about a remote shard (why a search failed on a cluster)."""
    for node in nodes:
        for line in node.log_tail(2_000).splitlines():
            if "level=error" in line and "remote shard" in line:
                return _first_line(line.split("msg=", 1)[-1])
    return None


def _first_line(text: str, limit: int = 300) -> str:
    line = text.strip().splitlines()[0] if text.strip() else text
    return line[:limit]


def _timed(retriever: HybridRetriever, users: list[User], queries: int) -> list[float]:
    """Seconds per ``retriever.retrieve`` on the same questions and users as ``_alternate``."""
    seconds = []
    for i in range(queries):
        started = time.perf_counter()
        retriever.retrieve(QUESTIONS[i % len(QUESTIONS)], user=users[i % len(users)])
        seconds.append(time.perf_counter() - started)
    return seconds[2:]  # the first two warm caches up


def latencies(name: str, seconds: list[float]) -> dict[str, float | None]:
    """``<name>_p50_ms`` and ``<name>_p95_ms``; None when nothing was measured (a failed query)."""
    p95 = _p95(seconds) if seconds else None
    return {f"{name}_p50_ms": _ms(_p50(seconds)), f"{name}_p95_ms": _ms(p95)}


def _p50(seconds: list[float]) -> float | None:
    return statistics.median(seconds) if seconds else None


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(1000 * seconds, 1)


def wait_for_alias(nodes: list[WeaviateServer], alias: str, timeout: float = 30.0) -> None:
    """Until every node's own schema knows ``alias`` (bounded).

    A node learns a schema change from the Raft leader a moment after the client was told it is
    done (0.1-0.3 s measured): a write sent at once to a node that does not know the alias yet
    fails ("auto-schema: create collection ... alias name ... already exists").
    """
    deadline = time.monotonic() + timeout
    for node in nodes:
        while _local_schema_status(node, alias) != 200:
            if time.monotonic() > deadline:
                raise BackendUnavailableError(f"{node.config.node_name} did not learn alias {alias!r}")
            time.sleep(0.1)


def _local_schema_status(node: WeaviateServer, name: str) -> int | None:
    headers = {"Authorization": f"Bearer {node.api_key()}", "consistency": "false"}
    request = urllib.request.Request(f"{node.url}/v1/schema/{name}", headers=headers)
    try:
        with _NO_PROXY.open(request, timeout=5.0) as response:
            return int(response.status)
    except urllib.error.HTTPError as e:
        return e.code
    except OSError:
        return None


def _layout(client: Any, physical: str) -> dict[str, Any]:
    """Replication factor and shards as Weaviate reports them, and how many shards each node holds.

    (Not the objects per node: a node's reported object count lags, it read 0 on every node of
    both clusters 30 s after a 3k-chunk import.)
    """
    config = client.collections.use(physical).config.get()
    nodes = client.cluster.nodes(collection=physical, output="verbose")
    return {
        "replication_factor": config.replication_config.factor,
        "shards_desired": config.sharding_config.desired_count if config.sharding_config else None,
        "shards_actual": config.sharding_config.actual_count if config.sharding_config else None,
        "shards_by_node": {node.name: len(node.shards or []) for node in sorted(nodes, key=lambda n: n.name)},
    }


def rss_by_node(nodes: list[WeaviateServer]) -> dict[str, int | None]:
    """Resident bytes of each node's own process (by its pid), None for a node not running."""
    out: dict[str, int | None] = {}
    for node in nodes:
        pid = node.pid()
        try:
            text = Path(f"/proc/{pid}/status").read_text() if pid is not None else ""
        except OSError:
            text = ""
        out[node.config.node_name] = vm_rss(text)
    return out


def vm_rss(status: str) -> int | None:
    """Bytes of the ``VmRSS`` line of a /proc/<pid>/status text, None without one."""
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return None


def memory(before: Mapping[str, int | None], after: Mapping[str, int | None], size: int) -> dict[str, Any]:
    """Resident MB after the import (total and per node) and its growth per 100k chunks.

    A total is None when any node could not be read: a partial sum would look like a saving.
    """
    return {
        "rss_mb_total": _mb(_total(after)),
        "rss_mb_by_node": {name: _mb(rss) for name, rss in after.items()},
        "rss_mb_per_100k_chunks": _per_100k(_total(before), _total(after), size),
        "rss_mb_per_100k_chunks_by_node": {
            name: _per_100k(before.get(name), rss, size) for name, rss in after.items()
        },
    }


def ratios(single: Mapping[str, Any], layouts: Mapping[str, Mapping[str, Any]]) -> dict[str, float | None]:
    """``<layout>_<label>_over_single`` for every layout and :data:`RATIO_FIELDS` label.

    Import is a rate (below 1: slower than one node); latencies and memory are costs (above 1:
    slower or larger). None where a figure is missing or the single node's is 0.
    """
    return {
        f"{name}_{label}_over_single": _ratio(figures.get(field), single.get(field))
        for name, figures in layouts.items()
        for label, field in RATIO_FIELDS.items()
    }


def _ratio(value: float | None, base: float | None) -> float | None:
    if value is None or not base:
        return None
    return round(value / base, 3)


def _total(rss: Mapping[str, int | None]) -> int | None:
    values = list(rss.values())
    if not values or any(v is None for v in values):
        return None
    return sum(v for v in values if v is not None)


def _mb(value: int | None) -> int | None:
    return None if value is None else round(value / 2**20)


def main() -> None:
    import argparse
    import logging

    from bench.report import write_report
    from docduet.environment import quiet_third_parties

    quiet_third_parties()
    logging.basicConfig(level=logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=5000, help="chunks per layout (default 5000)")
    parser.add_argument("--queries", type=int, default=60)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "cluster_scale.json")
    args = parser.parse_args()
    write_report(args.out, cluster_scale=measure(Settings(), args.size, args.queries))


if __name__ == "__main__":
    main()
