"""What every settings section shares: the ``DOCDUET_`` prefix, frozen values, blank means unset.

A section's field is named as its environment variable without the prefix (``top_k`` reads
``DOCDUET_TOP_K``), so one name finds the variable, the field and a ``${name}`` in a generators
file; a few fields also accept a well-known name (``OPENAI_API_KEY``) through :func:`alias`.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "DOCDUET_"


class Section(BaseSettings):
    """One group of settings, read from the environment when built."""

    model_config = SettingsConfigDict(
        env_prefix=PREFIX, extra="ignore", frozen=True, populate_by_name=True
    )


def alias(name: str, *extra: str) -> AliasChoices:
    """``DOCDUET_<NAME>`` first, then the other accepted names."""
    return AliasChoices(f"{PREFIX}{name.upper()}", *extra)


def empty_is_unset(value: object) -> object:
    """An empty variable counts as not set."""
    return None if value == "" else value


def blank_is_unset(value: object) -> object:
    """An empty or blank variable counts as not set."""
    return None if isinstance(value, str) and not value.strip() else value


def comma_list(value: object) -> object:
    """``a, b,,c`` -> ``("a", "b", "c")``; anything else is validated as it is."""
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(",") if p.strip())
    return value


def xdg(var: str, fallback: str) -> Path:
    """``$var/docduet``, or ``~/<fallback>/docduet`` when the variable is unset."""
    return Path(os.environ.get(var) or Path.home() / fallback) / "docduet"


def half_the_cores() -> int:
    """llama.cpp threads: half the cores, since it spin-waits when oversubscribed."""
    return max(1, (os.cpu_count() or 2) // 2)
