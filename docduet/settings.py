"""One typed settings object, built once at each entry point.

Every field reads from the environment with the ``DOCDUET_`` prefix (for example
``DOCDUET_TOP_K=8``); a few well-known variables are accepted as they are
(``WEAVIATE_URL``, ``WEAVIATE_API_KEY``, ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``).
Secrets are ``SecretStr`` and never printed.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from docduet.domain import Sensitivity


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback) / "docduet"


def _alias(name: str, *extra: str) -> AliasChoices:
    return AliasChoices(f"DOCDUET_{name.upper()}", *extra)


class Settings(BaseSettings):
    """All of docduet's configuration."""

    model_config = SettingsConfigDict(env_prefix="DOCDUET_", extra="ignore", frozen=True)

    # --- storage -----------------------------------------------------------------------------
    data_dir: Path = Field(default_factory=lambda: _xdg("XDG_DATA_HOME", ".local/share"))
    cache_dir: Path = Field(default_factory=lambda: _xdg("XDG_CACHE_HOME", ".cache"))

    # --- Weaviate ----------------------------------------------------------------------------
    weaviate_url: str | None = Field(
        default=None,
        validation_alias=_alias("weaviate_url", "WEAVIATE_URL"),
        description="External Weaviate (http[s]://host:port). Unset: docduet runs its own.",
    )
    weaviate_grpc_url: str | None = Field(
        default=None,
        validation_alias=_alias("weaviate_grpc_url", "WEAVIATE_GRPC_URL"),
        description="gRPC address of the external Weaviate; default: same host, port 50051.",
    )
    weaviate_api_key: SecretStr | None = Field(
        default=None, validation_alias=_alias("weaviate_api_key", "WEAVIATE_API_KEY")
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
    replication_factor: int = 1

    # --- ingestion ---------------------------------------------------------------------------
    embedding_model: str | None = Field(
        default=None,
        description="Path (or offline cache name) of a sentence-transformers model; "
        "default: the packaged all-MiniLM-L6-v2.",
    )
    embedding_threads: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    embedding_batch_size: int = 32
    chunk_max_chars: int = 1500
    chunk_new_after_chars: int = 1000
    chunk_combine_under_chars: int = 300
    default_groups: tuple[str, ...] = ("employees",)
    default_sensitivity: Sensitivity = Sensitivity.INTERNAL
    import_batch_size: int = 100

    # --- identity ----------------------------------------------------------------------------
    users_file: Path | None = Field(
        default=None, description="YAML mapping user names (and e-mails) to groups."
    )

    # --- retrieval ---------------------------------------------------------------------------
    top_k: int = 5
    alpha: float = 0.5
    score_threshold: float = Field(
        default=0.25,
        description="Drop hits whose cosine similarity to the query is below this. 0.25 suits "
        "all-MiniLM-L6-v2 (bench/retrieval_latency.py measures it); re-measure for another model.",
    )

    # --- local small model (slm) ----------------------------------------------------------------
    slm_model_path: Path | None = Field(
        default=None, description="GGUF file; default: the packaged Gemma 3 270M."
    )
    slm_prompt_format: str = Field(
        default="auto", description="auto | completion (few-shot) | chat (the GGUF's template)"
    )
    slm_n_ctx: int = 4096
    slm_threads: int = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 2) // 2),
        description="llama.cpp threads; half the cores, since it spin-waits when oversubscribed",
    )
    slm_max_tokens: int = 160

    # --- hosted large model (llm) ----------------------------------------------------------------
    llm_base_url: str | None = Field(
        default=None, validation_alias=_alias("llm_base_url", "OPENAI_BASE_URL")
    )
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = Field(
        default=None, validation_alias=_alias("llm_api_key", "OPENAI_API_KEY")
    )
    llm_timeout_s: float = 60.0
    llm_max_retries: int = 2
    llm_max_tokens: int = 400
    llm_price_prompt_per_1k: float = 0.00015
    llm_price_completion_per_1k: float = 0.0006

    @field_validator(
        "weaviate_url", "weaviate_grpc_url", "weaviate_api_key", "llm_base_url", "llm_api_key",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @property
    def weaviate_data_dir(self) -> Path:
        return self.data_dir / "weaviate"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"
