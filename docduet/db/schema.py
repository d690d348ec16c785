"""The chunk collection's schema, its alias and migrations. Only admin commands call this.

Chat always queries the alias (``settings.collection``); the physical collection behind it is
``<alias>_<timestamp>``. A full rebuild fills a new physical collection and switches the alias
when it is complete, so readers never see a half-built index.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import weaviate
from weaviate.classes.config import (
    Configure,
    DataType,
    Property,
    Tokenization,
    VectorDistances,
)
from weaviate.exceptions import WeaviateBaseError

from docduet.errors import BackendUnavailableError, ConfigError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1


def _searchable(name: str) -> Property:
    return Property(name=name, data_type=DataType.TEXT, tokenization=Tokenization.WORD)


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


def physical_name(alias: str, now: datetime | None = None) -> str:
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%f")
    return f"{alias}_{stamp}"


def resolve_alias(client: weaviate.WeaviateClient, alias: str) -> str | None:
    """The physical collection the alias points to, or None when there is no alias yet."""
    try:
        found = client.alias.get(alias_name=alias)
    except WeaviateBaseError as e:
        raise BackendUnavailableError(f"could not read alias {alias!r}: {e}") from e
    return found.collection if found else None


def read_info(client: weaviate.WeaviateClient, collection: str) -> IndexInfo:
    config = client.collections.use(collection).config.get()
    try:
        meta = json.loads(config.description or "{}")
        return IndexInfo(collection, meta["embedding_model"], int(meta["dim"]), int(meta["schema"]))
    except (ValueError, KeyError) as e:
        raise ConfigError(
            f"collection {collection!r} was not created by docduet (no metadata); "
            "point DOCDUET_COLLECTION at another name"
        ) from e


def create_physical(
    client: weaviate.WeaviateClient, alias: str, *, embedding_model: str, dim: int, replicas: int
) -> str:
    """Create an empty chunk collection (not yet aliased) and return its name."""
    name = physical_name(alias)
    meta = {"schema": SCHEMA_VERSION, "embedding_model": embedding_model, "dim": dim}
    client.collections.create(
        name=name,
        description=json.dumps(meta),
        properties=list(PROPERTIES),
        vector_config=Configure.Vectors.self_provided(
            vector_index_config=Configure.VectorIndex.hnsw(distance_metric=VectorDistances.COSINE)
        ),
        inverted_index_config=Configure.inverted_index(index_null_state=True),
        replication_config=Configure.replication(factor=replicas),
    )
    log.info("created collection %s (%s, dim %d)", name, embedding_model, dim)
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


def migrate(client: weaviate.WeaviateClient, collection: str) -> list[str]:
    """Add properties a newer docduet expects; returns the names added."""
    existing = {p.name for p in client.collections.use(collection).config.get().properties}
    added = []
    for prop in PROPERTIES:
        if prop.name not in existing:
            client.collections.use(collection).config.add_property(prop)
            added.append(prop.name)
    if added:
        log.info("migrated %s: added %s", collection, ", ".join(added))
    return added


def ensure_index(
    client: weaviate.WeaviateClient, alias: str, *, embedding_model: str, dim: int, replicas: int
) -> str:
    """Make sure the alias exists and fits the embedding model; returns the physical name."""
    current = resolve_alias(client, alias)
    if current is None:
        current = create_physical(
            client, alias, embedding_model=embedding_model, dim=dim, replicas=replicas
        )
        point_alias(client, alias, current)
        return current
    info = read_info(client, current)
    if (info.embedding_model, info.dim) != (embedding_model, dim):
        raise ConfigError(
            f"the index was built with {info.embedding_model} ({info.dim}-d) but the embedding "
            f"model is now {embedding_model} ({dim}-d); run `docduet reindex --full` to rebuild it"
        )
    migrate(client, current)
    return current


def orphans(client: weaviate.WeaviateClient, alias: str) -> list[str]:
    """Physical collections of this alias that no alias points to (left by an aborted rebuild)."""
    current = resolve_alias(client, alias)
    prefix = f"{alias}_"
    return sorted(
        name
        for name in client.collections.list_all(simple=True)
        if name.startswith(prefix) and name != current and name[len(prefix) :].isdigit()
    )
