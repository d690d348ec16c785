"""Settings in sections: every environment variable name of the flat class still reads the same
field, flat keyword names reach their section, and the generators' defaults are written once."""

from __future__ import annotations

import importlib.util
import types
import typing
from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import AliasChoices, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import NoDecode

from backends.llama_cpp.generator import LlamaCppOptions
from backends.openai_compatible.generator import OpenAICompatibleOptions
from chat.generators.spec import load_specs
from core.domain import Sensitivity
from core.eval_data import REPO_ROOT as REPO
from core.settings import RetrievalSettings, Settings, WeaviateSettings, section_of

# Every variable the flat Settings (before the sections) read; none may be lost.
FLAT_NAMES = {
    "DOCDUET_ADMIN_GROUP", "DOCDUET_ALPHA", "DOCDUET_CACHE_DIR", "DOCDUET_CHUNK_COMBINE_UNDER_CHARS",
    "DOCDUET_CHUNK_MAX_CHARS", "DOCDUET_CHUNK_MAX_TOKENS", "DOCDUET_CHUNK_NEW_AFTER_CHARS",
    "DOCDUET_CHUNK_OVERLAP_TOKENS", "DOCDUET_COLLECTION", "DOCDUET_CONSISTENCY_READ",
    "DOCDUET_CONSISTENCY_WRITE", "DOCDUET_CORPUS_ROOT", "DOCDUET_DATA_DIR", "DOCDUET_DEFAULT_GROUPS",
    "DOCDUET_DEFAULT_SENSITIVITY", "DOCDUET_EMBEDDING_BATCH_SIZE", "DOCDUET_EMBEDDING_MODEL",
    "DOCDUET_EMBEDDING_THREADS", "DOCDUET_EVAL_DATA", "DOCDUET_GENERATORS_FILE", "DOCDUET_LLM_API_KEY",
    "DOCDUET_LLM_BASE_URL", "DOCDUET_LLM_FIRST_TOKEN_TIMEOUT_S", "DOCDUET_LLM_MAX_RETRIES",
    "DOCDUET_LLM_MAX_RETRY_WAIT_S", "DOCDUET_LLM_MAX_SENSITIVITY", "DOCDUET_LLM_MAX_TOKENS",
    "DOCDUET_LLM_MODEL", "DOCDUET_LLM_PRICE_COMPLETION_PER_1K", "DOCDUET_LLM_PRICE_PROMPT_PER_1K",
    "DOCDUET_LLM_TIMEOUT_S", "DOCDUET_LLM_TOTAL_TIMEOUT_S", "DOCDUET_MAX_EXPANSION_RATIO",
    "DOCDUET_MAX_EXTRACTED_CHARS", "DOCDUET_MAX_FILE_BYTES", "DOCDUET_OIDC_CLIENT_ID",
    "DOCDUET_OIDC_CLIENT_SECRET", "DOCDUET_OIDC_COOKIE_SECRET", "DOCDUET_OIDC_GROUPS_CLAIM",
    "DOCDUET_OIDC_GROUP_MAP", "DOCDUET_OIDC_PROMPT", "DOCDUET_OIDC_REDIRECT_URI", "DOCDUET_OIDC_SCOPE",
    "DOCDUET_OIDC_SERVER_METADATA_URL", "DOCDUET_OIDC_USER_CLAIM", "DOCDUET_PARSE_MAX_MEMORY_MB",
    "DOCDUET_PARSE_TIMEOUT_S", "DOCDUET_PIECE_MAX_TOKENS", "DOCDUET_PIECE_SCORE_THRESHOLD",
    "DOCDUET_PIECE_VECTORS", "DOCDUET_RATE_LIMIT_DOWNLOADS", "DOCDUET_RATE_LIMIT_QUESTIONS",
    "DOCDUET_RATE_LIMIT_WINDOW_S", "DOCDUET_REPLICATION_FACTOR", "DOCDUET_SCORE_THRESHOLD",
    "DOCDUET_SLACK_API_URL", "DOCDUET_SLACK_APP_TOKEN", "DOCDUET_SLACK_BOT_TOKEN",
    "DOCDUET_SLACK_DEDUP_TTL_S", "DOCDUET_SLACK_GENERATORS", "DOCDUET_SLACK_HOST", "DOCDUET_SLACK_MODE",
    "DOCDUET_SLACK_PATH", "DOCDUET_SLACK_PORT", "DOCDUET_SLACK_SIGNING_SECRET",
    "DOCDUET_SLACK_USER_CACHE_S", "DOCDUET_SLACK_WORKING_REACTION", "DOCDUET_SLM_LARGE_ENABLED",
    "DOCDUET_SLM_LARGE_MAX_PASSAGES", "DOCDUET_SLM_LARGE_MODEL_PATH", "DOCDUET_SLM_LARGE_THREADS",
    "DOCDUET_SLM_MAX_PASSAGES", "DOCDUET_SLM_MAX_TOKENS", "DOCDUET_SLM_MODEL_PATH", "DOCDUET_SLM_N_CTX",
    "DOCDUET_SLM_PROMPT_FORMAT", "DOCDUET_SLM_REPEAT_PENALTY", "DOCDUET_SLM_THREADS",
    "DOCDUET_SOURCE_URL_BASE", "DOCDUET_TOP_K", "DOCDUET_TRUSTED_LINKS", "DOCDUET_UI_DEMO_SIGNIN",
    "DOCDUET_UI_SESSION_MAX_S", "DOCDUET_UI_TRUSTED_PROXIES", "DOCDUET_UI_USER_HEADER",
    "DOCDUET_USERS_FILE", "DOCDUET_WEAVIATE_API_KEY", "DOCDUET_WEAVIATE_BINARY",
    "DOCDUET_WEAVIATE_BUILD_TIMEOUT_S", "DOCDUET_WEAVIATE_GRPC_PORT", "DOCDUET_WEAVIATE_GRPC_URL",
    "DOCDUET_WEAVIATE_HOST", "DOCDUET_WEAVIATE_HTTP_PORT", "DOCDUET_WEAVIATE_NODES",
    "DOCDUET_WEAVIATE_STARTUP_TIMEOUT_S", "DOCDUET_WEAVIATE_URL", "DOCDUET_WEAVIATE_VERSION",
    "DOCDUET_WEAVIATE_WRITE_RETRIES", "OPENAI_API_KEY", "OPENAI_BASE_URL", "SLACK_APP_TOKEN",
    "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "WEAVIATE_API_KEY", "WEAVIATE_GRPC_URL", "WEAVIATE_URL",
}  # fmt: skip
FLAT_NAMES |= {"DOCDUET_SLM_CONTEXT_TOKENS", "DOCDUET_SLM_LARGE_CONTEXT_TOKENS"}  # added since (issue 24)
FLAT_NAMES |= {  # added since (issue 25: cost that counts local compute)
    "DOCDUET_COMPUTE_PRICE_CPU_HOUR", "DOCDUET_COMPUTE_PRICE_GPU_HOUR", "DOCDUET_COMPUTE_GPU_GENERATORS",
    "DOCDUET_QUESTIONS_PER_MONTH",
}  # fmt: skip
# added since (issue 26: docduet serve)
FLAT_NAMES |= {"DOCDUET_OIDC_API_AUDIENCE", "DOCDUET_OIDC_API_LEEWAY_S"}


def env_names() -> dict[str, str]:
    """Environment variable -> the flat field name that reads it."""
    names: dict[str, str] = {}
    for name, field in Settings.flat_fields().items():
        alias = field.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [f"DOCDUET_{name.upper()}"]
        names.update({str(c): name for c in choices})
    return names


def sample(field: FieldInfo) -> tuple[str, Any]:
    """A value for the field's variable (as text) and what the field must hold after reading it."""
    kind = field.annotation
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        kind = next(a for a in typing.get_args(kind) if a is not type(None))
    origin = typing.get_origin(kind)
    if origin is Literal:
        return typing.get_args(kind)[-1], typing.get_args(kind)[-1]
    if origin is tuple and NoDecode not in field.metadata:
        return '["a", "b"]', ("a", "b")  # a list without NoDecode is read as JSON
    table: dict[Any, tuple[str, Any]] = {
        Sensitivity: ("public", Sensitivity.PUBLIC), bool: ("true", True), int: ("9", 9),
        float: ("0.75", 0.75), str: ("x-value", "x-value"), Path: ("/srv/x", Path("/srv/x")),
        SecretStr: ("s3cret", "s3cret"), tuple: ("a, b", ("a", "b")), dict: ("a=b", {"a": "b"}),
    }  # fmt: skip
    return table[origin or kind]


def test_every_flat_variable_name_is_still_read() -> None:
    assert set(env_names()) == FLAT_NAMES


@pytest.mark.parametrize("variable", sorted(FLAT_NAMES))
def test_each_variable_sets_its_field_in_its_section(variable: str, monkeypatch: pytest.MonkeyPatch) -> None:
    name = env_names()[variable]
    text, expected = sample(Settings.flat_fields()[name])
    monkeypatch.setenv(variable, text)
    found = Settings().value(name)
    assert (found.get_secret_value() if isinstance(found, SecretStr) else found) == expected
    assert getattr(getattr(Settings(), section_of(name)), name) is not None


def test_well_known_names_land_in_their_sections(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEAVIATE_URL", "http://db:8080")
    monkeypatch.setenv("DOCDUET_TOP_K", "8")
    monkeypatch.setenv("DOCDUET_SLM_THREADS", "3")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-1")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    settings = Settings()
    assert settings.weaviate.weaviate_url == "http://db:8080"
    assert settings.retrieval.top_k == 8
    assert settings.generation.slm_threads == 3
    assert settings.generation.llm_api_key == SecretStr("sk-1")
    assert settings.slack.slack_bot_token == SecretStr("xoxb-1")


def test_flat_keywords_go_to_their_sections_and_the_rest_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DOCDUET_ALPHA", "0.9")
    settings = Settings(top_k=3, data_dir=tmp_path, DOCDUET_LLM_BASE_URL="http://llm:8000/v1")
    assert settings.retrieval == RetrievalSettings(top_k=3, alpha=0.9)
    assert settings.paths.data_dir == tmp_path
    assert settings.generation.llm_base_url == "http://llm:8000/v1"


def test_a_section_can_be_given_whole_or_as_a_mapping() -> None:
    settings = Settings(weaviate=WeaviateSettings(collection="A"), retrieval={"top_k": 2})
    assert settings.weaviate.collection == "A"
    assert settings.retrieval.top_k == 2


def test_unknown_or_doubly_given_settings_are_refused() -> None:
    with pytest.raises(TypeError, match="import_batch_size"):  # read nowhere, so removed
        Settings(import_batch_size=10)
    with pytest.raises(TypeError, match="either as a section or by field"):
        Settings(retrieval=RetrievalSettings(), top_k=3)
    with pytest.raises(AttributeError, match="not a docduet setting"):
        Settings().replace(top_kk=3)


def test_replace_changes_fields_by_flat_name_and_leaves_the_original() -> None:
    base = Settings(top_k=5)
    changed = base.replace(top_k=9, collection="Other")
    assert (changed.retrieval.top_k, changed.weaviate.collection) == (9, "Other")
    assert base.retrieval.top_k == 5
    assert changed.paths == base.paths


def test_blank_variables_are_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEAVIATE_URL", "")
    monkeypatch.setenv("DOCDUET_UI_USER_HEADER", "  ")
    settings = Settings()
    assert settings.weaviate.weaviate_url is None
    assert settings.web.ui_user_header is None


def _options(settings: Settings) -> dict[str, Any]:
    specs = {s.id: s for s in load_specs(settings)}
    return {
        "slm": (specs["slm"], LlamaCppOptions(**specs["slm"].options)),
        "slm-large": (specs["slm-large"], LlamaCppOptions(**specs["slm-large"].options)),
        "llm": (specs["llm"], OpenAICompatibleOptions(**specs["llm"].options)),
    }


def test_the_default_generators_keep_their_defaults_written_once() -> None:
    found = _options(Settings(slm_threads=2, slm_large_threads=2))
    slm, slm_options = found["slm"]
    assert (slm.max_tokens, slm.max_passages, slm.enabled) == (160, 3, True)
    assert (slm_options.n_ctx, slm_options.prompt_format, slm_options.repeat_penalty) == (4096, "auto", 1.1)
    assert found["slm-large"][0].max_passages == 4
    llm, llm_options = found["llm"]
    assert (llm.max_tokens, llm.max_sensitivity) == (400, Sensitivity.INTERNAL)
    assert llm_options.model == "gpt-4o-mini"
    assert (llm_options.timeout_s, llm_options.first_token_timeout_s, llm_options.total_timeout_s) == (
        60.0, 60.0, 300.0,
    )  # fmt: skip
    assert (llm_options.max_retries, llm_options.max_retry_wait_s) == (2, 30.0)
    assert (llm_options.price_prompt_per_1k, llm_options.price_completion_per_1k) == (0.00015, 0.0006)


def test_generation_variables_still_steer_the_default_generators(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "DOCDUET_SLM_THREADS": "3", "DOCDUET_SLM_N_CTX": "2048", "DOCDUET_SLM_MAX_TOKENS": "50",
        "DOCDUET_SLM_LARGE_ENABLED": "false", "DOCDUET_LLM_MODEL": "m", "DOCDUET_LLM_TIMEOUT_S": "5",
        "DOCDUET_LLM_MAX_TOKENS": "70", "DOCDUET_LLM_PRICE_PROMPT_PER_1K": "0",
    }.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    found = _options(Settings())
    assert (found["slm"][1].threads, found["slm"][1].n_ctx, found["slm"][0].max_tokens) == (3, 2048, 50)
    assert found["slm-large"][0].enabled is False
    assert (found["llm"][1].model, found["llm"][1].timeout_s, found["llm"][0].max_tokens) == ("m", 5.0, 70)
    assert found["llm"][1].price_prompt_per_1k == 0.0


def test_the_configuration_page_is_current() -> None:
    spec = importlib.util.spec_from_file_location("settings_doc", REPO / "scripts" / "settings_doc.py")
    assert spec is not None and spec.loader is not None
    doc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(doc)
    assert doc.PAGE.read_text(encoding="utf-8") == doc.page(), "run scripts/settings_doc.py"
