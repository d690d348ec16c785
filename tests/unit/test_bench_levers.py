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
    assert list(specs) == ["slm", "slm-c300", "slm-q4c300", "slm-large", "slm-large-c300"]
    options = {name: LlamaCppOptions(**spec.options).model_dump() for name, spec in specs.items()}
    assert specs["slm"].context_tokens is None and specs["slm-large"].context_tokens is None
    for name in ("slm-c300", "slm-q4c300", "slm-large-c300"):
        assert specs[name].context_tokens == 300
    assert options["slm-c300"] == options["slm"]
    assert options["slm-q4c300"] == {**options["slm"], "quantize": "q4_0"}
    assert options["slm-large-c300"] == {**options["slm-large"], "flash_attn": True}
    assert not options["slm"]["flash_attn"] and not options["slm-large"]["flash_attn"]
