"""Generator kinds by name, and the configured generators built from their specs.

A kind is a factory ``(spec, settings) -> Generator``. The built-ins (``llama_cpp``,
``openai_compatible``) and third-party kinds alike are found through the entry-point group
``docduet.generator_kinds`` (see pyproject.toml); tests may register more with
``KINDS.register``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from importlib import metadata

from chat.generators.spec import GeneratorSpec, load_specs
from core.errors import ConfigError
from core.protocols import Generator
from core.registry import Registry
from core.settings import Settings

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "docduet.generator_kinds"
BUILTIN_KINDS = {
    "llama_cpp": "backends.llama_cpp.generator:build_llama_cpp",
    "openai_compatible": "backends.openai_compatible.generator:build_openai_compatible",
}
"""The built-ins' entry points (pyproject.toml); also used when the package metadata is stale."""
KINDS: Registry[Generator] = Registry("generator kind")
"""Factories ``(spec, settings) -> Generator`` by kind."""

_loaded = False


def load_kinds() -> Registry[Generator]:
    """The kind registry, with every installed entry point registered (once per process)."""
    global _loaded
    if not _loaded:
        found = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
        names = {ep.name for ep in found}
        found += [
            metadata.EntryPoint(name, value, ENTRY_POINT_GROUP)
            for name, value in BUILTIN_KINDS.items()
            if name not in names
        ]
        for ep in found:
            if ep.name in KINDS.names():
                continue
            try:
                factory: Callable[..., Generator] = ep.load()
            except Exception as e:  # a broken plugin must not take the built-ins down
                builtin = BUILTIN_KINDS.get(ep.name)
                if builtin is None or builtin == ep.value:
                    log.warning("generator kind %r (%s) could not be loaded: %s", ep.name, ep.value, e)
                    continue
                log.debug("stale entry point %s for %r; using %s", ep.value, ep.name, builtin)
                factory = metadata.EntryPoint(ep.name, builtin, ENTRY_POINT_GROUP).load()
            KINDS.register(ep.name)(factory)
        _loaded = True
    return KINDS


def build_generator(spec: GeneratorSpec, settings: Settings) -> Generator:
    """Build ``spec`` with its kind's factory; an unknown kind raises ConfigError naming the known."""
    return load_kinds().get(spec.kind)(spec, settings)


def is_enabled(spec: GeneratorSpec) -> bool:
    """``enabled: auto`` is on when an endpoint or a key is configured."""
    if spec.enabled == "auto":
        options = spec.options
        key_env = options.get("api_key_env")
        return bool(
            options.get("base_url") or options.get("api_key") or (key_env and os.environ.get(key_env))
        )
    return bool(spec.enabled)


def enabled_specs(settings: Settings) -> list[GeneratorSpec]:
    """The enabled generators, in the file's order."""
    return [s for s in load_specs(settings) if is_enabled(s)]


def spec_by_id(settings: Settings, generator_id: str) -> GeneratorSpec:
    """One configured generator (enabled or not); ConfigError listing the ids when unknown."""
    specs = load_specs(settings)
    for spec in specs:
        if spec.id == generator_id:
            return spec
    raise ConfigError(
        f"unknown generator {generator_id!r}; configured: {', '.join(s.id for s in specs)}"
    )
