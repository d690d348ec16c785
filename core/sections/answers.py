"""How questions are answered: retrieval, the generators, and the links an answer may show."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from core.domain import Sensitivity
from core.sections.base import Section, alias, comma_list, empty_is_unset, half_the_cores


class RetrievalSettings(Section):
    """Hybrid search: how many hits, how keyword and vector scores mix, which hits are too weak."""

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


class GenerationSettings(Section):
    """The generators file, and the values its ``${name}`` references read.

    Only ``generators_file`` is read by code; every other field exists for a ``${name}`` in
    ``chat/generators/default.yaml``. Unset (None), a reference is left out of the generator's
    entry, so the kind's options model (``LlamaCppOptions``, ``OpenAICompatibleOptions``) or the
    entry's ``${name:-default}`` gives the one default.
    """

    generators_file: Path | None = Field(
        default=None,
        description="YAML file listing the generators (id, kind, label, on_premises, "
        "max_sensitivity, options); default: the packaged chat/generators/default.yaml.",
    )

    # the default small local model (generator `slm`)
    slm_model_path: str | None = Field(
        default=None,
        description="GGUF file path or packaged model name of the `slm` generator.",
    )
    slm_prompt_format: str | None = Field(
        default=None, description="auto | completion (few-shot) | chat (the GGUF's template)"
    )
    slm_n_ctx: int | None = None
    slm_threads: int = Field(
        default_factory=half_the_cores,
        description="llama.cpp threads; half the cores, since it spin-waits when oversubscribed",
    )
    slm_max_tokens: int | None = None
    slm_repeat_penalty: float | None = Field(
        default=None, description="llama.cpp repeat penalty; stops small models' loops"
    )
    slm_max_passages: int | None = Field(
        default=None,
        ge=1,
        description="Best passages the local model reads (the hosted one reads all top_k): a "
        "270M model answers better, and starts sooner, from fewer of them.",
    )
    slm_context_tokens: int | None = Field(
        default=None,
        description="About how many tokens of passage text the local model reads: each passage "
        "cut to the sentences that best answer the question (chat/focus.py); at least 48, or 0 for "
        "whole passages. Unset: whole passages. Measured in docs/performance.md before it becomes a default.",
    )

    # the default larger local model (generator `slm-large`)
    slm_large_model_path: str | None = Field(
        default=None,
        description="GGUF file path or packaged model name of the `slm-large` generator.",
    )
    slm_large_enabled: bool | None = Field(
        default=None, description="Show the larger local model as a column (false on small machines)."
    )
    slm_large_threads: int = Field(
        default_factory=half_the_cores, description="llama.cpp threads of the larger local model."
    )
    slm_large_max_passages: int | None = Field(default=None, ge=1)
    slm_large_context_tokens: int | None = Field(
        default=None, description="slm_context_tokens for the larger local model."
    )

    # the hosted large model (generator `llm`)
    llm_base_url: str | None = Field(default=None, validation_alias=alias("llm_base_url", "OPENAI_BASE_URL"))
    llm_model: str | None = None
    llm_api_key: SecretStr | None = Field(
        default=None, validation_alias=alias("llm_api_key", "OPENAI_API_KEY")
    )
    llm_max_sensitivity: Sensitivity | None = Field(
        default=None,
        description="Most sensitive text the hosted model may receive (public, internal, "
        "confidential); passages above it stay on the premises.",
    )
    llm_timeout_s: float | None = Field(
        default=None, gt=0, description="Longest wait for a connection or any read from it."
    )
    llm_first_token_timeout_s: float | None = Field(
        default=None, gt=0, description="Longest wait for the first piece of an answer's text."
    )
    llm_total_timeout_s: float | None = Field(
        default=None, gt=0, description="Deadline for one whole answer, retries included."
    )
    llm_max_retries: int | None = Field(
        default=None, ge=0, le=10, description="Retries before any text arrived (never after)."
    )
    llm_max_retry_wait_s: float | None = Field(
        default=None, ge=0, description="Longest Retry-After honoured; a longer one fails at once."
    )
    llm_max_tokens: int | None = None
    llm_price_prompt_per_1k: float | None = None
    llm_price_completion_per_1k: float | None = None

    _unset = field_validator("llm_base_url", "llm_api_key", mode="before")(empty_is_unset)


class LinkSettings(Section):
    """The links an answer shows: to its cited sources, and which others are vouched for."""

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

    _unset = field_validator("source_url_base", mode="before")(empty_is_unset)
    _list = field_validator("trusted_links", mode="before")(comma_list)
