"""bench/levers.yaml, the generators file issue 24's levers are measured with, stays loadable: each
variant differs from its model's "before" entry in the levers its name says, and nothing else."""

from __future__ import annotations

from pathlib import Path

from backends.llama_cpp.options import LlamaCppOptions
from chat.generators import load_specs
from core.settings import Settings

LEVERS = Path(__file__).resolve().parents[2] / "bench" / "levers.yaml"


def test_each_variant_changes_only_the_levers_its_name_says() -> None:
    specs = {s.id: s for s in load_specs(Settings(generators_file=LEVERS))}
    assert list(specs) == [
        "slm",
        "slm-fa",
        "slm-iq4",
        "slm-c300",
        "slm-q4c300",
        "slm-large",
        "slm-large-c300",
        "slm-large-fa",
    ]
    options = {name: LlamaCppOptions(**spec.options).model_dump() for name, spec in specs.items()}
    assert specs["slm"].context_tokens is None and specs["slm-large"].context_tokens is None
    for name in ("slm-c300", "slm-q4c300", "slm-large-c300"):
        assert specs[name].context_tokens == 300
    assert options["slm-c300"] == options["slm"]
    assert options["slm-q4c300"] == {**options["slm"], "quantize": "q4_0"}
    assert options["slm-large-c300"] == {**options["slm-large"], "flash_attn": True}
    assert options["slm-fa"] == {**options["slm"], "flash_attn": True}
    assert options["slm-large-fa"] == {**options["slm-large"], "flash_attn": True}
    assert options["slm-iq4"] == {**options["slm-fa"], "quantize": "iq4_nl"}
    assert specs["slm-fa"].context_tokens is None and specs["slm-large-fa"].context_tokens is None
    assert not options["slm"]["flash_attn"] and not options["slm-large"]["flash_attn"]


def test_the_flash_attention_entries_are_the_shipped_defaults() -> None:
    """slm-fa and slm-large-fa measure the defaults as shipped: the same options and prompt as
    chat/generators/default.yaml's slm and slm-large, apart from the label."""
    levers = {s.id: s for s in load_specs(Settings(generators_file=LEVERS))}
    shipped = {s.id: s for s in load_specs(Settings())}
    for lever, default in (("slm-fa", "slm"), ("slm-large-fa", "slm-large")):
        ours, theirs = levers[lever], shipped[default]
        assert LlamaCppOptions(**ours.options) == LlamaCppOptions(**theirs.options)
        for field in ("kind", "max_passages", "context_tokens", "max_tokens", "max_sensitivity"):
            assert getattr(ours, field) == getattr(theirs, field), field
