"""The generators file's cascade entries and selective-answering fields (issue 23): checked when the
file is loaded, with errors that say what to fix; the columns the answer service is given."""

from __future__ import annotations

from pathlib import Path

import pytest
from cascade_parts import CountingGenerator

from chat.cascade import CascadeSlot
from chat.columns import build_slots, step_ids, to_build
from chat.generators import enabled_specs, load_specs
from chat.generators.spec import cascade_options
from chat.selective import Gate
from chat.slots import GeneratorSlot
from core.domain import Sensitivity
from core.errors import ConfigError
from core.settings import Settings

STEPS = """
generators:
  - id: small
    kind: llama_cpp
    model: tiny.gguf
    on_premises: true
    max_sensitivity: confidential
    min_confidence: 0.6
    below: abstain
  - id: big
    kind: llama_cpp
    enabled: false
    model: big.gguf
    on_premises: true
    max_sensitivity: confidential
  - id: hosted
    kind: openai_compatible
    base_url: http://api.example/v1
    on_premises: false
    max_sensitivity: internal
"""


def settings_with(tmp_path: Path, cascade: str) -> Settings:
    path = tmp_path / "generators.yaml"
    path.write_text(STEPS + cascade)
    return Settings(generators_file=path)  # type: ignore[call-arg]


CASCADE = """
  - id: pick
    label: Cascade
    kind: cascade
    steps: [small, big, hosted]
    thresholds: [0.6, 0.7]
"""


def test_a_cascade_runs_off_premises_when_a_step_does_and_reads_what_its_steps_may(tmp_path: Path) -> None:
    specs = load_specs(settings_with(tmp_path, CASCADE))
    pick = specs[-1]
    assert pick.is_cascade and not pick.on_premises and pick.max_sensitivity is Sensitivity.CONFIDENTIAL
    options = cascade_options(pick)
    assert options.steps == ("small", "big", "hosted") and options.thresholds == (0.6, 0.7)
    assert (specs[0].min_confidence, specs[0].below) == (0.6, "abstain")
    assert (specs[1].min_confidence, specs[1].below) == (None, "flag")
    local_only = load_specs(
        settings_with(tmp_path, CASCADE.replace("big, hosted", "big").replace(", 0.7", ""))
    )
    assert local_only[-1].on_premises


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("big, hosted", "big, nope"), r"unknown step\(s\) 'nope'; steps are ids of other generators"),
        (("[0.6, 0.7]", "[0.6]"), r"3 steps and 1 threshold\(s\); give one per step but the last \(2\)"),
        (("[0.6, 0.7]", "[0.6, 1.5]"), "less than or equal to 1"),
        (("big, hosted", "big, small"), "lists a step twice"),
        (
            ("kind: cascade", "kind: cascade\n    on_premises: true"),
            "sets on_premises; each step's own entry",
        ),
        (("thresholds:", "threshold:"), "threshold"),
        (("steps: [small, big, hosted]", "steps: [small]"), "at least 2"),
    ],
)
def test_a_wrong_cascade_is_refused_with_what_to_fix(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_specs(settings_with(tmp_path, CASCADE.replace(*change)))


def test_a_cascade_inside_a_cascade_is_refused(tmp_path: Path) -> None:
    outer = "\n  - id: outer\n    kind: cascade\n    steps: [pick, hosted]\n    thresholds: [0.5]\n"
    with pytest.raises(ConfigError, match="has the cascade 'pick' as a step; a cascade inside a cascade"):
        load_specs(settings_with(tmp_path, CASCADE + outer))


@pytest.mark.parametrize(("field", "value"), [("min_confidence", "1.2"), ("below", "hide")])
def test_selective_fields_are_checked(tmp_path: Path, field: str, value: str) -> None:
    text = CASCADE.replace("kind: cascade", f"kind: cascade\n    {field}: {value}")
    with pytest.raises(ConfigError, match=field):
        load_specs(settings_with(tmp_path, text))


def test_a_cascades_steps_are_built_only_when_enabled_and_its_slots_share_the_columns(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, CASCADE)
    columns = [s for s in enabled_specs(settings) if s.id in ("small", "pick")]
    steps = [s for s in load_specs(settings) if s.id in step_ids(columns)]
    assert [s.id for s in steps] == ["big", "hosted"]  # small is a column already
    assert [s.id for s in to_build(columns, steps)] == ["small", "hosted"]  # big is disabled: not loaded
    ready = {
        "small": CountingGenerator("small", "x"),
        "hosted": CountingGenerator("hosted", "x", off_premises=True),
    }
    small, pick = build_slots(columns, steps, ready, {})
    assert isinstance(small, GeneratorSlot) and small.gate == Gate(0.6, "abstain")
    assert isinstance(pick, CascadeSlot) and pick.steps[0] is small and pick.thresholds == (0.6, 0.7)
    assert pick.steps[1].unavailable == "big is disabled in the generators file"
    assert pick.title == "Cascade" and pick.gate is None


def test_the_default_file_has_a_cascade_column_the_web_chat_shows(tmp_path: Path) -> None:
    settings = Settings()
    specs = load_specs(settings)
    pick = next(s for s in specs if s.is_cascade)
    assert cascade_options(pick).steps == ("slm", "slm-large", "llm")
    shown = [s.id for s in enabled_specs(settings)][:4]  # the web chat's columns
    assert pick.id in shown
