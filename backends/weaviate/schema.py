"""The chunk collection's schema, its alias and migrations. Only admin commands call this.

Chat always queries the alias (``settings.weaviate.collection``); the physical collection behind it is
``<alias>_<timestamp>``. A full rebuild fills a new physical collection and switches the alias
when it is complete, so readers never see a half-built index.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import weaviate
from weaviate.classes.config import (
    Configure,
    DataType,
    Property,
    Tokenization,
    VectorDistances,
)

from backends.weaviate.keywords import ANALYZER, STEMMED_FIELDS
from backends.weaviate.replication import (
    READ_RETRIES,
    STORE_ERRORS,
    replication_factor,
    too_few_replicas,
    with_retries,
)
from core.errors import BackendUnavailableError, ConfigError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
"""2: stemmed copies of text, title and section for BM25 (:mod:`backends.weaviate.keywords`);
3: a vector per piece of each chunk (:data:`PIECES_VECTOR`)."""
WHOLE_VECTOR = "default"
"""The named vector of a chunk's whole text (HNSW, cosine)."""
PIECES_VECTOR = "pieces"
"""The named multi-vector of a chunk's pieces (:mod:`ingest.pieces`), scored by MaxSim."""
REBUILD = "run `docduet reindex --full` to rebuild it"


def _searchable(name: str) -> Property:
    return Property(name=name, data_type=DataType.TEXT, tokenization=Tokenization.WORD)


def _stemmed(name: str) -> Property:
    """A stemmed copy: already lower-cased words, searchable only (never filtered on)."""
    return Property(
        name=name,
        data_type=DataType.TEXT,
        tokenization=Tokenization.WHITESPACE,
        index_searchable=True,
        index_filterable=False,
    )


def _keyword(name: str, data_type: DataType = DataType.TEXT) -> Property:
    return Property(
        name=name,
        data_type=data_type,
        tokenization=Tokenization.FIELD,
        index_searchable=False,
        index_filterable=True,
    )


PROPERTIES: tuple[Property, ...] = (
    _searchable("text"),
    _searchable("title"),
    _searchable("section"),
    *(_stemmed(name) for name in STEMMED_FIELDS.values()),
    _keyword("source"),
    _keyword("root"),
    _keyword("doc_type"),
    _keyword("content_hash"),
    _keyword("sensitivity"),
    _keyword("access_groups", DataType.TEXT_ARRAY),
    Property(name="page", data_type=DataType.INT),
    Property(name="chunk_index", data_type=DataType.INT),
    Property(name="chunk_count", data_type=DataType.INT),
    Property(name="modified", data_type=DataType.DATE),
)


@dataclass(frozen=True)
class IndexInfo:
    """What a physical collection was built with (kept in its description)."""

    collection: str
    embedding_model: str
    dim: int
    schema_version: int
    keywords: str | None = None
    """The keyword analyzer of the stemmed fields (:data:`keywords.ANALYZER`); None: none."""


ALIAS_VISIBLE_S = 10.0
"""Longest wait for a node to learn a new alias (it takes a fraction of a second)."""


def physical_name(alias: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%f")
    return f"{alias}_{stamp}"


def resolve_alias(client: weaviate.WeaviateClient, alias: str) -> str | None:
    """The physical collection the alias points to, or None when there is no alias yet.

    Weaviate answers alias reads through its Raft leader: a cluster that lost its majority
    cannot answer them, and the read ends at the client's timeout with a hint to that effect.
    """
    try:  # retried: the node that forwards it to a leader that just died drops it once
        found = with_retries(
            lambda: client.alias.get(alias_name=alias), retries=READ_RETRIES, what="reading the alias"
        )
    except STORE_ERRORS as e:
        hint = too_few_replicas(e) or _no_leader(e) or str(e)
        raise BackendUnavailableError(f"could not read alias {alias!r}: {hint}") from e
    return found.collection if found else None


def _no_leader(error: Exception) -> str | None:
    if "timed out" not in str(error).lower():
        return None
    return (
        f"Weaviate did not answer in time ({str(error).splitlines()[0]}); on a cluster this "
        "happens when most nodes are down (3 nodes need 2 up): start the stopped nodes "
        "(`docduet db start`), else check `docduet db status` and the Weaviate log"
    )


def read_info(client: weaviate.WeaviateClient, collection: str) -> IndexInfo:
    config = client.collections.use(collection).config.get()
    try:
        meta = json.loads(config.description or "{}")
        return IndexInfo(
            collection,
            meta["embedding_model"],
            int(meta["dim"]),
            int(meta["schema"]),
            meta.get("keywords"),
        )
    except (ValueError, KeyError) as e:
        raise ConfigError(
            f"collection {collection!r} was not created by docduet (no metadata); "
            "point DOCDUET_COLLECTION at another name"
        ) from e


def create_physical(
    client: weaviate.WeaviateClient,
    alias: str,
    *,
    embedding_model: str,
    dim: int,
    replicas: int | None,
    partial_ok: bool = False,
) -> str:
    """Create an empty chunk collection (not yet aliased) and return its name.

    ``replicas``: copies of each object; None: one per cluster node (the only accepted value;
    ``partial_ok`` lets the cluster benchmark create the layout docduet cannot search).
    """
    name = physical_name(alias)
    factor = replication_factor(client, replicas, partial_ok=partial_ok)
    meta = {
        "schema": SCHEMA_VERSION,
        "embedding_model": embedding_model,
        "dim": dim,
        "keywords": ANALYZER,
    }
    client.collections.create(
        name=name,
        description=json.dumps(meta),
        properties=list(PROPERTIES),
        vector_config=[
            Configure.Vectors.self_provided(
                name=WHOLE_VECTOR,
                vector_index_config=Configure.VectorIndex.hnsw(distance_metric=VectorDistances.COSINE),
            ),
            Configure.MultiVectors.self_provided(name=PIECES_VECTOR),
        ],
        inverted_index_config=Configure.inverted_index(index_null_state=True),
        replication_config=Configure.replication(factor=factor),
    )
    log.info("created collection %s (%s, dim %d, %d copies)", name, embedding_model, dim, factor)
    return name


def point_alias(client: weaviate.WeaviateClient, alias: str, collection: str) -> str | None:
    """Point the alias at ``collection``; returns the collection it pointed to before."""
    previous = resolve_alias(client, alias)
    if previous is None:
        if client.collections.exists(alias):
            raise ConfigError(
                f"a collection named {alias!r} exists but is not a docduet alias; "
                "set DOCDUET_COLLECTION to another name or delete that collection"
            )
        client.alias.create(alias_name=alias, target_collection=collection)
    elif previous != collection:
        client.alias.update(alias_name=alias, new_target_collection=collection)
    return previous


def await_alias(client: weaviate.WeaviateClient, alias: str, timeout_s: float = ALIAS_VISIBLE_S) -> None:
    """Until the node ``client`` talks to knows ``alias`` from its own schema copy (bounded).

    On a cluster a node learns a schema change from the Raft leader a moment after the client
    was told it is done (0.1-0.3 s measured, bench/cluster_scale.py); a write sent through a node
    that does not know the alias yet fails ("auto-schema: create collection ... alias name ...
    already exists").
    """
    deadline = time.monotonic() + timeout_s
    while not client.collections.exists(alias):
        if time.monotonic() > deadline:
            raise BackendUnavailableError(
                f"the Weaviate node did not learn the new alias {alias!r} within {timeout_s:g} s; "
                "check `docduet db status` and the Weaviate logs, then re-run"
            )
        time.sleep(0.05)


def migrate(client: weaviate.WeaviateClient, collection: str) -> list[str]:
    """Add properties a newer docduet expects; returns the names added.

    The stemmed fields are never added here: existing chunks would have them empty and keyword
    search would silently miss them. :func:`index_problem` sends the admin to a full rebuild.
    """
    existing = {p.name for p in client.collections.use(collection).config.get().properties}
    added = []
    for prop in PROPERTIES:
        if prop.name not in existing and prop.name not in STEMMED_FIELDS.values():
            client.collections.use(collection).config.add_property(prop)
            added.append(prop.name)
    if added:
        log.info("migrated %s: added %s", collection, ", ".join(added))
    return added


def ensure_index(
    client: weaviate.WeaviateClient,
    alias: str,
    *,
    embedding_model: str,
    dim: int,
    replicas: int | None,
) -> str:
    """Make sure the alias exists and fits the embedding model; returns the physical name."""
    current = resolve_alias(client, alias)
    if current is None:
        current = create_physical(client, alias, embedding_model=embedding_model, dim=dim, replicas=replicas)
        point_alias(client, alias, current)
        await_alias(client, alias)
        return current
    info = read_info(client, current)
    if (info.embedding_model, info.dim) != (embedding_model, dim):
        raise ConfigError(
            f"the index was built with {info.embedding_model} ({info.dim}-d) but the embedding "
            f"model is now {embedding_model} ({dim}-d); {REBUILD}"
        )
    problem = index_problem(client, current)
    if problem is not None:
        raise ConfigError(problem)
    migrate(client, current)
    return current


def index_problem(client: weaviate.WeaviateClient, name: str) -> str | None:
    """Why search on ``name`` (an alias or a collection) would be wrong, or None.

    An index built before the piece vectors or the stemmed fields existed, or with another
    keyword analyzer, would give worse results without any error; this says so, and what to do.
    """
    collection = resolve_alias(client, name) or name
    try:
        config = client.collections.use(collection).config.get()
    except STORE_ERRORS as e:
        raise BackendUnavailableError(f"could not read the schema of {collection!r}: {e}") from e
    lacks = _keyword_lacks(config)
    if PIECES_VECTOR not in (config.vector_config or {}):
        lacks.append("without piece vectors (passages would be found by their whole text only)")
    if not lacks:
        return None
    return (
        f"the index {name!r} (collection {collection!r}) was built by an older docduet "
        f"{'; '.join(lacks)}; an admin must {REBUILD}"
    )


def _keyword_lacks(config: Any) -> list[str]:
    """What the keyword fields of a collection's ``config`` lack, if anything."""
    present = {p.name for p in config.properties}
    missing = [field for field in STEMMED_FIELDS.values() if field not in present]
    if missing:
        fields = ", ".join(missing)
        return [f"without the stemmed keyword field(s) {fields} (keyword search would miss words)"]
    try:
        analyzer = json.loads(config.description or "{}").get("keywords")
    except (ValueError, AttributeError):
        analyzer = None
    if analyzer != ANALYZER:
        return [f"with keyword analyzer {analyzer!r} (this docduet uses {ANALYZER!r})"]
    return []


def orphans(client: weaviate.WeaviateClient, alias: str) -> list[str]:
    """Physical collections of this alias that no alias points to (left by an aborted rebuild)."""
    current = resolve_alias(client, alias)
    prefix = f"{alias}_"
    return sorted(
        name
        for name in client.collections.list_all(simple=True)
        if name.startswith(prefix) and name != current and name[len(prefix) :].isdigit()
    )
