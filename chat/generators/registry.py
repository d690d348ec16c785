"""Generators by name. Built-ins (``slm``, ``llm``) register exactly like later additions."""

from __future__ import annotations

from chat.generators.base import Generator
from docduet.registry import Registry
from docduet.settings import Settings

GENERATORS: Registry[Generator] = Registry("generator")
"""Factories ``(settings) -> Generator`` by name; ``chat.generators`` adds the built-ins."""


def build_generator(name: str, settings: Settings) -> Generator:
    """Build the generator registered as ``name``; an unknown name raises ConfigError."""
    return GENERATORS.get(name)(settings)
