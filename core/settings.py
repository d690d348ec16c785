"""One typed settings object, built once at each entry point.

Every field reads from the environment with the ``DOCDUET_`` prefix (for example
``DOCDUET_TOP_K=8``); a few well-known variables are accepted as they are
(``WEAVIATE_URL``, ``WEAVIATE_API_KEY``, ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``).
Secrets are ``SecretStr`` and never printed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.domain import Sensitivity
from core.eval_data import default_eval_data_dir


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback) / "docduet"


def _alias(name: str, *extra: str) -> AliasChoices:
    return AliasChoices(f"DOCDUET_{name.upper()}", *extra)


class Settings(BaseSettings):
    """All of docduet's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="DOCDUET_", extra="ignore", frozen=True, populate_by_name=True
    )

    # --- storage -----------------------------------------------------------------------------
    data_dir: Path = Field(default_factory=lambda: _xdg("XDG_DATA_HOME", ".local/share"))
    cache_dir: Path = Field(default_factory=lambda: _xdg("XDG_CACHE_HOME", ".cache"))
    eval_data: Path = Field(
        default_factory=default_eval_data_dir,
        description="Folder of the public evaluation sets (scifact/, squad2-mini/, handbook-18f/, "
        "formats/) read by docduet eval, the benches and the tests; `make eval-data` fetches them "
        "into it. Default: ../shared/eval beside the checkout when it exists, else "
        "~/.cache/docduet/eval (core/eval_data.py).",
    )

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

    # --- ingestion ---------------------------------------------------------------------------
    embedding_model: str | None = Field(
        default=None,
        description="Path (or offline cache name) of a sentence-transformers model; "
        "default: the packaged all-MiniLM-L6-v2.",
    )
    embedding_threads: int = Field(default_factory=lambda: max(1, os.cpu_count() or 1))
    embedding_batch_size: int = 32
    parse_timeout_s: float = Field(
        default=300.0,
        gt=0,
        description="Longest one file may take to parse; past it the parser is stopped and the "
        "file reported as failed (files are parsed in a worker process).",
    )
    max_file_bytes: int = Field(
        default=100_000_000,
        gt=0,
        description="Largest file ingested (and served by 'Download source'); a larger one is "
        "reported as failed with its size.",
    )
    max_expansion_ratio: float = Field(
        default=20.0,
        gt=0,
        description="Characters of text one byte of a file may become when parsed (any file may "
        "become 100,000); a zip-based file (DOCX, XLSX, PPTX, ODT) may also unpack to at most 5x "
        "this times its size. A file past either is reported as failed (an expansion bomb); "
        "real files measured at most 1 (docs/ingestion-limits.md).",
    )
    max_extracted_chars: int = Field(
        default=10_000_000,
        gt=0,
        description="Most characters of text any one file may become when parsed, whatever its "
        "size; a file past it is reported as failed (about 7,000 chunks).",
    )
    parse_max_memory_mb: int = Field(
        default=2048,
        ge=0,
        description="Memory (address space, RLIMIT_AS) the parser worker may add to what it holds "
        "once started; a file that needs more is reported as failed and the next file gets a "
        "fresh worker. 0: no cap.",
    )
    corpus_root: Path | None = Field(
        default=None,
        description="Top folder of the documents: _access.yaml and .docduetignore files are looked "
        "up from here down to each file when it holds the PATH ingested; unset (or not holding it): "
        "from that PATH down, and _access.yaml files above it may only narrow access.",
    )
    chunk_max_chars: int = Field(
        default=1500,
        description="Hard size of the title/section chunks in characters, before the token split.",
    )
    chunk_new_after_chars: int = 1000
    chunk_combine_under_chars: int = 300
    chunk_max_tokens: int | None = Field(
        default=None,
        ge=1,
        description="Most embedder tokens in one chunk; longer chunks are split on sentence and word "
        "boundaries. Unset: what the embedding model reads (its max_seq_length less special tokens, "
        "254 for all-MiniLM-L6-v2); a larger value is capped at that.",
    )
    chunk_overlap_tokens: int = Field(
        default=32,
        ge=0,
        description="Embedder tokens shared by consecutive pieces of a split chunk (whole sentences "
        "that fit; at most a quarter of a chunk).",
    )
    piece_max_tokens: int = Field(
        default=48,
        ge=8,
        description="Embedder tokens in one piece: each chunk's sentences are grouped into pieces of "
        "at most this size and every piece gets a vector of its own, so a passage is found by its "
        "best sentence as well as by its whole text. Changing it re-embeds every file at the next ingest.",
    )
    piece_vectors: Literal["separate", "late"] = Field(
        default="separate",
        description="How the piece vectors are made: 'separate' encodes every piece as a text of "
        "its own (the pieces' tokens again, in short texts); 'late' pools each piece's tokens from "
        "the chunk's own forward pass (one encode per chunk, needs a fast tokenizer), which suits "
        "models trained for it: with all-MiniLM-L6-v2 a late piece keeps little of its own meaning "
        "(docs/performance.md). Changing it re-embeds every file at the next ingest.",
    )
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
    piece_score_threshold: float = Field(
        default=0.4,
        description="Keep a hit whose whole text is below score_threshold when one of its pieces "
        "(piece_max_tokens) is at least this similar. Short pieces score higher against any query, "
        "so they need a higher floor: 0.4 suits all-MiniLM-L6-v2 with 48-token pieces "
        "(bench/retrieval_latency.py); re-measure for another model or piece size.",
    )

    # --- generators (chat/generators/default.yaml lists the default ones) -------------------------
    generators_file: Path | None = Field(
        default=None,
        description="YAML file listing the generators (id, kind, label, on_premises, "
        "max_sensitivity, options); default: the packaged chat/generators/default.yaml.",
    )

    # --- the default small local model (generator `slm`) ------------------------------------------
    slm_model_path: str | None = Field(
        default=None,
        description="GGUF file path or packaged model name; default: qwen2.5-coder-0.5b-instruct.",
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
    slm_repeat_penalty: float = Field(
        default=1.1, description="llama.cpp repeat penalty; stops small models' loops"
    )
    slm_max_passages: int = Field(
        default=3,
        ge=1,
        description="Best passages the local model reads (the hosted one reads all top_k): a "
        "270M model answers better, and starts sooner, from fewer of them.",
    )

    # --- the default larger local model (generator `slm-large`) ----------------------------------
    slm_large_model_path: str | None = Field(
        default=None,
        description="GGUF file path or packaged model name; default: qwen2.5-coder-1.5b-instruct.",
    )
    slm_large_enabled: bool = Field(
        default=True, description="Show the larger local model as a column (false on small machines)."
    )
    slm_large_threads: int = Field(
        default_factory=lambda: max(1, (os.cpu_count() or 2) // 2),
        description="llama.cpp threads of the larger local model.",
    )
    slm_large_max_passages: int = Field(default=4, ge=1)

    # --- hosted large model (llm) ----------------------------------------------------------------
    llm_base_url: str | None = Field(
        default=None, validation_alias=_alias("llm_base_url", "OPENAI_BASE_URL")
    )
    llm_model: str = "gpt-4o-mini"
    llm_api_key: SecretStr | None = Field(
        default=None, validation_alias=_alias("llm_api_key", "OPENAI_API_KEY")
    )
    llm_max_sensitivity: Sensitivity = Field(
        default=Sensitivity.INTERNAL,
        description="Most sensitive text the hosted model may receive (public, internal, "
        "confidential); passages above it stay on the premises.",
    )
    llm_timeout_s: float = Field(
        default=60.0, gt=0, description="Longest wait for a connection or any read from it."
    )
    llm_first_token_timeout_s: float = Field(
        default=60.0, gt=0, description="Longest wait for the first piece of an answer's text."
    )
    llm_total_timeout_s: float = Field(
        default=300.0, gt=0, description="Deadline for one whole answer, retries included."
    )
    llm_max_retries: int = Field(
        default=2, ge=0, le=10, description="Retries before any text arrived (never after)."
    )
    llm_max_retry_wait_s: float = Field(
        default=30.0, ge=0, description="Longest Retry-After honoured; a longer one fails at once."
    )
    llm_max_tokens: int = 400
    llm_price_prompt_per_1k: float = 0.00015
    llm_price_completion_per_1k: float = 0.0006

    # --- web chat (ui) ---------------------------------------------------------------------------
    # How people sign in (ui/auth.py, docs/web-chat.md): OpenID Connect, a trusted proxy header,
    # or (loopback only, explicitly enabled) the demo picker. `docduet ui` refuses to listen
    # beyond loopback with none of them.
    ui_user_header: str | None = Field(
        default=None,
        description="Reverse-proxy header that names the signed-in user (user name or e-mail from "
        "the users file), e.g. X-Forwarded-User; honoured only on connections from "
        "ui_trusted_proxies and only when it appears exactly once.",
    )
    ui_trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Addresses or networks (comma list, e.g. 10.0.0.5,10.1.0.0/16) of the proxies "
        "whose ui_user_header is believed; required with ui_user_header.",
    )
    ui_demo_signin: bool = Field(
        default=False,
        description="Demo only: a sidebar picker of every users-file user (anyone can pick anyone). "
        "Refused unless docduet ui listens on loopback.",
    )
    oidc_server_metadata_url: str | None = Field(
        default=None,
        description="OpenID Connect discovery URL (…/.well-known/openid-configuration); with "
        "oidc_client_id and oidc_client_secret it turns on real sign-in (st.login).",
    )
    oidc_client_id: str | None = None
    oidc_client_secret: SecretStr | None = None
    oidc_redirect_uri: str | None = Field(
        default=None,
        description="This app's callback as the provider knows it (https://chat.example/oauth2callback); "
        "default http://<host>:<port>/oauth2callback of docduet ui.",
    )
    oidc_cookie_secret: SecretStr | None = Field(
        default=None,
        description="Signs the sign-in cookie; set the same long random value on every replica. "
        "Unset: a random one per start (everyone signs in again after a restart).",
    )
    oidc_scope: str = Field(default="openid email profile", description="Scopes asked for.")
    oidc_prompt: str = Field(default="select_account", description="OIDC prompt parameter.")
    oidc_user_claim: str = Field(
        default="email",
        description="ID-token claim naming the user, a label only (falls back to preferred_username, "
        "email, sub); the users file matches by oidc_sub or a verified e-mail (docs/identity.md).",
    )
    oidc_groups_claim: str = Field(default="groups", description="ID-token claim listing the groups.")
    oidc_group_map: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict,
        description="Provider group -> docduet group (comma list idp=docduet or a JSON object); only "
        "mapped groups count. Empty: the token's groups are ignored (users-file groups only).",
    )
    ui_session_max_s: float = Field(
        default=8 * 3600.0,
        gt=0,
        description="Longest a web sign-in lasts; it also ends when the provider's ID token expires.",
    )
    rate_limit_questions: int = Field(
        default=30,
        ge=0,
        description="Questions one user may ask per rate_limit_window_s in the web chat and in Slack "
        "(0: no limit).",
    )
    rate_limit_downloads: int = Field(
        default=60,
        ge=0,
        description="Source files one user may download per rate_limit_window_s in the web chat "
        "(0: no limit).",
    )
    rate_limit_window_s: float = Field(default=600.0, gt=0)
    admin_group: str = Field(default="admins", description="Members see the web admin page.")

    @field_validator(
        "ui_user_header", "oidc_server_metadata_url", "oidc_client_id", "oidc_client_secret",
        "oidc_redirect_uri", "oidc_cookie_secret", mode="before",
    )  # fmt: skip
    @classmethod
    def _blank_header_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("ui_trusted_proxies", "trusted_links", mode="before")
    @classmethod
    def _comma_list(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return value

    @field_validator("oidc_group_map", mode="before")
    @classmethod
    def _group_map(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        if value.strip().startswith("{"):
            return json.loads(value)
        pairs = [p.split("=", 1) for p in value.split(",") if p.strip()]
        if any(len(p) != 2 for p in pairs):
            raise ValueError("write DOCDUET_OIDC_GROUP_MAP as idp-group=docduet-group,… or a JSON object")
        return {k.strip(): v.strip() for k, v in pairs}

    # --- Slack bot (slackbot/, docs/slack.md) ---------------------------------------------------
    slack_mode: Literal["socket", "http"] = Field(
        default="socket",
        description="socket: Socket Mode over an outbound WebSocket (needs SLACK_APP_TOKEN, no public "
        "URL); http: Slack posts events to slack_host:slack_port (needs SLACK_SIGNING_SECRET).",
    )
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=_alias("slack_bot_token", "SLACK_BOT_TOKEN")
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=_alias("slack_app_token", "SLACK_APP_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=_alias("slack_signing_secret", "SLACK_SIGNING_SECRET")
    )
    slack_api_url: str | None = Field(
        default=None,
        description="Slack Web API base URL; default https://slack.com/api/ (GovSlack: "
        "https://slack-gov.com/api/).",
    )
    slack_host: str = Field(default="127.0.0.1", description="HTTP mode: address to listen on.")
    slack_port: int = Field(default=3000, description="HTTP mode: port to listen on.")
    slack_path: str = Field(default="/slack/events", description="HTTP mode: Request URL path.")
    slack_generators: str = Field(
        default="all",
        description="Who answers in Slack: all (every enabled generator, one block each) or a "
        "comma list of generator ids, e.g. slm.",
    )
    slack_dedup_ttl_s: float = Field(
        default=900.0, description="Remember delivered events this long so Slack retries answer once."
    )
    slack_user_cache_s: float = Field(
        default=300.0, description="Cache a Slack user's docduet groups this long."
    )
    slack_working_reaction: str = Field(
        default="hourglass_flowing_sand",
        description="Emoji the bot puts on a question while it answers (removed after); empty: none.",
    )
    source_url_base: str | None = Field(
        default=None,
        description="Links for cited sources: this URL + the document's path below its ingest root "
        "(e.g. https://intranet.example/docs/). Unset: titles without links.",
    )
    trusted_links: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="Web addresses the organisation vouches for (comma list of hosts, which cover "
        "their subdomains, or URL prefixes, e.g. corvala.example,https://intranet.example/it/). "
        "An answer's link elsewhere is flagged 'from a document, not verified' (source_url_base "
        "is always trusted).",
    )

    @field_validator(
        "weaviate_url", "weaviate_grpc_url", "weaviate_api_key", "llm_base_url", "llm_api_key",
        "slack_bot_token", "slack_app_token", "slack_signing_secret", "slack_api_url", "source_url_base",
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
