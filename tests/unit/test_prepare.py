"""Set-up's model step (``python -m docduet.prepare``) names every enabled local model's file."""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from docduet.prepare import prepare


def test_prepare_names_the_embedding_model_and_every_enabled_local_generator(tmp_path: Path) -> None:
    model = tmp_path / "own.gguf"
    model.write_bytes(b"GGUF")
    generators = tmp_path / "generators.yaml"
    generators.write_text(
        "generators:\n"
        f"  - {{id: mine, kind: llama_cpp, model: {model}, on_premises: true,"
        " max_sensitivity: confidential}\n"
        "  - {id: hosted, kind: openai_compatible, model: m, base_url: 'http://127.0.0.1:9/v1',"
        " on_premises: false, max_sensitivity: public, enabled: true}\n"
    )
    lines: list[str] = []
    prepare(Settings(generators_file=generators), lines.append)
    assert lines[0].startswith("embedding model: ")
    assert lines[1:] == [f"generator mine: {model}"]
