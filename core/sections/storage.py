"""Where docduet keeps its files, and which Weaviate it uses."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from core.eval_data import default_eval_data_dir
from core.sections.base import Section, alias, empty_is_unset, xdg


class PathSettings(Section):
    """Folders: docduet's data and cache, and the public evaluation sets."""

    data_dir: Path = Field(default_factory=lambda: xdg("XDG_DATA_HOME", ".local/share"))
    cache_dir: Path = Field(default_factory=lambda: xdg("XDG_CACHE_HOME", ".cache"))
    eval_data: Path = Field(
        default_factory=default_eval_data_dir,
        description="Folder of the public evaluation sets (scifact/, squad2-mini/, handbook-18f/, "
        "formats/) read by docduet eval, the benches and the tests; `make eval-data` fetches them "
        "into it. Default: ../shared/eval beside the checkout when it exists, else "
        "~/.cache/docduet/eval (core/eval_data.py).",
    )

    @property
    def weaviate_data_dir(self) -> Path:
        return self.data_dir / "weaviate"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"


class WeaviateSettings(Section):
    """The Weaviate docduet runs (or the external one it uses) and the collection it queries."""

    weaviate_url: str | None = Field(
        default=None,
        validation_alias=alias("weaviate_url", "WEAVIATE_URL"),
        description="External Weaviate (http[s]://host:port). Unset: docduet runs its own.",
    )
    weaviate_grpc_url: str | None = Field(
        default=None,
        validation_alias=alias("weaviate_grpc_url", "WEAVIATE_GRPC_URL"),
        description="gRPC address of the external Weaviate; default: same host, port 50051.",
    )
    weaviate_api_key: SecretStr | None = Field(
        default=None, validation_alias=alias("weaviate_api_key", "WEAVIATE_API_KEY")
    )
    weaviate_version: str = "1.39.0"
    weaviate_binary: Path | None = Field(
        default=None, description="Use this weaviate-server binary instead of building one."
    )
    weaviate_host: str = "127.0.0.1"
    weaviate_http_port: int = 8079
    weaviate_grpc_port: int = 50079
    weaviate_startup_timeout_s: float = 90.0
    weaviate_build_timeout_s: float = 3600.0
    collection: str = Field(
        default="DocduetChunks", description="Alias chat queries; the admin command owns it."
    )
    replication_factor: int | None = Field(
        default=None,
        ge=1,
        description="Copies of each chunk in a new collection; default and only accepted value: "
        "the number of nodes the cluster reports (1 on a single node). Weaviate 1.39 cannot run "
        "docduet's multi-vector search on shards held by other nodes (docs/cluster.md).",
    )
    weaviate_nodes: int = Field(
        default=1,
        ge=1,
        le=9,
        description="Nodes of docduet's own Weaviate (`docduet db start --nodes N`): 1, or a "
        "local cluster of N nodes on loopback (3 survives one dead node). Ignored with WEAVIATE_URL.",
    )
    consistency_read: Literal["ONE", "QUORUM", "ALL"] = Field(
        default="QUORUM",
        description="Replicas that must answer a search (QUORUM: 2 of 3).",
    )
    consistency_write: Literal["ONE", "QUORUM", "ALL"] = Field(
        default="QUORUM",
        description="Replicas that must confirm a write (QUORUM: 2 of 3).",
    )
    weaviate_write_retries: int = Field(
        default=3,
        ge=0,
        le=10,
        description="Retries (with backoff) of a write Weaviate could not complete; chunk ids are "
        "deterministic, so a retried write never duplicates.",
    )

    _unset = field_validator(
        "weaviate_url", "weaviate_grpc_url", "weaviate_api_key", mode="before"
    )(empty_is_unset)
