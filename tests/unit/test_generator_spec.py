"""The generators file: any number of generators, settings references, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from chat.generators import enabled_specs, is_enabled, load_specs
from chat.generators.spec import GeneratorSpec
from core.domain import Sensitivity
from core.errors import ConfigError
from core.settings import Settings

FOUR = """
generators:
  - id: tiny
    kind: llama_cpp
    model: ${slm_model_path:-smollm2-135m-instruct}
    threads: ${slm_threads}
    on_premises: true
    max_sensitivity: confidential
  - id: own-vllm
    label: Our vLLM
    kind: openai_compatible
    base_url: http://vllm.internal:8000/v1
    model: qwen-72b
    on_premises: true
    max_sensitivity: internal
  - id: hosted
    kind: openai_compatible
    enabled: auto
    api_key_env: DOCDUET_TEST_KEY
    on_premises: false
    max_sensitivity: public
  - id: "off"
    kind: llama_cpp
    enabled: false
    model: gemma-3-270m
    on_premises: true
    max_sensitivity: confidential
"""


def settings_with(tmp_path: Path, text: str, **values: object) -> Settings:
    path = tmp_path / "generators.yaml"
    path.write_text(text)
    return Settings(generators_file=path, **values)  # type: ignore[arg-type]


def test_any_number_of_generators_in_file_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOCDUET_TEST_KEY", raising=False)
    settings = settings_with(tmp_path, FOUR, slm_threads=3)
    specs = load_specs(settings)
    assert [s.id for s in specs] == ["tiny", "own-vllm", "hosted", "off"]
    assert specs[0].options == {"model": "smollm2-135m-instruct", "threads": 3}
    assert specs[1].title == "Our vLLM" and specs[1].max_sensitivity is Sensitivity.INTERNAL
    assert [s.id for s in enabled_specs(settings)] == ["tiny", "own-vllm"]
    monkeypatch.setenv("DOCDUET_TEST_KEY", "sk-1")
    assert [s.id for s in enabled_specs(settings)] == ["tiny", "own-vllm", "hosted"]


def test_a_setting_overrides_the_default_of_a_reference(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, FOUR, slm_model_path="/models/mine.gguf")
    assert load_specs(settings)[0].options["model"] == "/models/mine.gguf"


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("generators: []", "expected `generators:`"),
        ("nothing: 1", "expected `generators:`"),
        ("generators: [1]", "each generator is a mapping"),
        (
            "generators:\n  - {id: a, kind: llama_cpp, on_premises: true, max_sensitivity: secret}",
            "generator 'a' is invalid",
        ),
        (
            "generators:\n  - {id: A B, kind: x, on_premises: true, max_sensitivity: public}",
            "invalid",
        ),
        (
            "generators:\n  - {id: a, kind: x, on_premises: true, max_sensitivity: public, m: '${nope}'}",
            r"\$\{nope\}, which is not a docduet setting",
        ),
        (
            "generators:\n  - {id: a, kind: x, on_premises: true, max_sensitivity: public}\n"
            "  - {id: a, kind: x, on_premises: true, max_sensitivity: public}",
            "must be unique",
        ),
        ("generators: [", "cannot read the generators file"),
        (
            "generators:\n  - {id: off, kind: x, on_premises: true, max_sensitivity: public}",
            "generator id False is not text; quote it",
        ),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        load_specs(settings_with(tmp_path, text))


def test_a_missing_file_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="DOCDUET_GENERATORS_FILE"):
        load_specs(Settings(generators_file=tmp_path / "nope.yaml"))


def test_enabled_accepts_only_true_false_or_auto() -> None:
    with pytest.raises(ValueError, match="true, false or auto"):
        GeneratorSpec(id="a", kind="x", on_premises=True, max_sensitivity="public", enabled="maybe")
    spec = GeneratorSpec(id="a", kind="x", on_premises=False, max_sensitivity="public", enabled="auto")
    assert not is_enabled(spec)
