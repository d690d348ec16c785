"""Helpers shared by the db unit tests: settings under tmp and executable stub scripts."""

from __future__ import annotations

from pathlib import Path

from core.settings import Settings


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Embedded-mode settings with data and cache under ``tmp_path``."""
    values: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "cache_dir": tmp_path / "cache",
        "weaviate_url": None,
        "weaviate_binary": None,
    }
    return Settings(**(values | overrides))  # type: ignore[arg-type]


def script(path: Path, body: str) -> Path:
    """An executable ``/bin/sh`` script at ``path``."""
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path
