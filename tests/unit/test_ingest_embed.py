"""Embedder configuration that needs no model load: packaged path, bad paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from backends.sentence_transformers import SentenceTransformerEmbedder, default_embedding_model_path
from core.errors import ConfigError
from core.settings import Settings


def test_the_packaged_model_ships_inside_the_wheel() -> None:
    path = default_embedding_model_path()
    assert path.is_absolute()
    assert (path / "modules.json").is_file() and (path / "model.safetensors").is_file()


@pytest.mark.parametrize("kind", ["missing", "empty", "file"])
def test_a_bad_model_path_is_a_config_error_saying_what_to_do(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "model"
    if kind == "empty":
        target.mkdir()
    elif kind == "file":
        target.write_text("not a model")
    with pytest.raises(ConfigError) as caught:
        SentenceTransformerEmbedder.from_settings(Settings(embedding_model=str(target)))
    message = str(caught.value)
    assert str(target) in message and "DOCDUET_EMBEDDING_MODEL" in message
